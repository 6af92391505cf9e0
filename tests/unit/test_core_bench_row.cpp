// Tests for the bench row arithmetic (include/fibkit/core/report/bench_row.hpp): what a workload
// gave becomes a report row with the speedups the right way up, the A/B verdict naming the other
// solution A and the row's solution B, and the roofline figures in the units the report prints.
#include "fibkit/core/report/bench_row.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using Catch::Matchers::StartsWith;
using fibkit::core::BenchRow;
using fibkit::core::RowSettings;
using fibkit::core::WorkloadFigures;

namespace {

// Round figures: 2 TB/s HBM (1.6 in practice), 1 PFLOP/s BF16, 2 PFLOP/s FP8.
fibkit::core::DevicePeaks test_peaks() {
  fibkit::core::DevicePeaks p;
  p.model = "Test GPU";
  p.hbm_bytes_per_s = 2e12;
  p.bf16_dense_flops = 1e15;
  p.fp8_dense_flops = 2e15;
  p.practical_hbm_bytes_per_s = 1.6e12;
  return p;
}

// A PASSED workload timed at 1 ms (4x faster than a 4 ms reference), moving 1 GB and 1e11 FLOP.
WorkloadFigures timed_figures() {
  WorkloadFigures f;
  f.solution = "mine";
  f.definition = "gdn_decode";
  f.workload_uuid = "0123abcd-uuid";
  f.index = 7;
  f.axes = "B=1";
  f.status = "PASSED";
  fibkit::core::RowTimings t;
  t.latency_ms = 1.0;
  t.trial_ms = {1.0, 1.0};
  t.samples_ms = {0.99, 1.0, 1.01, 1.0, 0.995, 1.005};
  t.reference_ms = 4.0;
  f.timings = t;
  f.cost = fibkit::core::Cost{1e11, 1e9, "formula"};
  return f;
}

} // namespace

TEST_CASE("make_bench_row: identity, status, speedup and the roofline in report units",
          "[report]") {
  RowSettings settings;
  settings.peaks = test_peaks();
  const BenchRow row = fibkit::core::make_bench_row(timed_figures(), settings, false);
  CHECK(row.solution == "mine");
  CHECK(row.definition == "gdn_decode");
  CHECK(row.workload_uuid == "0123abcd-uuid");
  CHECK(row.index == 7);
  CHECK(row.axes == "B=1");
  CHECK(row.passed());
  REQUIRE(row.latency_ms);
  CHECK(*row.latency_ms == 1.0);
  REQUIRE(row.speedup);
  CHECK(*row.speedup == Approx(4.0)); // reference / solution, not the other way round
  CHECK_FALSE(row.baseline_speedup);
  CHECK(row.ab_verdict.empty());
  // 1 GB in 1 ms: 1000 GB/s, half the 2 TB/s datasheet, 0.625 of the practical 1.6 TB/s.
  REQUIRE(row.bytes);
  CHECK(*row.bytes == 1e9);
  REQUIRE(row.achieved_gbps);
  CHECK(*row.achieved_gbps == Approx(1000.0));
  REQUIRE(row.bw_fraction);
  CHECK(*row.bw_fraction == Approx(0.5));
  REQUIRE(row.practical_bw_fraction);
  CHECK(*row.practical_bw_fraction == Approx(0.625));
  // 1e11 FLOP in 1 ms: 100 TFLOP/s, a tenth of the BF16 peak.
  REQUIRE(row.flops);
  CHECK(*row.flops == 1e11);
  REQUIRE(row.achieved_tflops);
  CHECK(*row.achieved_tflops == Approx(100.0));
  REQUIRE(row.flop_fraction);
  CHECK(*row.flop_fraction == Approx(0.1));
  CHECK(row.bound == "memory");
  CHECK(row.cost_basis == "formula");

  // FP8 definitions are measured against the FP8 peak.
  const BenchRow fp8 = fibkit::core::make_bench_row(timed_figures(), settings, true);
  REQUIRE(fp8.flop_fraction);
  CHECK(*fp8.flop_fraction == Approx(0.05));
  CHECK(*fp8.bw_fraction == Approx(0.5));
}

TEST_CASE("make_bench_row: the A/B verdict names the other solution A and this one B", "[report]") {
  WorkloadFigures f = timed_figures();
  f.timings->baseline_ms = 2.0;
  f.other_samples_ms = {1.98, 2.0, 2.02, 2.0, 1.99, 2.01}; // the other one: twice as slow
  RowSettings settings;
  settings.compare_a = "theirs";
  const BenchRow row = fibkit::core::make_bench_row(f, settings, false);
  CHECK_THAT(row.ab_verdict, StartsWith("A=theirs B=mine: B is 2.000x faster than A"));
  REQUIRE(row.baseline_speedup);
  CHECK(*row.baseline_speedup == Approx(2.0));
  CHECK(row.log.empty());

  // --baseline (no --compare): a baseline speedup and no verdict.
  const BenchRow baseline = fibkit::core::make_bench_row(f, RowSettings{}, false);
  CHECK(baseline.ab_verdict.empty());
  REQUIRE(baseline.baseline_speedup);
  CHECK(*baseline.baseline_speedup == Approx(2.0));
}

TEST_CASE("make_bench_row: an untimed other solution, a failed workload, no peaks", "[report]") {
  WorkloadFigures f = timed_figures();
  f.log = "warning";
  f.other_error = "flashinfer is not installed";
  RowSettings settings;
  settings.compare_a = "theirs";
  const BenchRow row = fibkit::core::make_bench_row(f, settings, false);
  CHECK(row.log == "warning\nbaseline not timed: flashinfer is not installed");
  CHECK(row.ab_verdict.empty());
  CHECK_FALSE(row.baseline_ms);
  CHECK_FALSE(row.bw_fraction); // no peaks: no roofline
  CHECK_FALSE(row.flops);

  WorkloadFigures failed = timed_figures();
  failed.status = "INCORRECT_NUMERICAL";
  failed.log = "max abs error 3";
  failed.timings.reset();
  failed.other_error = "not run";
  settings.peaks = test_peaks();
  const BenchRow bad = fibkit::core::make_bench_row(failed, settings, false);
  CHECK_FALSE(bad.passed());
  CHECK(bad.status == "INCORRECT_NUMERICAL");
  CHECK(bad.log == "max abs error 3"); // untimed: nothing about the baseline
  CHECK_FALSE(bad.latency_ms);
  CHECK_FALSE(bad.speedup);
  CHECK_FALSE(bad.bw_fraction);

  WorkloadFigures zero = timed_figures();
  zero.timings->latency_ms = 0.0;
  const BenchRow unmeasured = fibkit::core::make_bench_row(zero, settings, false);
  CHECK_FALSE(unmeasured.bw_fraction); // a zero latency has no roofline
}
