#include "workload_loop.hpp"

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>

#include <utility>

namespace fibkit::commands {

RunInputs::RunInputs(const Selection& sel, bool need_project)
    : selection(sel), ds(core::load_dataset(sel.dataset)) {
  if (sel.solution_json.empty() || need_project) {
    project = core::load_project_config(sel.config);
  }
  if (sel.solution_json.empty()) {
    selected = select_solutions(*project, sel.solution, sel.definition);
  } else {
    official = load_official_solution(sel.solution_json, ds, sel.workloads);
    selected.push_back(&official->config);
  }
}

void RunInputs::check_and_probe(std::vector<const core::SolutionConfig*> more,
                                const std::string& command) {
  if (!official) {
    more.insert(more.begin(), selected.begin(), selected.end());
  }
  check_before_device(ds, more, selection.workloads);
  device = probe_device(command);
  if (official) {
    build_official_solution(*official, device.arch);
  }
}

SolutionRunner::Options common_runner_options(const RunInputs& in, const core::Definition& def,
                                              core::ToleranceFlags tolerance,
                                              const std::string& preset, std::uint64_t seed,
                                              const std::string& reference,
                                              const std::string& call_from) {
  SolutionRunner::Options options;
  options.arch = in.device.arch;
  options.tolerance = tolerance;
  options.tolerance.preset =
      preset == "contest" ? core::TolerancePreset::contest : core::TolerancePreset::official;
  options.seed = seed;
  if (in.official) {
    place_official(*in.official, call_from == "python", options.library, options.python_solution);
  }
  options.python_checks =
      reference == "python" || (reference == "auto" && !has_native_reference(def.name));
  return options;
}

LoopTotals run_workload_loop(const core::Dataset& ds,
                             const std::vector<const core::SolutionConfig*>& selected,
                             const LoopSettings& settings,
                             const std::vector<WorkloadSink*>& sinks) {
  LoopTotals totals;
  for (const core::SolutionConfig* s : selected) {
    const core::Definition* def = ds.set.find_definition(s->definition);
    if (!def) {
      throw Error(fmt::format("{}: definition \"{}\" is not in the dataset ({})", s->where,
                              s->definition, ds.label));
    }
    const std::unique_ptr<SolutionRunner> runner = settings.setup(*s, *def);
    for (WorkloadSink* sink : sinks) {
      sink->begin_solution(*s, *def, *runner);
    }
    const std::vector<core::Trace>& workloads = ds.set.workloads_of(def->name);
    const std::vector<std::size_t> chosen = select_workloads(workloads, settings.workloads);
    for (std::size_t n = 0; n < chosen.size(); ++n) {
      const std::size_t wi = chosen[n];
      const core::Workload& w = workloads[wi].workload;
      const auto start = std::chrono::steady_clock::now();
      progress_line(settings.progress,
                    fmt::format("  {}[{}/{}] {} {}",
                                settings.progress_names_solution ? s->name + " " : "", n + 1,
                                chosen.size(), w.uuid.substr(0, 8), axes_text(w).substr(0, 40)));
      engine::WorkloadBench result = runner->run(wi, settings.timeout);
      std::optional<engine::SanitizerResult> sanitized;
      if (settings.after) {
        sanitized = settings.after(*s, wi, result);
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress_line(settings.progress, "");
      (result.verdict.status == core::EvaluationStatus::passed ? totals.passed : totals.failed) +=
          1;
      const WorkloadOutcome outcome{*s, *def, wi, w, result, seconds, sanitized};
      for (WorkloadSink* sink : sinks) {
        sink->workload(outcome);
      }
    }
  }
  for (WorkloadSink* sink : sinks) {
    sink->finish(totals);
  }
  return totals;
}

TraceSink::TraceSink(std::filesystem::path dir, std::string hardware, When when)
    : m_dir(std::move(dir)), m_hardware(std::move(hardware)), m_when(when) {}

void TraceSink::workload(const WorkloadOutcome& o) {
  const std::string file = trace_file(o.solution, o.definition);
  std::string line = core::trace_to_json_line(
      make_trace(o.definition, o.workload, o.solution.name, o.result, m_hardware));
  if (m_when == When::per_workload) {
    util::append_lines(m_dir / file, {std::move(line)});
  } else {
    m_lines[file].push_back(std::move(line));
  }
}

void TraceSink::finish(const LoopTotals& /*totals*/) {
  for (const auto& [file, lines] : m_lines) {
    util::append_lines(m_dir / file, lines);
  }
}

} // namespace fibkit::commands
