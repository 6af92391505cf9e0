// fibkit verify's work for one (solution, workload): inputs as the official evaluator draws
// them (fresh random tensors per trial, scalars and safetensors from the workload, structured
// stand-ins for missing blobs), the native reference and the solution run through their launch
// plans, then the official correctness rules, plus checks the official harness lacks: outputs
// poisoned before the call, inputs compared before and after, fresh inputs on a later trial.
#pragma once

#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/engine/executor.hpp"
#include "fibkit/engine/python_bridge.hpp"
#include "fibkit/engine/random.hpp"
#include "fibkit/engine/tvm_ffi.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace fibkit::engine {

/// What a verify worker needs; the worker builds it itself (engine/isolation.hpp: the fork rule).
struct VerifyJob {
  const core::TraceSet* set = nullptr; ///< for blob paths
  const core::Definition* definition = nullptr;
  const core::SolutionConfig* solution = nullptr;
  const SolutionBuild* solution_build = nullptr;
  /// Set for an official solution (`--solution-json`): its library runs instead of a plan.
  const TvmFfiLibrary* solution_library = nullptr;
  const core::SolutionConfig* reference = nullptr;
  const SolutionBuild* reference_build = nullptr;
  /// The Python bridge of the worker, when Python code runs: the definition's Python reference
  /// (id `python_reference`), used instead of the native one for the correctness checks
  /// (`python_checks`) and/or for the reference timing (`python_timed`); a Python/Triton
  /// solution (id `python_solution`) instead of a plan or library. Ids: 0 = not loaded.
  PythonBridge* bridge = nullptr;
  int python_reference = 0;
  int python_solution = 0;
  bool python_checks = false;
  bool python_timed = false;
  std::string arch;
  core::Tolerance tolerance;
  std::uint64_t seed = 0;
  int trials = 2; ///< each on fresh random inputs; the second catches results cached across calls
  /// When set, every trial's inputs, solution outputs and reference outputs are written to
  /// `<dump_root>/<solution>/<workload uuid>/trial<k>.safetensors` (see write_dump).
  std::filesystem::path dump_root;
};

/// The outcome for one workload.
struct WorkloadVerdict {
  core::EvaluationStatus status = core::EvaluationStatus::passed;
  std::optional<core::Correctness> correctness;
  std::string log;
  bool synthesized = false; ///< some blob was missing and a stand-in was used
};

/// What one process keeps across the workloads of its one job: GPU 0's context, the input
/// generator (creating a context costs far more than most workloads) and the job's Runnables,
/// made once (a launch plan's modules loaded, a library's function looked up) and prepared per
/// workload (runnable()).
struct VerifyRuntime {
  explicit VerifyRuntime(const std::string& arch) : random(context, arch) {}
  cuda::Context context;
  RandomGenerator random;
  /// By where they come from (a RunnableSource's fields): see runnable().
  std::map<std::tuple<const core::SolutionConfig*, const SolutionBuild*, const TvmFfiLibrary*, int>,
           std::unique_ptr<Runnable>>
      runnables;
};

/// One trial's inputs on the device (and on the host where needed), as make_inputs draws them.
struct CallData {
  std::vector<cuda::DeviceBuffer> inputs;    // per definition input (empty for scalars)
  std::vector<core::HostTensor> host_inputs; ///< only for the indexer's evaluator and --dump
  std::vector<std::uint64_t> checksums;      ///< per input, before the solution ran
  CallArgs args;
  bool synthesized = false;
};

/// Where a Runnable comes from: Python code loaded in the job's bridge (`python_id` != 0), an
/// official solution's library, or else an NVRTC build of a fibkit solution.
struct RunnableSource {
  const core::SolutionConfig* config = nullptr;
  const SolutionBuild* build = nullptr;
  const TvmFfiLibrary* library = nullptr;
  int python_id = 0;
};

/// The runtime's Runnable of `source`, made on first use and kept for the next workloads (the
/// runtime serves one job, so a source is the same code every time); not yet prepared.
Runnable& runnable(VerifyRuntime& runtime, const VerifyJob& job, const RunnableSource& source);
/// The job's solution: its launch plan (PlanExecutor), the official solution's library
/// (TvmFfiFunction) when `solution_library` is set, or its Python code in the bridge
/// (PythonRunnable) when `python_solution` is.
RunnableSource solution_source(const VerifyJob& job);
/// The job's reference for the checks or for the timing: the native one's plan, or the
/// definition's Python `run` in the bridge.
RunnableSource reference_source(const VerifyJob& job, bool for_timing);

/// Draws the inputs of `trial` for `workload` as the official gen_inputs does (see the file
/// comment), with checksums of every input; host copies only for the indexer's evaluator and
/// --dump.
CallData make_inputs(const VerifyJob& job, const core::Workload& workload,
                     const std::map<std::string, std::int64_t>& axes, const RandomGenerator& gen,
                     int trial, const cuda::Context& ctx);

/// Fresh outputs for one call, poisoned (NaN bytes for floats, 0x7f for integers), their pointers
/// put in `args.outputs`.
std::vector<cuda::DeviceBuffer> allocate_outputs(const core::Definition& definition,
                                                 const std::map<std::string, std::int64_t>& axes,
                                                 CallArgs& args, CUstream stream);

/// Runs the job for `workload` on the runtime's GPU in this process (call it in an isolated
/// child). Throws on CUDA errors (the caller maps them to RUNTIME_ERROR; the context may be
/// unusable afterwards).
WorkloadVerdict verify_workload(const VerifyJob& job, const core::Workload& workload,
                                VerifyRuntime& runtime);

/// Writes one trial's tensors to `file`: keys `input.<name>`, `output.<name>` (the solution's)
/// and `reference.<name>`; scalar inputs go into the metadata as `scalar.<name>` = their value
/// in JSON (e.g. "0.5", "7", "true"), because the official harness passes them as Python values.
void write_dump(const std::filesystem::path& file, const core::Definition& definition,
                const std::vector<core::HostTensor>& inputs,
                const std::vector<core::ScalarValue>& scalars,
                const std::vector<core::HostTensor>& solution,
                const std::vector<core::HostTensor>& reference);

/// The verdict as one JSON object, and back (part of the worker-to-parent payload; the
/// correctness object is written and read as in a trace: core::write_correctness).
void write_verdict(util::JsonWriter& out, const WorkloadVerdict& verdict);
WorkloadVerdict read_verdict(const util::JsonValue& json);

} // namespace fibkit::engine
