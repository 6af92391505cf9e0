// `fibkit verify --sanitize memcheck|racecheck`: one workload rerun under NVIDIA's
// compute-sanitizer, as a child process (the same fibkit binary, `verify --no-isolation` on that
// workload alone), so that out-of-bounds accesses and shared-memory races that happen not to
// corrupt the outputs are reported too.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace fibkit::engine {

/// compute-sanitizer on PATH, else under $CUDA_HOME/bin, /usr/local/cuda/bin. Throws
/// fibkit::Error naming the places searched when there is none.
std::filesystem::path find_compute_sanitizer();

/// What a sanitizer run found.
struct SanitizerResult {
  bool clean = false;  ///< the tool reported no error and the run ended normally
  std::string report;  ///< the tool's lines ("========= ..."), or the run's log when it failed
  std::string outcome; ///< "clean", "errors", or how the run ended otherwise
};

/// Runs `command` (argv, the program first) under `compute-sanitizer --tool <tool>` with an
/// error exit code, isolated and with `timeout`. `tool` is "memcheck" or "racecheck".
SanitizerResult run_sanitizer(const std::filesystem::path& sanitizer, const std::string& tool,
                              const std::vector<std::string>& command,
                              std::chrono::milliseconds timeout);

/// The sanitizer's own lines of `log` (those starting with "=========", host backtrace frames
/// left out), at most `max_lines`.
std::string sanitizer_lines(const std::string& log, std::size_t max_lines = 40);

} // namespace fibkit::engine
