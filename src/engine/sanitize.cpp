#include "fibkit/engine/sanitize.hpp"

#include "fibkit/engine/isolation.hpp"
#include "fibkit/util/env.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <sstream>
#include <unistd.h>

namespace fibkit::engine {

namespace {

// The exit code compute-sanitizer is asked to return when it found errors.
constexpr int kErrorExitCode = 86;

} // namespace

std::filesystem::path find_compute_sanitizer() {
  if (std::filesystem::path found = util::find_on_path("compute-sanitizer"); !found.empty()) {
    return found;
  }
  std::vector<std::filesystem::path> candidates;
  if (const char* home = std::getenv("CUDA_HOME")) {
    candidates.emplace_back(std::filesystem::path(home) / "bin" / "compute-sanitizer");
  }
  candidates.emplace_back("/usr/local/cuda/bin/compute-sanitizer");
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) {
      return c;
    }
  }
  throw Error("--sanitize needs NVIDIA's compute-sanitizer (part of the CUDA toolkit): not found "
              "on PATH, in $CUDA_HOME/bin or in /usr/local/cuda/bin");
}

std::string sanitizer_lines(const std::string& log, std::size_t max_lines) {
  std::stringstream in(log);
  std::string out;
  std::size_t kept = 0;
  for (std::string line; std::getline(in, line);) {
    // The tool's lines, without the host backtraces (the device side says where).
    if (line.rfind("=========", 0) != 0 || line.find("Host Frame") != std::string::npos) {
      continue;
    }
    if (kept++ == max_lines) {
      out += "========= [more lines cut]\n";
      break;
    }
    out += line + "\n";
  }
  return out;
}

SanitizerResult run_sanitizer(const std::filesystem::path& sanitizer, const std::string& tool,
                              const std::vector<std::string>& command,
                              std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {
      sanitizer.string(), "--tool", tool, "--error-exitcode", std::to_string(kErrorExitCode),
      "--print-limit",    "20"};
  argv.insert(argv.end(), command.begin(), command.end());
  const IsolatedResult r = run_isolated(
      [&]() -> std::string {
        std::vector<char*> args;
        for (std::string& a : argv) {
          args.push_back(a.data());
        }
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        throw Error(fmt::format("cannot run {}", argv[0]));
      },
      timeout);
  SanitizerResult result;
  const std::string lines = sanitizer_lines(r.log);
  if (r.outcome == IsolatedResult::Outcome::exited && r.signal_or_code == kErrorExitCode) {
    result.outcome = "errors";
    result.report = lines;
  } else if (r.outcome == IsolatedResult::Outcome::exited &&
             (r.signal_or_code == 0 || r.signal_or_code == 1)) {
    // 0: the workload passed, 1: it failed its check (already reported by the normal run).
    result.clean = true;
    result.outcome = "clean";
  } else {
    result.outcome = describe(r);
    result.report = lines.empty() ? r.log.substr(0, 4000) : lines;
  }
  return result;
}

} // namespace fibkit::engine
