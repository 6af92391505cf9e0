// The bench worker's payload survives the trip to the parent, every field of it.
#include "fibkit/engine/bench.hpp"

#include "fibkit/core/trace/trace.hpp"
#include "fibkit/util/json_writer.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using namespace fibkit;

TEST_CASE("bench: a workload's result round-trips through its JSON payload", "[engine]") {
  engine::WorkloadBench b;
  b.verdict.status = core::EvaluationStatus::passed;
  b.verdict.correctness = core::Correctness{0.25, 1e-3, ""};
  b.verdict.log = "trial 0: fine\n\"quoted\"";
  b.verdict.synthesized = true;
  b.timer = "cupti";
  b.fallback = "";
  b.solution = engine::SolutionTiming{
      {0.010, 0.011, 0.012}, {0.010, 0.0101, 0.011}, 0.011, {"gdn_decode", "MEMSET"}, false, 3};
  b.reference = engine::SolutionTiming{{0.2}, {0.2}, 0.2, {}, true, 0};
  b.reference_cached = true;
  b.cost = core::Cost{9.17e5, 1.05e6, "B=1"};
  const engine::WorkloadBench back =
      engine::workload_bench_from_json(engine::workload_bench_to_json(b));
  CHECK(back.verdict.status == core::EvaluationStatus::passed);
  CHECK(back.verdict.log == b.verdict.log);
  CHECK(back.verdict.synthesized);
  REQUIRE(back.verdict.correctness);
  CHECK(back.verdict.correctness->max_absolute_error == 1e-3);
  CHECK(back.verdict.correctness->max_relative_error == 0.25);
  CHECK(back.timer == "cupti");
  REQUIRE(back.solution);
  CHECK(back.solution->trial_ms == b.solution->trial_ms);
  CHECK(back.solution->samples_ms == b.solution->samples_ms);
  CHECK(back.solution->latency_ms == 0.011);
  CHECK(back.solution->kernels == b.solution->kernels);
  CHECK_FALSE(back.solution->converged);
  CHECK(back.solution->throttled == 3);
  REQUIRE(back.reference);
  CHECK(back.reference->latency_ms == 0.2);
  CHECK(back.reference_cached);
  CHECK_FALSE(back.other);
  CHECK(back.other_error.empty());
  REQUIRE(back.cost);
  CHECK(back.cost->flops == 9.17e5);
  CHECK(back.cost->basis == "B=1");
}

TEST_CASE("bench: the verdict's errors keep their names on the wire", "[engine]") {
  engine::WorkloadVerdict v;
  v.status = core::EvaluationStatus::incorrect_numerical;
  v.correctness = core::Correctness{0.5, 0.125, ""};
  v.correctness->extra_json = R"({"tvd":0.25})";
  engine::WorkloadBench b;
  b.verdict = v;
  const std::string json = engine::workload_bench_to_json(b);
  // The correctness object is written as a trace writes it.
  util::JsonWriter trace_style;
  core::write_correctness(trace_style, *v.correctness);
  CHECK_THAT(json, Catch::Contains("\"correctness\":" + trace_style.take()));
  CHECK_THAT(json, Catch::Contains("\"max_relative_error\":0.5"));
  const engine::WorkloadVerdict back = engine::workload_bench_from_json(json).verdict;
  REQUIRE(back.correctness);
  CHECK(back.correctness->max_relative_error == 0.5);
  CHECK(back.correctness->max_absolute_error == 0.125);
  CHECK(back.correctness->extra_json == R"({"tvd":0.25})");
}

TEST_CASE("bench: non-finite errors and a missing correctness survive the wire", "[engine]") {
  engine::WorkloadBench b;
  b.verdict.status = core::EvaluationStatus::incorrect_numerical;
  b.verdict.correctness =
      core::Correctness{std::numeric_limits<double>::infinity(), std::nan(""), ""};
  engine::WorkloadBench back = engine::workload_bench_from_json(engine::workload_bench_to_json(b));
  REQUIRE(back.verdict.correctness);
  CHECK(std::isinf(back.verdict.correctness->max_relative_error));
  CHECK(std::isnan(back.verdict.correctness->max_absolute_error));
  b.verdict.status = core::EvaluationStatus::runtime_error;
  b.verdict.correctness.reset();
  back = engine::workload_bench_from_json(engine::workload_bench_to_json(b));
  CHECK(back.verdict.status == core::EvaluationStatus::runtime_error);
  CHECK_FALSE(back.verdict.correctness);
}

TEST_CASE("bench: a baseline that could not be timed travels as other_error", "[engine]") {
  engine::WorkloadBench b;
  b.other_error = "Python bridge: ModuleNotFoundError: No module named 'flashinfer'";
  const engine::WorkloadBench back =
      engine::workload_bench_from_json(engine::workload_bench_to_json(b));
  CHECK(back.other_error == b.other_error);
  CHECK_FALSE(back.other);
}
