// The contest's score (core/eval/score) on hand-computed traces: the official TraceSet rules
// (get_solution_score, get_author_score, rank_authors) and the organisers' track score.
#include "fibkit/core/eval/score.hpp"

#include <catch2/catch.hpp>

using namespace fibkit;
using core::EvaluationStatus;

namespace {

core::ScoredTrace passed(const std::string& solution, const std::string& workload, double ms) {
  return {solution, workload, EvaluationStatus::passed, ms};
}

core::ScoredTrace failed(const std::string& solution, const std::string& workload) {
  return {solution, workload, EvaluationStatus::incorrect_numerical, 0.0};
}

// Definition A (workloads w1..w3) and B (w4, w5); baseline author "flashinfer".
core::ScoreInput contest() {
  core::ScoreInput in;
  in.solutions = {{"fi-a", "flashinfer", "A"}, {"fi-b", "flashinfer", "B"}, {"me-a1", "me", "A"},
                  {"me-a2", "me", "A"},        {"me-b", "me", "B"},         {"you-a", "you", "A"}};
  in.traces = {passed("fi-a", "w1", 2.0), passed("fi-a", "w2", 4.0), failed("fi-a", "w3"),
               passed("fi-b", "w4", 1.0), passed("fi-b", "w5", 3.0),
               // me-a1: w1 twice (the faster counts), w2, and w3 where the baseline failed.
               passed("me-a1", "w1", 1.5), passed("me-a1", "w1", 1.0), passed("me-a1", "w2", 8.0),
               passed("me-a1", "w3", 0.1),
               // me-a2 is faster but failed once: it scores 0.
               passed("me-a2", "w1", 0.1), failed("me-a2", "w2"),
               // me-b: w4 only (w5 untouched).
               passed("me-b", "w4", 0.5),
               // you-a: a failure on a workload the baseline failed still zeroes it.
               passed("you-a", "w1", 1.0), failed("you-a", "w3")};
  return in;
}

} // namespace

TEST_CASE("score: a solution's score is the mean of baseline / solution latency", "[score]") {
  const core::ScoreInput in = contest();
  // w1: 2.0 / 1.0 = 2 (best of 1.5 and 1.0); w2: 4 / 8 = 0.5; w3 has no PASSED baseline.
  const auto m = core::solution_score(in, "me-a1", "flashinfer");
  REQUIRE(m);
  CHECK(m->avg_speedup == Approx(1.25));
  CHECK(m->workloads == 2);
  CHECK(m->success_rate == 1.0);
  CHECK(m->win_rate == 0.5);
  // Only workloads the solution touched: w4 = 1.0 / 0.5.
  CHECK(core::solution_score(in, "me-b", "flashinfer")->avg_speedup == Approx(2.0));
}

TEST_CASE("score: any failed trace zeroes a solution; the baseline is not scored", "[score]") {
  const core::ScoreInput in = contest();
  const auto a2 = core::solution_score(in, "me-a2", "flashinfer");
  REQUIRE(a2);
  CHECK(a2->avg_speedup == 0.0);
  CHECK(a2->workloads == 2);
  CHECK(a2->success_rate == 0.0);
  CHECK(core::solution_score(in, "you-a", "flashinfer")->avg_speedup == 0.0);
  CHECK_FALSE(core::solution_score(in, "fi-a", "flashinfer"));
  CHECK_FALSE(core::solution_score(in, "nope", "flashinfer"));
}

TEST_CASE("score: an author keeps its best solution per definition, mean over definitions",
          "[score]") {
  const core::ScoreInput in = contest();
  const auto me = core::author_score(in, "me", "flashinfer");
  REQUIRE(me);
  CHECK(me->avg_speedup == Approx((1.25 + 2.0) / 2));
  CHECK(me->definitions == 2);
  CHECK(me->workloads == 3);
  CHECK(me->best_solutions.at("A") == "me-a1");
  CHECK(me->best_solutions.at("B") == "me-b");
  const auto ranking = core::rank_authors(in, "flashinfer");
  REQUIRE(ranking.size() == 2);
  CHECK(ranking[0].first == "me");
  CHECK(ranking[1].first == "you");
  CHECK(ranking[1].second.avg_speedup == 0.0);
}

TEST_CASE("score: a track score divides by the track's definition count", "[score]") {
  const core::ScoreInput in = contest();
  CHECK(core::track_score(in, "me", "flashinfer", {"A", "B"}) == Approx(1.625));
  // "you" has no solution for B: it counts 0 there.
  CHECK(core::track_score(in, "you", "flashinfer", {"A", "B"}) == 0.0);
  CHECK(core::track_score(in, "me", "flashinfer", {"B", "C"}) == Approx(1.0));
}

TEST_CASE("score: a track definition without a baseline solution counts 0", "[score]") {
  // As `fibkit score --keep-authors` sees the indexer: its baseline's author is "flashinfer,
  // deep_gemm", so "flashinfer" has no solution there; me's traces of it cannot be scored.
  core::ScoreInput in = contest();
  in.solutions.push_back({"me-d", "me", "D"});
  in.traces.push_back(passed("me-d", "w9", 1.0));
  CHECK(core::track_score(in, "me", "flashinfer", {"B", "D"}) == Approx(1.0));
}

TEST_CASE("score: the baseline must be exactly one solution of the definition", "[score]") {
  core::ScoreInput in = contest();
  in.solutions.push_back({"fi-a2", "flashinfer", "A"});
  CHECK_THROWS_WITH(core::solution_score(in, "me-a1", "flashinfer"),
                    Catch::Contains("several baseline solutions") &&
                        Catch::Contains("fi-a, fi-a2"));
  CHECK_THROWS_WITH(core::solution_score(in, "me-a1", "baseline"),
                    Catch::Contains("no baseline solution from author \"baseline\""));
  core::ScoreInput bad = contest();
  bad.traces.push_back(passed("me-a1", "w2", 0.0));
  CHECK_THROWS_WITH(core::solution_score(bad, "me-a1", "flashinfer"),
                    Catch::Contains("invalid performance data"));
}

TEST_CASE("score: FlashInfer's authors count as one, as the organisers renamed them", "[score]") {
  CHECK(core::collapse_flashinfer_author("flashinfer, deep_gemm") == "flashinfer");
  CHECK(core::collapse_flashinfer_author("flashinfer") == "flashinfer");
  CHECK(core::collapse_flashinfer_author("my-flashinfer") == "my-flashinfer");
}
