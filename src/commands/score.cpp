// fibkit score: the contest's numbers from trace files, as the official TraceSet computes them
// (core/eval/score): per author, definition and track, against the baseline author's PASSED traces.
// Reads any number of folders in the FlashInfer-Trace layout: solutions/**/*.json give the
// authors, traces/**/*.jsonl the results (fibkit's bench/verify traces or the official
// evaluator's); a trace of a solution with no JSON takes its author from traces/<author>/.
#include "fibkit/core/eval/score.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/core/trace/tracks.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_writer.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct ScoreOptions {
  std::vector<std::string> folders;
  std::string baseline = "flashinfer";
  bool keep_authors = false;
  bool json = false;
};

// Every regular file under `dir` with extension `ext`, sorted.
std::vector<fs::path> files_under(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return out;
  }
  for (fs::recursive_directory_iterator it(dir, ec), end; it != end; it.increment(ec)) {
    if (ec) {
      throw Error(fmt::format("{}: {}", dir.string(), ec.message()));
    }
    if (it->is_regular_file() && it->path().extension() == ext) {
      out.push_back(it->path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Loaded {
  core::ScoreInput input;
  std::size_t traces = 0;
};

Loaded load(const ScoreOptions& opt) {
  Loaded out;
  std::map<std::string, core::ScoredSolution> solutions;
  const auto author_of = [&](const std::string& a) {
    return opt.keep_authors ? a : core::collapse_flashinfer_author(a);
  };
  for (const std::string& folder : opt.folders) {
    if (!fs::is_directory(folder)) {
      throw UsageError(fmt::format("{}: not a folder (a TraceSet or a bench -o folder)", folder));
    }
    for (const fs::path& p : files_under(fs::path(folder) / "solutions", ".json")) {
      const core::Solution s = core::load_solution(p, p.string());
      solutions[s.name] = {s.name, author_of(s.author), s.definition};
    }
    const fs::path traces = fs::path(folder) / "traces";
    for (const fs::path& p : files_under(traces, ".jsonl")) {
      const std::string path_author = fs::relative(p, traces).begin()->string();
      for (const core::Trace& t : core::load_trace_lines(p, p.string(), false)) {
        if (!t.solution || !t.evaluation) {
          continue;
        }
        ++out.traces;
        solutions.emplace(*t.solution,
                          core::ScoredSolution{*t.solution, author_of(path_author), t.definition});
        core::ScoredTrace st;
        st.solution = *t.solution;
        st.workload = t.workload.uuid;
        st.status = t.evaluation->status;
        st.latency_ms = t.evaluation->performance ? t.evaluation->performance->latency_ms : 0.0;
        out.input.traces.push_back(std::move(st));
      }
    }
  }
  for (auto& [name, s] : solutions) {
    out.input.solutions.push_back(std::move(s));
  }
  return out;
}

void write_metrics(util::JsonWriter& out, const core::SpeedupMetrics& m) {
  out.key("score").value(m.avg_speedup).key("definitions").value(m.definitions);
  out.key("workloads").value(m.workloads).key("success_rate").value(m.success_rate);
  out.key("win_rate").value(m.win_rate);
}

ExitCode run_score(const ScoreOptions& opt, const Context&) {
  const Loaded loaded = load(opt);
  const core::ScoreInput& in = loaded.input;
  const std::string baseline =
      opt.keep_authors ? opt.baseline : core::collapse_flashinfer_author(opt.baseline);
  std::vector<std::string> definitions;
  for (const core::ScoredSolution& s : in.solutions) {
    if (std::find(definitions.begin(), definitions.end(), s.definition) == definitions.end()) {
      definitions.push_back(s.definition);
    }
  }
  std::sort(definitions.begin(), definitions.end());
  // Definitions without a baseline solution cannot be scored: say so, score the others.
  std::vector<std::string> scored;
  for (const std::string& d : definitions) {
    const bool has_baseline =
        std::any_of(in.solutions.begin(), in.solutions.end(), [&](const core::ScoredSolution& s) {
          return s.definition == d && s.author == baseline;
        });
    if (has_baseline) {
      scored.push_back(d);
    } else {
      spdlog::warn("{}: no solution by the baseline author \"{}\": not scored", d, baseline);
    }
  }
  if (scored.empty()) {
    throw Error(fmt::format("no definition has traces of a solution by the baseline author "
                            "\"{}\" ({} traces read); pass --baseline-author",
                            baseline, loaded.traces));
  }
  const auto ranking = core::rank_authors(in, baseline, scored);

  // Per definition and track, for every ranked author.
  struct Row {
    std::string definition;
    std::string author;
    core::SpeedupMetrics metrics;
  };
  std::vector<Row> rows;
  for (const std::string& d : scored) {
    for (const auto& [author, _] : ranking) {
      if (auto m = core::author_score(in, author, baseline, {d})) {
        rows.push_back({d, author, std::move(*m)});
      }
    }
  }
  struct TrackRow {
    std::string track;
    std::string author;
    double score;
    std::size_t count;
  };
  std::vector<TrackRow> tracks;
  for (const core::Track& t : core::contest_tracks()) {
    std::vector<std::string> defs(t.definitions.begin(), t.definitions.end());
    const bool present = std::any_of(defs.begin(), defs.end(), [&](const std::string& d) {
      return std::find(scored.begin(), scored.end(), d) != scored.end();
    });
    if (!present) {
      continue;
    }
    for (const auto& [author, _] : ranking) {
      tracks.push_back({std::string(t.name), author, core::track_score(in, author, baseline, defs),
                        defs.size()});
    }
  }

  if (opt.json) {
    util::JsonWriter out(2);
    out.begin_object().key("schema_version").value(1).key("baseline_author").value(baseline);
    out.key("traces").value(static_cast<std::uint64_t>(loaded.traces));
    out.key("authors").begin_array();
    for (const auto& [author, m] : ranking) {
      out.begin_object().key("author").value(author);
      write_metrics(out, m);
      out.key("best_solutions").begin_object();
      for (const auto& [d, s] : m.best_solutions) {
        out.key(d).value(s);
      }
      out.end_object().end_object();
    }
    out.end_array().key("definitions").begin_array();
    for (const Row& r : rows) {
      out.begin_object().key("definition").value(r.definition).key("author").value(r.author);
      out.key("solution").value(r.metrics.best_solutions.begin()->second);
      write_metrics(out, r.metrics);
      out.end_object();
    }
    out.end_array().key("tracks").begin_array();
    for (const TrackRow& t : tracks) {
      out.begin_object().key("track").value(t.track).key("author").value(t.author);
      out.key("score").value(t.score);
      out.key("definitions").value(static_cast<std::uint64_t>(t.count)).end_object();
    }
    out.end_array().end_object();
    util::write_stdout(out.str() + "\n");
    return ExitCode::ok;
  }

  std::string text = fmt::format("Scores against the baseline author \"{}\"{} ({} traces; per "
                                 "workload baseline latency / solution latency, mean over "
                                 "workloads, 0 if any trace failed)\n\n",
                                 baseline,
                                 opt.keep_authors ? ""
                                                  : " (authors starting with \"flashinfer\" "
                                                    "counted as one)",
                                 loaded.traces);
  text += fmt::format("{:<24} {:>9} {:>12} {:>10} {:>8} {:>6}\n", "author", "score", "definitions",
                      "workloads", "passed", "wins");
  for (const auto& [author, m] : ranking) {
    text +=
        fmt::format("{:<24} {:>8.3f}x {:>12} {:>10} {:>7.0f}% {:>5.0f}%\n", author, m.avg_speedup,
                    m.definitions, m.workloads, 100 * m.success_rate, 100 * m.win_rate);
  }
  text += fmt::format("\n{:<56} {:<20} {:>9} {:>10}  {}\n", "definition", "author", "score",
                      "workloads", "best solution");
  for (const Row& r : rows) {
    text += fmt::format("{:<56} {:<20} {:>8.3f}x {:>10}  {}\n", r.definition, r.author,
                        r.metrics.avg_speedup, r.metrics.workloads,
                        r.metrics.best_solutions.begin()->second);
  }
  if (!tracks.empty()) {
    text +=
        fmt::format("\n{:<20} {:<20} {:>9}   (sum over the track's definitions / their count)\n",
                    "track", "author", "score");
    for (const TrackRow& t : tracks) {
      text += fmt::format("{:<20} {:<20} {:>8.3f}x   /{}\n", t.track, t.author, t.score, t.count);
    }
  }
  util::write_stdout(text);
  return ExitCode::ok;
}

} // namespace

Command register_score(CLI::App& app) {
  auto opt = std::make_shared<ScoreOptions>();
  CLI::App* sub = app.add_subcommand(
      "score", "The contest's scores from trace files: per author, definition and track, against "
               "the baseline author (official TraceSet rules)");
  sub->add_option("folders", opt->folders,
                  "Folders in the FlashInfer-Trace layout (solutions/, traces/): a TraceSet, a "
                  "`bench -o` folder, an official evaluator's output")
      ->required()
      ->check(CLI::ExistingDirectory);
  sub->add_option("--baseline-author", opt->baseline,
                  "The author whose solutions are the baseline (default flashinfer, as the "
                  "contest's final scoring)");
  sub->add_flag("--keep-authors", opt->keep_authors,
                "Do not count authors starting with \"flashinfer\" as one (the organisers did)");
  sub->add_flag("--json", opt->json, "Machine-readable output");
  return {sub, [opt](const Context& ctx) { return run_score(*opt, ctx); }};
}

} // namespace fibkit::commands
