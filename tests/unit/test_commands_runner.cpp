// What verify and bench share: official traces from a workload's result (the presence rules of
// the official model for every status), the trace layout, and compute-sanitizer's report lines.
#include "fibkit/commands/runner.hpp"
#include "fibkit/engine/sanitize.hpp"
#include "fibkit/util/json_reader.hpp"

#include <catch2/catch.hpp>

using namespace fibkit;

namespace {

core::Definition tiny_definition() {
  core::Definition d;
  d.name = "tiny_def";
  d.op_type = "tiny";
  return d;
}

// The trace as the official model would read it back (fibkit's reader applies its rules).
core::Trace round_trip(const core::Trace& t) {
  const std::string line = core::trace_to_json_line(t);
  util::JsonParser parser;
  return core::parse_trace(util::parse_json(parser, line, {"trace", 1}));
}

} // namespace

TEST_CASE("runner: traces follow the official presence rules for every status", "[commands]") {
  const core::Definition def = tiny_definition();
  core::Workload w;
  w.uuid = "u-1";
  w.axes = {{"n", 4}};

  engine::WorkloadBench passed;
  passed.verdict.status = core::EvaluationStatus::passed;
  passed.verdict.correctness = core::Correctness{0.001, 0.0001, ""};
  passed.solution = engine::SolutionTiming{{0.01}, {0.01}, 0.01, {}, true, 0};
  SECTION("PASSED with the reference timed") {
    passed.reference = engine::SolutionTiming{{0.05}, {0.05}, 0.05, {}, true, 0};
    const core::Trace t = round_trip(commands::make_trace(def, w, "sol", passed, "NVIDIA H100"));
    REQUIRE(t.evaluation->performance);
    CHECK(t.evaluation->performance->latency_ms == 0.01);
    CHECK(t.evaluation->performance->reference_latency_ms == 0.05);
    CHECK(t.evaluation->performance->speedup_factor == Approx(5.0));
    CHECK(t.evaluation->environment.hardware == "NVIDIA H100");
    CHECK(*t.solution == "sol");
  }
  SECTION("PASSED without the reference: 0 and 0, as --no-profile-baseline") {
    const core::Trace t = round_trip(commands::make_trace(def, w, "sol", passed, "gpu"));
    REQUIRE(t.evaluation->performance);
    CHECK(t.evaluation->performance->reference_latency_ms == 0.0);
    CHECK(t.evaluation->performance->speedup_factor == 0.0);
  }
  SECTION("INCORRECT_NUMERICAL keeps correctness, has no performance") {
    engine::WorkloadBench bad;
    bad.verdict.status = core::EvaluationStatus::incorrect_numerical;
    bad.verdict.correctness = core::Correctness{1.0, 2.0, ""};
    bad.verdict.log = "trial 0: mismatch";
    const core::Trace t = round_trip(commands::make_trace(def, w, "sol", bad, "gpu"));
    CHECK(t.evaluation->correctness);
    CHECK_FALSE(t.evaluation->performance);
    CHECK(t.evaluation->log == "trial 0: mismatch");
  }
  SECTION("RUNTIME_ERROR and TIMEOUT carry neither") {
    for (const auto status :
         {core::EvaluationStatus::runtime_error, core::EvaluationStatus::timeout}) {
      engine::WorkloadBench crash;
      crash.verdict.status = status;
      crash.verdict.correctness = core::Correctness{1.0, 2.0, ""}; // dropped
      const core::Trace t = round_trip(commands::make_trace(def, w, "sol", crash, "gpu"));
      CHECK_FALSE(t.evaluation->correctness);
      CHECK_FALSE(t.evaluation->performance);
    }
  }
}

TEST_CASE("runner: traces go where the official harness appends them", "[commands]") {
  const core::Definition def = tiny_definition();
  core::SolutionConfig s;
  s.author = "alice";
  CHECK(commands::trace_file(s, def) == "traces/alice/tiny/tiny_def.jsonl");
  s.author.clear();
  CHECK(commands::trace_file(s, def) == "traces/unknown/tiny/tiny_def.jsonl");
}

TEST_CASE("sanitize: the report keeps the tool's lines without host backtraces", "[engine]") {
  const std::string log = "app output\n"
                          "========= COMPUTE-SANITIZER\n"
                          "========= Invalid __global__ write of size 2 bytes\n"
                          "=========     at gdn_decode_kernel+0x1a0\n"
                          "=========     Host Frame: [0x17910e] in fibkit\n"
                          "more app output\n"
                          "========= ERROR SUMMARY: 1 error\n";
  CHECK(engine::sanitizer_lines(log) == "========= COMPUTE-SANITIZER\n"
                                        "========= Invalid __global__ write of size 2 bytes\n"
                                        "=========     at gdn_decode_kernel+0x1a0\n"
                                        "========= ERROR SUMMARY: 1 error\n");
  CHECK(engine::sanitizer_lines(log, 2) == "========= COMPUTE-SANITIZER\n"
                                           "========= Invalid __global__ write of size 2 bytes\n"
                                           "========= [more lines cut]\n");
}
