// The contest's score, computed from traces as the official TraceSet does it
// (`get_solution_score`, `get_author_score`, `rank_authors`, flashinfer-bench HEAD) and as the
// organisers used it: authors starting with "flashinfer" collapsed into "flashinfer", which is
// the baseline author; per track, the sum of the author's per-definition scores divided by the
// track's definition count (MoE 1, DSA 2, GDN 2). No GPU, no I/O: `fibkit score` feeds it.
#pragma once

#include "fibkit/core/trace/trace.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fibkit::core {

/// A solution as scoring sees it.
struct ScoredSolution {
  std::string name;
  std::string author;
  std::string definition;
};

/// One evaluated trace as scoring sees it.
struct ScoredTrace {
  std::string solution;
  std::string workload; ///< uuid
  EvaluationStatus status = EvaluationStatus::passed;
  double latency_ms = 0.0; ///< PASSED traces only
};

/// The official `SpeedupMetrics`.
struct SpeedupMetrics {
  double avg_speedup = 0.0;
  int definitions = 0;
  int workloads = 0;
  double success_rate = 0.0;
  double win_rate = 0.0;
  std::map<std::string, std::string> best_solutions; ///< definition -> solution (authors)
};

struct ScoreInput {
  std::vector<ScoredSolution> solutions; ///< names unique
  std::vector<ScoredTrace> traces;       ///< traces of unknown solutions are ignored
};

/// "flashinfer, deep_gemm" -> "flashinfer": the organisers' renaming of FlashInfer's authors.
std::string collapse_flashinfer_author(const std::string& author);

/// `get_solution_score`: per workload the lowest-latency PASSED trace of the solution and of the
/// definition's one baseline solution (`baseline_author`); only workloads where the baseline
/// PASSED and the solution has a trace count; any non-PASSED trace of the solution scores 0;
/// else the mean of baseline / solution latency. nullopt for an unknown solution, the baseline
/// itself, or no common workload. Throws fibkit::Error when the definition has no baseline
/// solution or several, or a PASSED trace has no positive latency.
std::optional<SpeedupMetrics> solution_score(const ScoreInput& input, const std::string& solution,
                                             const std::string& baseline_author);

/// `get_author_score` over `definitions` (all definitions with solutions when empty): the
/// author's best solution per definition, then the plain mean over definitions.
std::optional<SpeedupMetrics> author_score(const ScoreInput& input, const std::string& author,
                                           const std::string& baseline_author,
                                           const std::vector<std::string>& definitions = {});

/// `rank_authors`: every author but the baseline with a score, by avg_speedup descending, then
/// name.
std::vector<std::pair<std::string, SpeedupMetrics>>
rank_authors(const ScoreInput& input, const std::string& baseline_author,
             const std::vector<std::string>& definitions = {});

/// The contest's track score of an author: the sum of its per-definition scores over the
/// track's definitions (0 for a definition it has no score for, or that has no baseline
/// solution) divided by their count.
double track_score(const ScoreInput& input, const std::string& author,
                   const std::string& baseline_author,
                   const std::vector<std::string>& track_definitions);

} // namespace fibkit::core
