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

ExitCode run_verify(const VerifyOptions& opt, const Context& ctx) {
  const core::Dataset ds = core::load_dataset(opt.dataset);
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(opt.timeout * 1000));

  // The project's solutions, or one official Solution JSON (--solution-json).
  std::optional<core::ProjectConfig> project;
  std::optional<OfficialSolution> official;
  std::vector<const core::SolutionConfig*> selected;
  if (opt.solution_json.empty()) {
    project = core::load_project_config(opt.config);
    selected = select_solutions(*project, opt.solution, opt.definition);
    check_before_device(ds, selected, opt.workloads); // everything that needs no GPU first
  } else {
    official = load_official_solution(opt.solution_json, ds, opt.workloads);
    selected.push_back(&official->config);
  }
  const DeviceProbe device = probe_device("verify");
  const std::string arch = device.arch;
  if (official) {
    build_official_solution(*official, arch);
  }
  const bool progress = !opt.json && ::isatty(STDERR_FILENO) && !ctx.quiet;
  const std::filesystem::path sanitizer =
      opt.sanitize.empty() ? std::filesystem::path() : engine::find_compute_sanitizer();
  std::optional<util::DiskCache> cache = open_compile_cache();
  engine::BuildSettings build;
  build.cache = cache ? &*cache : nullptr;

  util::JsonWriter json(2);
  if (opt.json) {
    json.begin_object().key("schema_version").value(1).key("arch").value(arch);
    json.key("results").begin_array();
  }
  std::size_t passed = 0;
  std::size_t failed = 0;
  bool warned_synth = false;
  // With --save-traces, a PASSED workload's trace needs its performance block: the solution
  // is then timed once in contest mode (one input set, official counts, no reference), as
  // `fibkit bench --trials 1 --no-reference` would.
  engine::BenchSettings trace_timing;
  trace_timing.trials = 1;
  trace_timing.time_reference = false;
  const WorkloadFn work = [&](WorkerState& state, const core::Workload& w) {
    if (!opt.save_traces.empty()) {
      return engine::bench_workload(state.job, trace_timing, std::nullopt, w, *state.runtime,
                                    state.gpu_timer(trace_timing.use_cupti));
    }
    engine::WorkloadBench b;
    b.verdict = engine::verify_workload(state.job, w, *state.runtime);
    return b;
  };
  for (const core::SolutionConfig* s : selected) {
    const core::Definition* def = ds.set.find_definition(s->definition);
    if (!def) {
      throw Error(fmt::format("{}: definition \"{}\" is not in the dataset ({})", s->where,
                              s->definition, ds.label));
    }
    SolutionRunner::Options options;
    options.arch = arch;
    options.tolerance = opt.tolerance;
    options.tolerance.preset =
        opt.preset == "contest" ? core::TolerancePreset::contest : core::TolerancePreset::official;
    options.seed = opt.seed;
    options.trials = opt.trials;
    options.dump_root = opt.dump;
    options.no_isolation = opt.no_isolation;
    if (official) {
      place_official(*official, opt.call_from == "python", options.library,
                     options.python_solution);
    }
    options.python_checks =
        opt.reference == "python" || (opt.reference == "auto" && !has_native_reference(def->name));
    SolutionRunner runner(ds.set, *def, *s, build, options, work);
    runner.check(timeout);
    const core::Tolerance& tolerance = runner.tolerance();

    const std::vector<core::Trace>& workloads = ds.set.workloads_of(def->name);
    if (!opt.json) {
      fmt::print("{}  {}  {}  atol {} rtol {} ratio {}  reference: {}\n",
                 util::styled(s->name, util::Style::bold, ctx.color_stdout), def->name, arch,
                 tolerance.atol, tolerance.rtol, tolerance.required_matched_ratio.value_or(1.0),
                 options.python_checks ? "the definition's Python run" : "fibkit's native");
      fmt::print("  {:>4}  {:<10}  {:<28}  {:<19}  {:>9}  {:>9}  {:>7}\n", "#", "uuid", "axes",
                 "status", "max abs", "max rel", "time");
    }
    const std::vector<std::size_t> chosen = select_workloads(workloads, opt.workloads);
    for (std::size_t n = 0; n < chosen.size(); ++n) {
      const std::size_t wi = chosen[n];
      const core::Workload& w = workloads[wi].workload;
      const auto start = std::chrono::steady_clock::now();
      progress_line(progress, fmt::format("  [{}/{}] {} {}", n + 1, chosen.size(),
                                          w.uuid.substr(0, 8), axes_text(w).substr(0, 40)));
      engine::WorkloadBench result = runner.run(wi, timeout);
      engine::WorkloadVerdict& verdict = result.verdict;
      // --sanitize: the workload again, alone, under compute-sanitizer (only when it ran: a
      // crash or a timeout needs no sanitizer to fail).
      std::optional<engine::SanitizerResult> sanitized;
      if (!sanitizer.empty() && (verdict.status == core::EvaluationStatus::passed ||
                                 verdict.status == core::EvaluationStatus::incorrect_numerical)) {
        std::vector<std::string> command = {fs::read_symlink("/proc/self/exe").string(), "-q",
                                            "verify"};
        if (official) {
          command.insert(command.end(),
                         {"--solution-json", opt.solution_json, "--call-from", opt.call_from});
        } else {
          command.insert(command.end(), {"-c", project->file.string(), "-s", s->name});
        }
        command.insert(command.end(), {"--workloads", std::to_string(wi), "--trials", "1", "--seed",
                                       std::to_string(opt.seed), "--no-isolation", "--preset",
                                       opt.preset, "--reference", opt.reference});
        if (opt.dataset) {
          command.insert(command.end(), {"--dataset", *opt.dataset});
        }
        sanitized = engine::run_sanitizer(sanitizer, opt.sanitize, command, timeout * 10);
        if (!sanitized->clean) {
          verdict.status = core::EvaluationStatus::runtime_error;
          verdict.correctness.reset();
          verdict.log += (verdict.log.empty() ? "" : "\n") +
                         fmt::format("compute-sanitizer {}: {}\n{}", opt.sanitize,
                                     sanitized->outcome, sanitized->report);
        }
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress_line(progress, "");
      if (verdict.synthesized && !warned_synth) {
        spdlog::warn("some safetensors blobs of {} are missing: using structured stand-ins "
                     "(`fibkit synth --dataset DIR` writes them once)",
                     def->name);
        warned_synth = true;
      }
      if (!opt.save_traces.empty()) {
        if (verdict.status != core::EvaluationStatus::passed) {
          result.solution.reset(); // the sanitizer may have failed it after the timing
        }
        util::append_lines(
            fs::path(opt.save_traces) / trace_file(*s, *def),
            {core::trace_to_json_line(make_trace(*def, w, s->name, result, device.name))});
      }
      const bool ok = verdict.status == core::EvaluationStatus::passed;
      (ok ? passed : failed) += 1;
      if (opt.json) {
        json.begin_object().key("solution").value(s->name).key("definition").value(def->name);
        json.key("workload").value(w.uuid).key("index").value(static_cast<std::uint64_t>(wi));
        json.key("status").value(core::status_name(verdict.status));
        json.key("max_absolute_error");
        verdict.correctness ? json.value_inf_nan_strings(verdict.correctness->max_absolute_error)
                            : json.null();
        json.key("max_relative_error");
        verdict.correctness ? json.value_inf_nan_strings(verdict.correctness->max_relative_error)
                            : json.null();
        json.key("seconds").value(seconds).key("synthesized_inputs").value(verdict.synthesized);
        json.key("sanitizer");
        sanitized ? json.value(sanitized->outcome) : json.null();
        json.key("log").value(verdict.log).end_object();
      } else {
        fmt::print("  {:>4}  {:<10}  {:<28}  {:<19}  {:>9}  {:>9}  {:>6.2f}s\n", wi,
                   w.uuid.substr(0, 8), axes_text(w).substr(0, 28),
                   util::styled(core::status_name(verdict.status),
                                ok ? util::Style::green : util::Style::red, ctx.color_stdout),
                   verdict.correctness ? number(verdict.correctness->max_absolute_error) : "-",
                   verdict.correctness ? number(verdict.correctness->max_relative_error) : "-",
                   seconds);
        if (!ok && !verdict.log.empty()) {
          fmt::print("        {}\n", verdict.log.substr(0, 2000));
        }
      }
    }
  }
  if (opt.json) {
    json.end_array().key("passed").value(static_cast<std::uint64_t>(passed));
    json.key("failed").value(static_cast<std::uint64_t>(failed)).end_object();
    fmt::print("{}\n", json.str());
  } else {
    fmt::print("\n{} passed, {} failed\n", passed, failed);
  }
  return failed ? ExitCode::failed : ExitCode::ok;
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
