// fibkit verify: correctness of a solution on every workload of its definition, judged by the
// official rules against fibkit's native reference or the definition's Python one, each workload
// in an isolated child process.
#include "fibkit/engine/verify.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/commands/runner.hpp"
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/engine/isolation.hpp"
#include "fibkit/engine/sanitize.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_writer.hpp"
#include "workload_loop.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct VerifyOptions {
  std::string config;
  std::string solution;
  std::string definition;
  std::optional<std::string> dataset;
  std::string dump;
  std::string workloads;
  std::uint64_t seed = 0;
  int trials = 2;
  core::ToleranceFlags tolerance;
  std::string preset = "official";
  double timeout = 300.0;
  bool json = false;
  bool no_isolation = false;
  std::string sanitize;
  std::string save_traces;
  std::string solution_json;
  std::string call_from = "native";
  std::string reference = "auto";
};

std::string number(double v) {
  return std::isnan(v) ? "NaN" : std::isinf(v) ? "inf" : fmt::format("{:.3g}", v);
}

// One solution's runner, built and checked. With --save-traces, a PASSED workload's trace needs
// its performance block: the solution is then timed once in contest mode (one input set,
// official counts, no reference), as `fibkit bench --trials 1 --no-reference` would.
std::unique_ptr<SolutionRunner> start_solution(const VerifyOptions& opt, const RunInputs& in,
                                               const engine::BuildSettings& build,
                                               const core::SolutionConfig& s,
                                               const core::Definition& def) {
  SolutionRunner::Options options = common_runner_options(in, def, opt.tolerance, opt.preset,
                                                          opt.seed, opt.reference, opt.call_from);
  options.trials = opt.trials;
  options.dump_root = opt.dump;
  options.no_isolation = opt.no_isolation;
  engine::BenchSettings trace_timing;
  trace_timing.trials = 1;
  trace_timing.time_reference = false;
  const bool timed = !opt.save_traces.empty();
  WorkloadFn work = [timed, trace_timing](WorkerState& state, const core::Workload& w) {
    if (timed) {
      return engine::bench_workload(state.job, trace_timing, std::nullopt, w, *state.runtime,
                                    state.gpu_timer(trace_timing.use_cupti));
    }
    engine::WorkloadBench b;
    b.verdict = engine::verify_workload(state.job, w, *state.runtime);
    return b;
  };
  auto runner = std::make_unique<SolutionRunner>(in.ds.set, def, s, build, std::move(options),
                                                 std::move(work));
  runner->check(std::chrono::milliseconds(static_cast<long long>(opt.timeout * 1000)));
  return runner;
}

// --sanitize: the workload again, alone, under compute-sanitizer (only when it ran: a crash or a
// timeout needs no sanitizer to fail); errors it reports fail the workload.
std::optional<engine::SanitizerResult>
sanitize_workload(const VerifyOptions& opt, const RunInputs& in, const fs::path& sanitizer,
                  const core::SolutionConfig& s, std::size_t wi, engine::WorkloadBench& result) {
  engine::WorkloadVerdict& verdict = result.verdict;
  if (verdict.status != core::EvaluationStatus::passed &&
      verdict.status != core::EvaluationStatus::incorrect_numerical) {
    return std::nullopt;
  }
  std::vector<std::string> command = {fs::read_symlink("/proc/self/exe").string(), "-q", "verify"};
  if (in.official) {
    command.insert(command.end(),
                   {"--solution-json", opt.solution_json, "--call-from", opt.call_from});
  } else {
    command.insert(command.end(), {"-c", in.project->file.string(), "-s", s.name});
  }
  command.insert(command.end(), {"--workloads", std::to_string(wi), "--trials", "1", "--seed",
                                 std::to_string(opt.seed), "--no-isolation", "--preset", opt.preset,
                                 "--reference", opt.reference});
  if (opt.dataset) {
    command.insert(command.end(), {"--dataset", *opt.dataset});
  }
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(opt.timeout * 1000));
  engine::SanitizerResult sanitized =
      engine::run_sanitizer(sanitizer, opt.sanitize, command, timeout * 10);
  if (!sanitized.clean) {
    verdict.status = core::EvaluationStatus::runtime_error;
    verdict.correctness.reset();
    verdict.log += (verdict.log.empty() ? "" : "\n") + fmt::format("compute-sanitizer {}: {}\n{}",
                                                                   opt.sanitize, sanitized.outcome,
                                                                   sanitized.report);
  }
  return sanitized;
}

// The warning, once per run, that structured stand-ins replaced missing blobs.
class StandInWarning : public WorkloadSink {
public:
  void workload(const WorkloadOutcome& o) override {
    if (o.result.verdict.synthesized && !m_warned) {
      spdlog::warn("some safetensors blobs of {} are missing: using structured stand-ins "
                   "(`fibkit synth --dataset DIR` writes them once)",
                   o.definition.name);
      m_warned = true;
    }
  }

private:
  bool m_warned = false;
};

// The terminal table: per solution a header line, one line per workload (a failure adds its
// log), the totals last.
class VerifyTable : public WorkloadSink {
public:
  VerifyTable(std::string arch, bool color) : m_arch(std::move(arch)), m_color(color) {}

  void begin_solution(const core::SolutionConfig& s, const core::Definition& def,
                      const SolutionRunner& runner) override {
    const core::Tolerance& tolerance = runner.tolerance();
    fmt::print("{}  {}  {}  atol {} rtol {} ratio {}  reference: {}\n",
               util::styled(s.name, util::Style::bold, m_color), def.name, m_arch, tolerance.atol,
               tolerance.rtol, tolerance.required_matched_ratio.value_or(1.0),
               runner.options().python_checks ? "the definition's Python run" : "fibkit's native");
    fmt::print("  {:>4}  {:<10}  {:<28}  {:<19}  {:>9}  {:>9}  {:>7}\n", "#", "uuid", "axes",
               "status", "max abs", "max rel", "time");
  }

  void workload(const WorkloadOutcome& o) override {
    const engine::WorkloadVerdict& verdict = o.result.verdict;
    const bool ok = verdict.status == core::EvaluationStatus::passed;
    fmt::print("  {:>4}  {:<10}  {:<28}  {:<19}  {:>9}  {:>9}  {:>6.2f}s\n", o.index,
               o.workload.uuid.substr(0, 8), axes_text(o.workload).substr(0, 28),
               util::styled(core::status_name(verdict.status),
                            ok ? util::Style::green : util::Style::red, m_color),
               verdict.correctness ? number(verdict.correctness->max_absolute_error) : "-",
               verdict.correctness ? number(verdict.correctness->max_relative_error) : "-",
               o.seconds);
    if (!ok && !verdict.log.empty()) {
      fmt::print("        {}\n", verdict.log.substr(0, 2000));
    }
  }

  void finish(const LoopTotals& totals) override {
    fmt::print("\n{} passed, {} failed\n", totals.passed, totals.failed);
  }

private:
  std::string m_arch;
  bool m_color;
};

// --json: one document on stdout, one result per workload, the totals last.
class VerifyJson : public WorkloadSink {
public:
  explicit VerifyJson(const std::string& arch) {
    m_json.begin_object().key("schema_version").value(1).key("arch").value(arch);
    m_json.key("results").begin_array();
  }

  void workload(const WorkloadOutcome& o) override {
    const engine::WorkloadVerdict& verdict = o.result.verdict;
    util::JsonWriter& json = m_json;
    json.begin_object().key("solution").value(o.solution.name);
    json.key("definition").value(o.definition.name);
    json.key("workload")
        .value(o.workload.uuid)
        .key("index")
        .value(static_cast<std::uint64_t>(o.index));
    json.key("status").value(core::status_name(verdict.status));
    json.key("max_absolute_error");
    verdict.correctness ? json.value_inf_nan_strings(verdict.correctness->max_absolute_error)
                        : json.null();
    json.key("max_relative_error");
    verdict.correctness ? json.value_inf_nan_strings(verdict.correctness->max_relative_error)
                        : json.null();
    json.key("seconds").value(o.seconds).key("synthesized_inputs").value(verdict.synthesized);
    json.key("sanitizer");
    o.sanitizer ? json.value(o.sanitizer->outcome) : json.null();
    json.key("log").value(verdict.log).end_object();
  }

  void finish(const LoopTotals& totals) override {
    m_json.end_array().key("passed").value(static_cast<std::uint64_t>(totals.passed));
    m_json.key("failed").value(static_cast<std::uint64_t>(totals.failed)).end_object();
    fmt::print("{}\n", m_json.str());
  }

private:
  util::JsonWriter m_json{2};
};

ExitCode run_verify(const VerifyOptions& opt, const Context& ctx) {
  RunInputs in(selection_of(opt), false);
  in.check_and_probe({}, "verify");
  const fs::path sanitizer = opt.sanitize.empty() ? fs::path() : engine::find_compute_sanitizer();
  std::optional<util::DiskCache> cache = open_compile_cache();
  engine::BuildSettings build;
  build.cache = cache ? &*cache : nullptr;

  StandInWarning stand_ins;
  TraceSink traces(opt.save_traces, in.device.name, TraceSink::When::per_workload);
  VerifyTable table(in.device.arch, ctx.color_stdout);
  VerifyJson json(in.device.arch);
  std::vector<WorkloadSink*> sinks = {&stand_ins};
  if (!opt.save_traces.empty()) {
    sinks.push_back(&traces);
  }
  sinks.push_back(opt.json ? static_cast<WorkloadSink*>(&json) : &table);

  LoopSettings loop;
  loop.workloads = opt.workloads;
  loop.timeout = std::chrono::milliseconds(static_cast<long long>(opt.timeout * 1000));
  loop.progress = !opt.json && ::isatty(STDERR_FILENO) && !ctx.quiet;
  loop.setup = [&](const core::SolutionConfig& s, const core::Definition& def) {
    return start_solution(opt, in, build, s, def);
  };
  if (!sanitizer.empty()) {
    loop.after = [&](const core::SolutionConfig& s, std::size_t wi, engine::WorkloadBench& r) {
      return sanitize_workload(opt, in, sanitizer, s, wi, r);
    };
  }
  const LoopTotals totals = run_workload_loop(in.ds, in.selected, loop, sinks);
  return totals.failed ? ExitCode::failed : ExitCode::ok;
}

} // namespace

Command register_verify(CLI::App& app) {
  auto opt = std::make_shared<VerifyOptions>();
  CLI::App* sub = app.add_subcommand(
      "verify", "Check a solution on every workload with the official correctness rules against "
                "fibkit's native reference (needs a GPU)");
  sub->add_option("-c,--config", opt->config,
                  "Project config (default: config.toml here or in a parent directory)");
  sub->add_option("-s,--solution", opt->solution, "Verify only this solution (default: all)");
  sub->add_option("--solution-json", opt->solution_json,
                  "Verify an official Solution JSON instead of the project: cuda/cpp with the "
                  "TVM-FFI binding (e.g. what `fibkit pack` wrote) built as the official builder "
                  "builds it (nvcc, plain sm_XY) and called through TVM-FFI, or python/triton "
                  "loaded in a python3 child as the official Python/Triton builders load it")
      ->excludes("-s");
  add_call_from_option(*sub, opt->call_from);
  sub->add_option("--definition", opt->definition,
                  "Verify only the solutions of this definition (multi-definition projects)");
  sub->add_option("--reference", opt->reference,
                  "What the outputs are checked against: native (fibkit's fp32 CUDA reference, "
                  "fast), python (the definition's own Python run through torch in a python3 "
                  "child, as the official evaluator; $FIBKIT_PYTHON picks the interpreter) or "
                  "auto (native where fibkit has one, else python; the default)")
      ->check(CLI::IsMember({"native", "python", "auto"}));
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet (default: $FIB_DATASET_PATH, else the embedded examples)");
  sub->add_option("--workloads", opt->workloads,
                  "Comma-separated workload indices or uuid prefixes (default: all)");
  sub->add_option("--seed", opt->seed, "Seed of the random inputs (default 0)");
  sub->add_option("--trials", opt->trials, "Input sets per workload, each drawn afresh (default 2)")
      ->check(CLI::Range(1, 100));
  sub->add_option("--atol", opt->tolerance.atol, "Absolute tolerance (default 1e-2)");
  sub->add_option("--rtol", opt->tolerance.rtol, "Relative tolerance (default 1e-2)");
  sub->add_option("--required-matched-ratio", opt->tolerance.required_matched_ratio,
                  "Fraction of elements that must match (default 1.0; MoE 0.95)");
  sub->add_option("--preset", opt->preset,
                  "official (the evaluator's defaults) or contest (the flags the contest used: "
                  "MoE atol 1, rtol 0.3, ratio 0.9)")
      ->check(CLI::IsMember({"official", "contest"}));
  sub->add_option("--timeout", opt->timeout, "Seconds per workload (default 300)");
  sub->add_flag("--json", opt->json, "Print one JSON document on stdout");
  sub->add_option("--dump", opt->dump,
                  "Write each trial's inputs and outputs (solution and reference) to "
                  "DIR/<solution>/<workload>/trial<k>.safetensors, for debugging");
  sub->add_option("--save-traces", opt->save_traces,
                  "Append official traces to DIR/traces/<author>/<op_type>/<definition>.jsonl "
                  "(a PASSED workload is then timed once in contest mode for its performance "
                  "block; reference latency and speedup 0, as --no-profile-baseline)");
  sub->add_option("--sanitize", opt->sanitize,
                  "Also run each workload once under compute-sanitizer with this tool; errors it "
                  "reports fail the workload (RUNTIME_ERROR)")
      ->check(CLI::IsMember({"memcheck", "racecheck"}));
  sub->add_flag("--no-isolation", opt->no_isolation,
                "Run every workload in this process (faster; a crash ends the run)");
  return {sub, [opt](const Context& ctx) { return run_verify(*opt, ctx); }, NeedsGpu::yes, {}};
}

} // namespace fibkit::commands
