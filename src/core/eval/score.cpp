#include "fibkit/core/eval/score.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace fibkit::core {

namespace {

const ScoredSolution* find_solution(const ScoreInput& input, const std::string& name) {
  for (const ScoredSolution& s : input.solutions) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

// Per workload, the lowest latency of the solution's PASSED traces; also every workload it has
// a trace of, and whether any of them failed.
struct Best {
  std::map<std::string, double> latency;
  std::set<std::string> touched;
  bool failed = false;
};

Best best_latencies(const ScoreInput& input, const std::string& solution) {
  Best best;
  for (const ScoredTrace& t : input.traces) {
    if (t.solution != solution) {
      continue;
    }
    best.touched.insert(t.workload);
    if (t.status != EvaluationStatus::passed) {
      best.failed = true;
      continue;
    }
    if (!(t.latency_ms > 0.0)) {
      throw Error(fmt::format("PASSED trace for solution \"{}\" workload \"{}\" has invalid "
                              "performance data (latency {} ms)",
                              solution, t.workload, t.latency_ms));
    }
    const auto it = best.latency.find(t.workload);
    if (it == best.latency.end() || t.latency_ms < it->second) {
      best.latency[t.workload] = t.latency_ms;
    }
  }
  return best;
}

std::vector<std::string> scope(const ScoreInput& input, const std::vector<std::string>& defs) {
  if (!defs.empty()) {
    return defs;
  }
  std::set<std::string> all;
  for (const ScoredSolution& s : input.solutions) {
    all.insert(s.definition);
  }
  return {all.begin(), all.end()};
}

} // namespace

std::string collapse_flashinfer_author(const std::string& author) {
  return author.rfind("flashinfer", 0) == 0 ? std::string("flashinfer") : author;
}

std::optional<SpeedupMetrics> solution_score(const ScoreInput& input, const std::string& name,
                                             const std::string& baseline_author) {
  const ScoredSolution* solution = find_solution(input, name);
  if (solution == nullptr) {
    return std::nullopt;
  }
  std::vector<const ScoredSolution*> baselines;
  for (const ScoredSolution& s : input.solutions) {
    if (s.definition == solution->definition && s.author == baseline_author) {
      baselines.push_back(&s);
    }
  }
  if (baselines.empty()) {
    throw Error(fmt::format("no baseline solution from author \"{}\" for definition \"{}\"",
                            baseline_author, solution->definition));
  }
  if (baselines.size() > 1) {
    std::string names;
    for (const ScoredSolution* s : baselines) {
      names += (names.empty() ? "" : ", ") + s->name;
    }
    throw Error(fmt::format("several baseline solutions from author \"{}\" for definition "
                            "\"{}\": {}",
                            baseline_author, solution->definition, names));
  }
  if (baselines.front()->name == solution->name) {
    return std::nullopt;
  }
  const Best sol = best_latencies(input, solution->name);
  const Best base = best_latencies(input, baselines.front()->name);
  std::vector<std::string> common;
  for (const auto& [workload, latency] : base.latency) {
    if (sol.touched.count(workload) != 0) {
      common.push_back(workload);
    }
  }
  if (common.empty()) {
    return std::nullopt;
  }
  SpeedupMetrics m;
  m.definitions = 1;
  m.workloads = static_cast<int>(common.size());
  if (sol.failed) {
    return m; // any failed trace: the whole solution scores 0
  }
  double sum = 0.0;
  int wins = 0;
  for (const std::string& w : common) {
    const double ratio = base.latency.at(w) / sol.latency.at(w);
    sum += ratio;
    wins += ratio > 1.0 ? 1 : 0;
  }
  m.avg_speedup = sum / static_cast<double>(common.size());
  m.success_rate = 1.0;
  m.win_rate = static_cast<double>(wins) / static_cast<double>(common.size());
  return m;
}

std::optional<SpeedupMetrics> author_score(const ScoreInput& input, const std::string& author,
                                           const std::string& baseline_author,
                                           const std::vector<std::string>& definitions) {
  std::vector<SpeedupMetrics> per_definition;
  std::map<std::string, std::string> best_solutions;
  for (const std::string& def : scope(input, definitions)) {
    std::optional<std::pair<std::string, SpeedupMetrics>> best;
    for (const ScoredSolution& s : input.solutions) {
      if (s.definition != def || s.author != author) {
        continue;
      }
      std::optional<SpeedupMetrics> m = solution_score(input, s.name, baseline_author);
      if (m && (!best || m->avg_speedup > best->second.avg_speedup)) {
        best.emplace(s.name, *m);
      }
    }
    if (best) {
      per_definition.push_back(best->second);
      best_solutions[def] = best->first;
    }
  }
  if (per_definition.empty()) {
    return std::nullopt;
  }
  const double n = static_cast<double>(per_definition.size());
  SpeedupMetrics out;
  for (const SpeedupMetrics& m : per_definition) {
    out.avg_speedup += m.avg_speedup / n;
    out.workloads += m.workloads;
    out.success_rate += m.success_rate / n;
    out.win_rate += m.win_rate / n;
  }
  out.definitions = static_cast<int>(per_definition.size());
  out.best_solutions = std::move(best_solutions);
  return out;
}

std::vector<std::pair<std::string, SpeedupMetrics>>
rank_authors(const ScoreInput& input, const std::string& baseline_author,
             const std::vector<std::string>& definitions) {
  const std::vector<std::string> defs = scope(input, definitions);
  std::set<std::string> authors;
  for (const ScoredSolution& s : input.solutions) {
    if (std::find(defs.begin(), defs.end(), s.definition) != defs.end()) {
      authors.insert(s.author);
    }
  }
  std::vector<std::pair<std::string, SpeedupMetrics>> out;
  for (const std::string& a : authors) {
    if (a == baseline_author) {
      continue;
    }
    if (std::optional<SpeedupMetrics> m = author_score(input, a, baseline_author, defs)) {
      out.emplace_back(a, std::move(*m));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
    return x.second.avg_speedup != y.second.avg_speedup
               ? x.second.avg_speedup > y.second.avg_speedup
               : x.first < y.first;
  });
  return out;
}

double track_score(const ScoreInput& input, const std::string& author,
                   const std::string& baseline_author,
                   const std::vector<std::string>& track_definitions) {
  if (track_definitions.empty()) {
    return 0.0;
  }
  double sum = 0.0;
  for (const std::string& def : track_definitions) {
    // A definition without a baseline solution cannot be scored: it counts 0, as a missing one.
    const bool has_baseline =
        std::any_of(input.solutions.begin(), input.solutions.end(), [&](const ScoredSolution& s) {
          return s.definition == def && s.author == baseline_author;
        });
    if (!has_baseline) {
      continue;
    }
    if (std::optional<SpeedupMetrics> m = author_score(input, author, baseline_author, {def})) {
      sum += m->avg_speedup;
    }
  }
  return sum / static_cast<double>(track_definitions.size());
}

} // namespace fibkit::core
