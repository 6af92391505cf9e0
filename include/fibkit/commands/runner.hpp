// What `fibkit verify` and `fibkit bench` share: the device probe (in a child: the parent never
// initialises CUDA), the solution and workload selection, the embedded native references, and
// the check-and-build child that fills the compile cache before the workers start.
#pragma once

#include "fibkit/core/config.hpp"
#include "fibkit/core/trace.hpp"
#include "fibkit/core/trace_set.hpp"
#include "fibkit/engine/bench.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::commands {

/// GPU 0 as a child process saw it.
struct DeviceProbe {
  std::string arch; ///< e.g. "sm_90a"
  std::string name; ///< e.g. "NVIDIA H100 80GB HBM3"
};

/// Probes GPU 0 in an isolated child; throws NoDeviceError("fibkit <command> needs a GPU: ...").
DeviceProbe probe_device(const std::string& command);

/// The project's solutions chosen by -s and --definition (UsageError when none is left).
std::vector<const core::SolutionConfig*> select_solutions(const core::ProjectConfig& project,
                                                          const std::string& solution,
                                                          const std::string& definition);

/// Workloads chosen by --workloads: comma-separated indices or uuid prefixes; all when empty.
std::vector<std::size_t> select_workloads(const std::vector<core::Trace>& all,
                                          const std::string& spec);

/// The embedded native reference of `definition`, written to `dir`; nullopt when there is none.
std::optional<core::ProjectConfig> load_reference(const std::string& definition,
                                                  const std::filesystem::path& dir);

/// A hash of the embedded reference's files (keys the reference latency cache).
std::string reference_hash(const std::string& definition);

/// "batch_size=64 seq_len=1".
std::string axes_text(const core::Workload& workload);

/// The official trace of one workload's result: the verdict, and for PASSED the performance
/// block (reference latency and speedup 0 when the reference was not timed, as the official
/// --no-profile-baseline writes them).
core::Trace make_trace(const core::Definition& definition, const core::Workload& workload,
                       const std::string& solution, const engine::WorkloadBench& result,
                       const std::string& hardware);

/// "traces/<author>/<op_type>/<definition>.jsonl", the official layout.
std::string trace_file(const core::SolutionConfig& solution, const core::Definition& definition);

} // namespace fibkit::commands
