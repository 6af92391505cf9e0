// fibkit verify's work for one (solution, workload): inputs as the official evaluator draws
// them (fresh random tensors per trial, scalars and safetensors from the workload, structured
// stand-ins for missing blobs), the native reference and the solution run through their launch
// plans, then the official correctness rules, plus checks the official harness lacks: outputs
// poisoned before the call, inputs compared before and after, fresh inputs on a later trial.
#pragma once

#include "fibkit/core/compare.hpp"
#include "fibkit/core/config.hpp"
#include "fibkit/core/trace_set.hpp"
#include "fibkit/engine/build.hpp"

#include <cstdint>
#include <string>

namespace fibkit::engine {

/// What a verify child needs; built in the parent (NVRTC only, no CUDA) before forking.
struct VerifyJob {
  const core::TraceSet* set = nullptr; ///< for blob paths
  const core::Definition* definition = nullptr;
  const core::SolutionConfig* solution = nullptr;
  const SolutionBuild* solution_build = nullptr;
  const core::SolutionConfig* reference = nullptr;
  const SolutionBuild* reference_build = nullptr;
  std::string arch;
  core::Tolerance tolerance;
  std::uint64_t seed = 0;
  int trials = 2; ///< each on fresh random inputs; the second catches results cached across calls
};

/// The outcome for one workload.
struct WorkloadVerdict {
  core::EvaluationStatus status = core::EvaluationStatus::passed;
  std::optional<core::Correctness> correctness;
  std::string log;
  bool synthesized = false; ///< some blob was missing and a stand-in was used
};

/// Runs the job for `workload` on GPU 0 in this process (call it in an isolated child).
/// Throws on CUDA errors (the caller maps them to RUNTIME_ERROR).
WorkloadVerdict verify_workload(const VerifyJob& job, const core::Workload& workload);

/// The verdict as one compact JSON line, and back (the child-to-parent payload).
std::string verdict_to_json(const WorkloadVerdict& verdict);
WorkloadVerdict verdict_from_json(const std::string& json);

} // namespace fibkit::engine
