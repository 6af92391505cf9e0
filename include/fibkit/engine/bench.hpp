// fibkit bench's work for one workload, in an isolated worker: the official order (correctness
// on every trial first, then timing on fresh inputs per trial), the solution, the reference and
// an optional baseline (or --compare's other solution) timed the same way, the cost model.
#pragma once

#include "fibkit/core/eval/cost_model.hpp"
#include "fibkit/core/eval/stats.hpp"
#include "fibkit/engine/timing.hpp"
#include "fibkit/engine/verify.hpp"

#include <optional>
#include <string>
#include <vector>

namespace fibkit::engine {

enum class BenchMode { contest, kernel };

struct BenchSettings {
  BenchMode mode = BenchMode::contest;
  int warmup = 10;
  int iterations = 50;
  int trials = 3;
  core::NoiseSettings noise; ///< kernel mode
  bool time_reference = true;
  bool use_cupti = true; ///< for whoever makes the GpuTimer
  /// Where reference latencies are cached ("" = no cache) and the key parts of this run.
  std::string latency_cache_dir;
  std::string gpu_name;
  std::string reference_hash;
};

/// One more solution timed with the same inputs (--baseline, --compare): a project solution's
/// NVRTC build, an official CUDA solution's library, or Python code loaded in the job's bridge.
using OtherSolution = RunnableSource;

/// The timings of one solution on one workload.
struct SolutionTiming {
  std::vector<double> trial_ms; ///< per-trial medians
  std::vector<double> samples_ms;
  double latency_ms = 0.0; ///< mean of trial_ms (the contest figure)
  std::vector<std::string> kernels;
  bool converged = true;
  std::size_t throttled = 0;
};

/// What one workload gave.
struct WorkloadBench {
  WorkloadVerdict verdict;
  std::optional<SolutionTiming> solution;
  std::optional<SolutionTiming> reference;
  bool reference_cached = false;
  std::optional<SolutionTiming> other;
  std::string other_error; ///< why the other solution has no timing (it raised or crashed)
  std::optional<core::Cost> cost;
  std::string timer;    ///< "cupti" or "cuda-events"
  std::string fallback; ///< why CUDA events, when CUPTI was wanted
};

/// Verifies `workload` (job.trials trials), then, when it passed, times the solution, the
/// reference (unless cached) and `other` on settings.trials fresh input sets with `timer` (made
/// on runtime.context; settings.mode picks contest or kernel mode). An error of `other` (a
/// baseline that cannot run this workload) leaves it untimed with `other_error`, not the
/// solution failed.
WorkloadBench bench_workload(const VerifyJob& job, const BenchSettings& settings,
                             const std::optional<OtherSolution>& other,
                             const core::Workload& workload, VerifyRuntime& runtime,
                             GpuTimer& timer);

/// The child-to-parent payload.
std::string workload_bench_to_json(const WorkloadBench& bench);
WorkloadBench workload_bench_from_json(const std::string& json);

} // namespace fibkit::engine
