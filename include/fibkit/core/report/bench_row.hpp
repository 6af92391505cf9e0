// One bench row from what one workload gave, as plain values: the command maps the engine's
// result to WorkloadFigures, and make_bench_row does the score arithmetic (latency statistics,
// speedups, the --compare A/B verdict, the roofline fractions) with no engine type in sight.
#pragma once

#include "fibkit/core/eval/cost_model.hpp"
#include "fibkit/core/eval/device_peaks.hpp"
#include "fibkit/core/report/bench_report.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::core {

/// What one workload of one solution gave.
struct WorkloadFigures {
  std::string solution;
  std::string definition;
  std::string workload_uuid;
  std::size_t index = 0; ///< the workload's index among its definition's workloads
  std::string axes;      ///< "T=7 B=1"
  std::string status;    ///< the official status name
  std::string log;
  /// The solution's timings, with the reference's latency and the other solution's (--baseline
  /// / --compare; `baseline_ms` set exactly when it was timed); nullopt when nothing was timed.
  std::optional<RowTimings> timings;
  std::vector<double> other_samples_ms; ///< every measured call of the other solution
  std::string other_error;              ///< why the other solution was not timed
  std::optional<Cost> cost;             ///< the workload's roofline cost, where known
};

/// What every row of one run shares.
struct RowSettings {
  std::optional<DevicePeaks> peaks; ///< the GPU's peaks; nullopt: no roofline
  /// --compare: the other solution's name, A of the A/B verdict (the row's solution is B);
  /// empty: no verdict.
  std::string compare_a;
};

/// The row of `figures`: its identity, status and log; when timed, set_timings' latency,
/// statistics and speedups, the A/B verdict (A the other solution, B this one), "baseline not
/// timed: <why>" appended to the log when the other solution has no timing, and the roofline
/// (set_roofline) when the cost and the peaks are known and the latency is positive. `fp8`:
/// uses_fp8_tensor_cores(definition).
BenchRow make_bench_row(const WorkloadFigures& figures, const RowSettings& settings, bool fp8);

/// Fills the row's flops, bytes, achieved TFLOP/s and GB/s, fractions of the peaks, bound and
/// cost basis from `cost` run in `latency_ms` on `peaks` (core::roofline; `fp8` picks the FP8
/// FLOP peak). Throws fibkit::Error when `latency_ms` is not positive and finite.
void set_roofline(BenchRow& row, const Cost& cost, double latency_ms, const DevicePeaks& peaks,
                  bool fp8);

} // namespace fibkit::core
