// Private to src/commands: the one loop over (solution, workload) that verify and bench share.
// The command sets up each solution's checked SolutionRunner; the loop runs the chosen workloads
// of each, shows the progress line, and hands every workload's outcome to the command's sinks
// (verify's table or --json, official traces, bench's report), which do all the printing and
// writing.
#pragma once

#include "fibkit/commands/runner.hpp"
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/engine/sanitize.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::commands {

/// The flags verify and bench choose their solutions and workloads with.
struct Selection {
  std::optional<std::string> dataset; ///< --dataset
  std::string config;                 ///< -c
  std::string solution;               ///< -s
  std::string definition;             ///< --definition
  std::string solution_json;          ///< --solution-json
  std::string workloads;              ///< --workloads
};

/// The Selection of a command's options (they name these flags alike).
template <typename Options> Selection selection_of(const Options& opt) {
  return {opt.dataset, opt.config, opt.solution, opt.definition, opt.solution_json, opt.workloads};
}

/// What verify and bench run on: the dataset, and the project's solutions (-s, --definition) or
/// one official Solution JSON (--solution-json). The project is read for its solutions, or
/// with `need_project` for another one (bench's --compare / --baseline NAME).
struct RunInputs {
  RunInputs(const Selection& selection, bool need_project);
  RunInputs(const RunInputs&) = delete; // `selected` points into it
  RunInputs& operator=(const RunInputs&) = delete;

  /// Everything that needs no GPU first (check_before_device on the project's selected
  /// solutions and `more`; an official one was checked when loaded), then the GPU for
  /// `command`, then the official solution built for it.
  void check_and_probe(std::vector<const core::SolutionConfig*> more, const std::string& command);

  const Selection selection;
  const core::Dataset ds;
  std::optional<core::ProjectConfig> project;
  std::optional<OfficialSolution> official;
  std::vector<const core::SolutionConfig*> selected;
  DeviceProbe device; ///< after check_and_probe
};

/// The runner options verify and bench set alike: the device's arch, `tolerance` under the
/// --preset, the seed, where an official --solution-json runs (--call-from), and whether the
/// checks use the definition's Python reference (--reference python, or auto without a native
/// one).
SolutionRunner::Options common_runner_options(const RunInputs& in, const core::Definition& def,
                                              core::ToleranceFlags tolerance,
                                              const std::string& preset, std::uint64_t seed,
                                              const std::string& reference,
                                              const std::string& call_from);

/// One workload's outcome, as the sinks see it.
struct WorkloadOutcome {
  const core::SolutionConfig& solution;
  const core::Definition& definition;
  std::size_t index; ///< the workload's index among the definition's workloads
  const core::Workload& workload;
  const engine::WorkloadBench& result; ///< after LoopSettings::after
  double seconds;                      ///< wall time of the run and the `after` step
  const std::optional<engine::SanitizerResult>& sanitizer; ///< what `after` returned
};

/// The workloads that PASSED and the others, over the whole loop.
struct LoopTotals {
  std::size_t passed = 0;
  std::size_t failed = 0;
};

/// Where the outcomes go. For each solution, begin_solution once its runner is checked (before
/// --workloads is applied), then workload() per chosen workload in order; finish() once after
/// the last. An error leaves the loop at once: no finish().
class WorkloadSink {
public:
  virtual ~WorkloadSink() = default;
  virtual void begin_solution(const core::SolutionConfig& /*solution*/,
                              const core::Definition& /*definition*/,
                              const SolutionRunner& /*runner*/) {}
  virtual void workload(const WorkloadOutcome& outcome) = 0;
  virtual void finish(const LoopTotals& /*totals*/) {}
};

/// A solution's runner, constructed and checked (SolutionRunner::check) by the command, whose
/// options, WorkloadFn, fallbacks and warnings they are. The loop destroys it before it sets up
/// the next solution, so what the set-up keeps for one solution may be replaced then.
using SolutionSetup = std::function<std::unique_ptr<SolutionRunner>(const core::SolutionConfig&,
                                                                    const core::Definition&)>;

/// A step after each workload's run, before the sinks; it may change the result (verify
/// --sanitize: the workload again under compute-sanitizer).
using AfterWorkload = std::function<std::optional<engine::SanitizerResult>(
    const core::SolutionConfig&, std::size_t index, engine::WorkloadBench&)>;

struct LoopSettings {
  std::string workloads;                ///< --workloads
  std::chrono::milliseconds timeout{0}; ///< per workload
  bool progress = false;                ///< the progress line on stderr
  bool progress_names_solution = false; ///< "  <solution> [n/N] ..." rather than "  [n/N] ..."
  SolutionSetup setup;
  AfterWorkload after; ///< optional
};

/// For each of `selected` (its definition must be in the dataset: fibkit::Error otherwise):
/// settings.setup, then every workload --workloads chooses through the runner, `after`, and the
/// sinks in their order; then each sink's finish().
LoopTotals run_workload_loop(const core::Dataset& ds,
                             const std::vector<const core::SolutionConfig*>& selected,
                             const LoopSettings& settings, const std::vector<WorkloadSink*>& sinks);

/// Official traces (make_trace) under `dir`, in the official layout (trace_file): appended per
/// workload (verify --save-traces), or collected and appended by finish() (bench).
class TraceSink : public WorkloadSink {
public:
  enum class When { per_workload, at_finish };
  TraceSink(std::filesystem::path dir, std::string hardware, When when);
  void workload(const WorkloadOutcome& outcome) override;
  void finish(const LoopTotals& totals) override;

private:
  std::filesystem::path m_dir;
  std::string m_hardware; ///< the device name
  When m_when;
  std::map<std::string, std::vector<std::string>> m_lines; ///< file -> lines, for at_finish
};

} // namespace fibkit::commands
