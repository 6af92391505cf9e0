// What `fibkit verify` and `fibkit bench` share: the device probe (in a child: the parent never
// initialises CUDA), the solution and workload selection, the embedded native references, and
// the check-and-build child that fills the compile cache before the workers start.
#pragma once

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/core/trace/trace.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/engine/bench.hpp"

#include "fibkit/engine/isolation.hpp"
#include "fibkit/engine/python_bridge.hpp"
#include "fibkit/engine/tvm_ffi.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
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

/// What verify and bench check before they look for a GPU, so that a wrong argument or config
/// is reported as such (exit 1 or 2) on any machine: each selected solution's definition is in
/// the dataset, it has a launch plan and the plan fits the definition, and `workloads` (the
/// --workloads selector) picks workloads of it. Throws fibkit::Error / UsageError.
void check_before_device(const core::Dataset& ds,
                         const std::vector<const core::SolutionConfig*>& selected,
                         const std::string& workloads);

/// An official Solution JSON given with --solution-json: verified and timed as the official
/// evaluator runs it: cuda/cpp sources built as the official TVM-FFI builder builds them, the
/// exported function called through the TVM-FFI C ABI; python/triton sources loaded in the
/// Python bridge as the official Python and Triton builders load them.
struct OfficialSolution {
  core::Solution solution;
  core::SolutionConfig config;   ///< name, definition, author, where: for reports and traces
  bool python = false;           ///< language python or triton: runs in the Python bridge
  engine::TvmFfiLibrary library; ///< after build_official_solution() (cuda/cpp)
};

/// Loads and validates `file` (no GPU, nothing built): a python/triton solution, or a cuda/cpp
/// one with the TVM-FFI binding (destination-passing), whose definition is in the dataset and
/// whose workloads `workloads` selects.
OfficialSolution load_official_solution(const std::string& file, const core::Dataset& ds,
                                        const std::string& workloads);
/// The same checks for a Solution already read (`where` names it in errors).
OfficialSolution official_solution(core::Solution solution, const std::string& where,
                                   const core::Dataset& ds, const std::string& workloads);

/// The dataset's FlashInfer baseline of `definition` (a solution under solutions/ whose author
/// starts with "flashinfer", as the organisers named them); nullptr when there is none.
const core::Solution* flashinfer_baseline(const core::Dataset& ds, const std::string& definition);

/// Builds a cuda/cpp one for the GPU's arch (plain, as the official builder's nvidia-smi rule)
/// under the cache directory; nvcc runs in this process, CUDA is not initialised. Nothing to do
/// for a Python one.
void build_official_solution(OfficialSolution& official, const std::string& arch);

/// Where `official` (built) runs: natively through its library (`library` set), or in the
/// Python bridge (`python` set): python/triton code, or with `from_python` a cuda/cpp
/// solution's library loaded with tvm_ffi.load_module and called with torch tensors.
void place_official(const OfficialSolution& official, bool from_python,
                    const engine::TvmFfiLibrary*& library,
                    std::optional<engine::PythonCode>& python);

/// The embedded native reference of `definition`, written to `dir`; nullopt when there is none.
std::optional<core::ProjectConfig> load_reference(const std::string& definition,
                                                  const std::filesystem::path& dir);

/// What a worker child keeps from one workload to the next: the builds (the job points into
/// them), the context and input generator, and the timer once one is asked for.
struct WorkerState {
  engine::SolutionBuild solution;
  engine::SolutionBuild reference;
  engine::SolutionBuild other;
  engine::VerifyJob job;
  std::optional<engine::VerifyRuntime> runtime;
  std::optional<engine::GpuTimer> timer;
  std::unique_ptr<engine::PythonBridge> bridge; ///< when Python code runs
  /// The --baseline / --compare solution, ready to time; empty when there is none or it
  /// cannot run here.
  std::optional<engine::OtherSolution> other_solution;

  /// The timer, created on first use (its flush buffer and CUPTI probe are paid once).
  engine::GpuTimer& gpu_timer(bool use_cupti);
};

/// What a worker does for one workload.
using WorkloadFn = std::function<engine::WorkloadBench(WorkerState&, const core::Workload&)>;

/// One solution over its definition's workloads, as verify and bench run it: the embedded
/// native reference (written to a scratch directory), a child that builds and checks the
/// solution, the reference and an optional other solution before anything runs (this process
/// never compiles: engine/isolation.hpp's fork rule), then one persistent worker
/// child that serves the workloads, replaced after a crash, an error or a timeout.
class SolutionRunner {
public:
  struct Options {
    std::string arch;
    core::ToleranceFlags tolerance;
    std::uint64_t seed = 0;
    int trials = 2;                  ///< correctness trials
    std::filesystem::path dump_root; ///< verify --dump
    /// bench --baseline / --compare: a project solution (built with NVRTC), or with
    /// `other_library` / `other_python` set an official Solution (its name in `other`).
    const core::SolutionConfig* other = nullptr;
    const engine::TvmFfiLibrary* other_library = nullptr;
    std::optional<engine::PythonCode> other_python;
    bool no_isolation = false; ///< run in this process (verify --no-isolation)
    /// An official solution (--solution-json): its library runs instead of an NVRTC build.
    const engine::TvmFfiLibrary* library = nullptr;
    /// Code that runs in the Python bridge as the solution: an official Python/Triton
    /// solution, or an official cuda/cpp one's library called from Python (--call-from python).
    std::optional<engine::PythonCode> python_solution;
    /// The definition's Python `run` (in the Python bridge) instead of the native reference:
    /// for the correctness checks (--reference python) and/or for the timed reference whose
    /// latency gives the speedup (bench's default, as the official speedup_factor).
    bool python_checks = false;
    bool python_timed = false;
  };

  /// Throws fibkit::Error when there is no native reference for `definition` and the Python
  /// one was not asked for.
  SolutionRunner(const core::TraceSet& set, const core::Definition& definition,
                 const core::SolutionConfig& solution, const engine::BuildSettings& build,
                 Options options, WorkloadFn work);
  ~SolutionRunner();

  /// Builds and checks in a child; throws with the child's error or log, logs the solution's
  /// build warnings.
  void check(std::chrono::milliseconds timeout);
  /// Workload `index` of the definition through `work` in the worker. A worker that crashed,
  /// threw or timed out gives RUNTIME_ERROR or TIMEOUT with its log.
  engine::WorkloadBench run(std::size_t index, std::chrono::milliseconds timeout);

  const core::Tolerance& tolerance() const { return m_tolerance; }
  /// The options it runs with (after check(): without an other solution that cannot run here).
  const Options& options() const { return m_options; }
  /// What the Python bridge reported in the check child (python, torch, transport); empty when
  /// no Python code runs.
  const std::string& python_note() const { return m_python_note; }
  /// Why the --baseline solution cannot run here (e.g. its Python dependency is missing); the
  /// runs then go on without it. Empty when it loaded.
  const std::string& other_problem() const { return m_other_problem; }

private:
  void prepare(WorkerState& state) const;
  /// Starts the bridge and loads the Python reference and solution (needs a current CUDA
  /// context).
  void start_bridge(WorkerState& state) const;
  /// Loads the Python baseline into the started bridge.
  void load_python_other(WorkerState& state) const;
  /// Workload `index` through `work` in this process (the worker child, or with no_isolation
  /// the command's own process).
  engine::WorkloadBench serve(std::uint64_t index);

  const core::TraceSet& m_set;
  const core::Definition& m_definition;
  const core::SolutionConfig& m_solution;
  const engine::BuildSettings& m_build;
  Options m_options;
  WorkloadFn m_work;
  std::filesystem::path m_scratch;
  std::optional<core::ProjectConfig> m_reference_project; ///< the native reference
  std::string m_python_note;
  std::string m_other_problem;
  core::Tolerance m_tolerance;
  std::unique_ptr<WorkerState> m_state; ///< in the worker child (or in-process)
  engine::IsolatedWorker m_worker;
};

/// Shows `text` on a progress line of stderr when `enabled` (an empty text clears it).
void progress_line(bool enabled, const std::string& text);

/// A hash of the embedded reference's files (keys the reference latency cache).
std::string reference_hash(const std::string& definition);
/// A hash of the definition's Python reference (keys the latency cache for --reference python).
std::string python_reference_hash(const core::Definition& definition);

/// Whether fibkit has a native reference for `definition`.
bool has_native_reference(const std::string& definition);

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
