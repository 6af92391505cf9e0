#include "fibkit/core/report/bench_row.hpp"

#include "fibkit/core/eval/stats.hpp"

#include <fmt/format.h>

namespace fibkit::core {

void set_roofline(BenchRow& row, const Cost& cost, double latency_ms, const DevicePeaks& peaks,
                  bool fp8) {
  const Roofline roof = roofline(cost, latency_ms / 1000.0, peaks, fp8);
  row.flops = cost.flops;
  row.bytes = cost.bytes;
  row.achieved_tflops = roof.achieved_flops_per_s / 1e12;
  row.achieved_gbps = roof.achieved_bytes_per_s / 1e9;
  row.bw_fraction = roof.bw_fraction;
  row.flop_fraction = roof.flop_fraction;
  row.practical_bw_fraction = roof.practical_bw_fraction;
  row.bound = roof.bound;
  row.cost_basis = cost.basis;
}

BenchRow make_bench_row(const WorkloadFigures& figures, const RowSettings& settings, bool fp8) {
  BenchRow row;
  row.solution = figures.solution;
  row.definition = figures.definition;
  row.workload_uuid = figures.workload_uuid;
  row.index = figures.index;
  row.axes = figures.axes;
  row.status = figures.status;
  row.log = figures.log;
  if (!figures.timings) {
    return row;
  }
  const RowTimings& t = *figures.timings;
  set_timings(row, t);
  if (t.baseline_ms) {
    if (!settings.compare_a.empty()) {
      const AbVerdict ab = compare_ab(figures.other_samples_ms, t.samples_ms);
      row.ab_verdict =
          fmt::format("A={} B={}: {}", settings.compare_a, figures.solution, describe(ab));
    }
  } else if (!figures.other_error.empty()) {
    row.log += (row.log.empty() ? "" : "\n") + ("baseline not timed: " + figures.other_error);
  }
  if (figures.cost && settings.peaks && t.latency_ms > 0) {
    set_roofline(row, *figures.cost, t.latency_ms, *settings.peaks, fp8);
  }
  return row;
}

} // namespace fibkit::core
