// fibkit bench: verifies, then times a solution on every workload of its definition the way the
// official evaluator does (contest mode) or with fibkit's low-noise kernel mode, against the
// definition's Python reference or the native one and an optional baseline; prints a table and
// writes bench.json, report.html and official traces.
#include "fibkit/engine/bench.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/commands/runner.hpp"
#include "fibkit/core/eval/device_peaks.hpp"
#include "fibkit/core/eval/latency_cache.hpp"
#include "fibkit/core/eval/traits.hpp"
#include "fibkit/core/report/bench_report.hpp"
#include "fibkit/core/report/bench_row.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/engine/isolation.hpp"
#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/file.hpp"
#include "workload_loop.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <unistd.h>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct BenchOptions {
  std::string config;
  std::string solution;
  std::string definition;
  std::optional<std::string> dataset;
  std::string workloads;
  std::string mode = "contest";
  std::string preset = "official";
  std::optional<int> warmup;
  std::optional<int> iterations;
  std::optional<int> trials;
  std::uint64_t seed = 0;
  double timeout = 900.0;
  bool json = false;
  std::string out = "fibkit-results";
  bool no_report = false;
  std::string baseline;
  std::string compare;
  bool no_reference = false;
  bool no_cache = false;
  std::string timer = "cupti";
  double max_noise = 0.005;
  double time_limit = 15.0;
  std::string solution_json;
  std::string call_from = "native";
  std::string reference = "auto";
  std::string speedup_reference = "auto";
};

// The official counts, then the contest's per-definition ones, then the flags.
engine::BenchSettings counts_for(const BenchOptions& opt, const core::Definition& def) {
  engine::BenchSettings s;
  if (opt.preset == "contest") {
    const core::DefinitionTraits traits = core::definition_traits(def);
    s.warmup = traits.contest_warmup.value_or(s.warmup);
    s.iterations = traits.contest_iterations.value_or(s.iterations);
  }
  s.warmup = opt.warmup.value_or(s.warmup);
  s.iterations = opt.iterations.value_or(s.iterations);
  s.trials = opt.trials.value_or(s.trials);
  s.mode = opt.mode == "kernel" ? engine::BenchMode::kernel : engine::BenchMode::contest;
  s.noise.max_noise = opt.max_noise;
  s.noise.max_time_s = opt.time_limit;
  s.time_reference = !opt.no_reference;
  s.use_cupti = opt.timer == "cupti";
  return s;
}

const core::SolutionConfig* find_solution(const core::ProjectConfig& project,
                                          const std::string& name, const char* flag) {
  for (const core::SolutionConfig& s : project.solutions) {
    if (s.name == name) {
      return &s;
    }
  }
  throw UsageError(fmt::format("{} {}: no such solution in {}", flag, name, project.file.string()));
}

// The other solution: --compare NAME and --baseline NAME name one of the project's;
// --baseline FILE.json is an official Solution, --baseline flashinfer the dataset's FlashInfer
// baseline of each definition (run in the Python bridge where its dependencies are).
bool baseline_is_file(const BenchOptions& opt) {
  return !opt.baseline.empty() && opt.baseline != "flashinfer" &&
         (fs::path(opt.baseline).extension() == ".json" || fs::is_regular_file(opt.baseline));
}

/// The project solution --compare or --baseline names; empty when there is none.
std::string project_other_name(const BenchOptions& opt) {
  if (!opt.compare.empty()) {
    return opt.compare;
  }
  return baseline_is_file(opt) || opt.baseline == "flashinfer" ? std::string() : opt.baseline;
}

// What bench runs on: verify's inputs, and the other solution, checked before the GPU is probed,
// then built for it.
struct BenchInputs : RunInputs {
  explicit BenchInputs(const BenchOptions& opt);

  /// --compare NAME, --baseline NAME (the project's) or --baseline FILE.json (official_baseline).
  const core::SolutionConfig* other = nullptr;
  std::optional<OfficialSolution> official_baseline;
  bool flashinfer_baselines = false; ///< --baseline flashinfer
};

BenchInputs::BenchInputs(const BenchOptions& opt)
    : RunInputs(selection_of(opt), !project_other_name(opt).empty()),
      flashinfer_baselines(opt.baseline == "flashinfer") {
  const std::string other_name = project_other_name(opt);
  other = other_name.empty() ? nullptr
                             : find_solution(*project, other_name,
                                             opt.compare.empty() ? "--baseline" : "--compare");
  if (baseline_is_file(opt)) {
    official_baseline = load_official_solution(opt.baseline, ds, opt.workloads);
    other = &official_baseline->config;
  }
  if (other) {
    for (const core::SolutionConfig* s : selected) {
      if (other->definition != s->definition) {
        throw UsageError(fmt::format("{} is for {}, {} for {}", other->name, other->definition,
                                     s->name, s->definition));
      }
    }
  }
  // A project's other solution is checked with the selected ones (an official one was checked
  // when loaded).
  check_and_probe(other && !official_baseline ? std::vector<const core::SolutionConfig*>{other}
                                              : std::vector<const core::SolutionConfig*>{},
                  "bench");
  if (official_baseline) {
    build_official_solution(*official_baseline, device.arch);
  }
}

// The report's run header: the device and its peaks (or a note that there are none).
core::BenchReport report_header(const BenchOptions& opt, const BenchInputs& in,
                                const std::optional<core::DevicePeaks>& peaks) {
  core::BenchReport report;
  report.fibkit_version = FIBKIT_VERSION;
  report.timestamp = core::iso_timestamp_now();
  report.gpu = in.device.name;
  report.arch = in.device.arch;
  report.mode = opt.mode;
  report.baseline_name = in.flashinfer_baselines ? std::optional<std::string>("flashinfer")
                         : in.other              ? std::optional<std::string>(in.other->name)
                                                 : std::nullopt;
  if (peaks) {
    report.device_peaks =
        fmt::format("{}: HBM {:.2f} TB/s, BF16 {:.0f} TFLOP/s, FP8 {:.0f} "
                    "TFLOP/s dense ({})",
                    peaks->model, peaks->hbm_bytes_per_s / 1e12, peaks->bf16_dense_flops / 1e12,
                    peaks->fp8_dense_flops / 1e12, peaks->source);
  } else {
    report.notes.push_back("no datasheet peaks known for " + in.device.name + ": no roofline");
  }
  return report;
}

// What one workload gave, as a report row takes it.
core::WorkloadFigures figures_of(const WorkloadOutcome& o) {
  const engine::WorkloadBench& b = o.result;
  core::WorkloadFigures f;
  f.solution = o.solution.name;
  f.definition = o.definition.name;
  f.workload_uuid = o.workload.uuid;
  f.index = o.index;
  f.axes = axes_text(o.workload);
  f.status = std::string(core::status_name(b.verdict.status));
  f.log = b.verdict.log;
  if (b.solution) {
    core::RowTimings t;
    t.latency_ms = b.solution->latency_ms;
    t.trial_ms = b.solution->trial_ms;
    t.samples_ms = b.solution->samples_ms;
    t.converged = b.solution->converged;
    if (b.reference) {
      t.reference_ms = b.reference->latency_ms;
    }
    if (b.other) {
      t.baseline_ms = b.other->latency_ms;
    }
    f.timings = t;
  }
  if (b.other) {
    f.other_samples_ms = b.other->samples_ms;
  }
  f.other_error = b.other_error;
  f.cost = b.cost;
  return f;
}

// The bench report: a row per workload (core::make_bench_row) and the run's notes; at the end
// the table or JSON on stdout, and bench.json and report.html unless --no-report.
class ReportSink : public WorkloadSink {
public:
  ReportSink(const BenchOptions& opt, const Context& ctx, const BenchInputs& in)
      : m_opt(opt), m_ctx(ctx) {
    m_rows.peaks = core::find_device_peaks(in.device.name);
    if (!opt.compare.empty()) {
      // `--solution-json packed.json --compare NAME` usually times a solution beside itself as
      // the project builds it: say which A is.
      m_rows.compare_a = in.other->name + (opt.solution_json.empty() ? "" : " (the project's)");
    }
    m_report = report_header(opt, in, m_rows.peaks);
  }

  core::BenchReport& report() { return m_report; }

  void workload(const WorkloadOutcome& o) override {
    const engine::WorkloadBench& b = o.result;
    if (b.verdict.synthesized && !m_warned_synth) {
      m_report.notes.push_back("some safetensors blobs are missing: structured stand-ins were "
                               "used (`fibkit synth --dataset DIR` writes them once)");
      m_warned_synth = true;
    }
    if (!b.timer.empty() && m_report.timer.empty()) {
      m_report.timer = b.timer == "cupti" ? "cupti" : "cuda-events (fallback)";
      if (!b.fallback.empty()) {
        m_report.notes.push_back("CUDA events instead of CUPTI: " + b.fallback);
        spdlog::warn("timing with CUDA events, not CUPTI: {}", b.fallback);
      }
    }
    m_report.rows.push_back(
        core::make_bench_row(figures_of(o), m_rows, core::uses_fp8_tensor_cores(o.definition)));
  }

  void finish(const LoopTotals& /*totals*/) override {
    if (m_report.timer.empty()) {
      m_report.timer = m_opt.timer == "cupti" ? "cupti" : "cuda-events";
    }
    if (m_opt.json) {
      fmt::print("{}\n", core::report_to_json(m_report));
    } else {
      fmt::print("{}", core::render_table(m_report, m_ctx.color_stdout));
    }
    if (!m_opt.no_report) {
      const fs::path out = m_opt.out;
      util::write_file_atomic(out / "bench.json", core::report_to_json(m_report));
      util::write_file_atomic(out / "report.html", core::render_html(m_report));
    }
  }

private:
  const BenchOptions& m_opt;
  const Context& m_ctx;
  core::RowSettings m_rows;
  core::BenchReport m_report;
  bool m_warned_synth = false;
};

// bench's set-up of one solution: its counts, the other solution, where the reference runs, the
// runner built and checked (falling back to the native reference when the Python bridge, wanted
// only for the speedups, does not start), and the report's notes about them.
class BenchSetup {
public:
  BenchSetup(const BenchOptions& opt, const Context& ctx, const BenchInputs& in,
             const engine::BuildSettings& build, core::BenchReport& report)
      : m_opt(opt), m_ctx(ctx), m_in(in), m_build(build), m_report(report) {}

  std::unique_ptr<SolutionRunner> operator()(const core::SolutionConfig& s,
                                             const core::Definition& def);

private:
  std::unique_ptr<SolutionRunner> checked_runner(const core::SolutionConfig& s,
                                                 const core::Definition& def,
                                                 const SolutionRunner::Options& options,
                                                 engine::BenchSettings settings);
  void add_notes(const core::Definition& def, const SolutionRunner& runner,
                 const SolutionRunner::Options& options);

  const BenchOptions& m_opt;
  const Context& m_ctx;
  const BenchInputs& m_in;
  const engine::BuildSettings& m_build;
  core::BenchReport& m_report;
  /// --baseline flashinfer: the current definition's, kept while its runner lives.
  std::optional<OfficialSolution> m_def_baseline;
};

std::unique_ptr<SolutionRunner> BenchSetup::operator()(const core::SolutionConfig& s,
                                                       const core::Definition& def) {
  const BenchOptions& opt = m_opt;
  engine::BenchSettings settings = counts_for(opt, def);
  settings.gpu_name = m_in.device.name;
  if (!opt.no_cache) {
    settings.latency_cache_dir = core::LatencyCache::default_dir().string();
  }
  m_report.warmup = settings.warmup;
  m_report.iterations = settings.iterations;
  m_report.trials = settings.trials;

  SolutionRunner::Options options =
      common_runner_options(m_in, def, {}, opt.preset, opt.seed, opt.reference, opt.call_from);
  options.trials = settings.trials; // correctness on as many input sets, as officially
  // The other solution of this definition: the project's, an official file's, or the
  // dataset's FlashInfer baseline.
  m_def_baseline.reset();
  const OfficialSolution* official_other =
      m_in.official_baseline ? &*m_in.official_baseline : nullptr;
  if (m_in.flashinfer_baselines) {
    if (const core::Solution* fi = flashinfer_baseline(m_in.ds, def.name)) {
      m_def_baseline =
          official_solution(*fi, m_in.ds.label + ": " + fi->name, m_in.ds, opt.workloads);
      build_official_solution(*m_def_baseline, m_in.device.arch);
      official_other = &*m_def_baseline;
    } else {
      m_report.notes.push_back(
          fmt::format("{}: the dataset has no FlashInfer baseline solution", def.name));
    }
  }
  options.other = official_other ? &official_other->config : m_in.other;
  if (official_other) {
    place_official(*official_other, false, options.other_library, options.other_python);
  }
  const bool native = has_native_reference(def.name);
  // The official speedup_factor divides the Python reference's latency.
  options.python_timed = !opt.no_reference && (opt.speedup_reference != "native" || !native);
  std::unique_ptr<SolutionRunner> runner;
  try {
    runner = checked_runner(s, def, options, settings);
  } catch (const Error& e) {
    // auto: without a working Python (no python3, no torch, no GPU in torch) the speedups are
    // over the native reference, and the report says so.
    const bool bridge_only_for_speedup =
        options.python_timed && !options.python_checks && !options.python_solution;
    if (!(bridge_only_for_speedup && opt.speedup_reference == "auto" && native)) {
      throw;
    }
    spdlog::warn("speedups over fibkit's native reference: the Python bridge did not start: {}",
                 e.what());
    options.python_timed = false;
    runner = checked_runner(s, def, options, settings);
  }
  m_report.reference_kind = options.python_timed ? "python" : "native";
  add_notes(def, *runner, options);
  return runner;
}

// A runner with `options`, checked; its workers time with `settings`, whose latency cache is
// keyed by the reference that is timed.
std::unique_ptr<SolutionRunner> BenchSetup::checked_runner(const core::SolutionConfig& s,
                                                           const core::Definition& def,
                                                           const SolutionRunner::Options& options,
                                                           engine::BenchSettings settings) {
  settings.reference_hash =
      options.python_timed ? python_reference_hash(def) : reference_hash(def.name);
  WorkloadFn work = [settings](WorkerState& state, const core::Workload& w) {
    // The other solution as the runner prepared it (none when a baseline cannot run here).
    return engine::bench_workload(state.job, settings, state.other_solution, w, *state.runtime,
                                  state.gpu_timer(settings.use_cupti));
  };
  auto runner =
      std::make_unique<SolutionRunner>(m_in.ds.set, def, s, m_build, options, std::move(work));
  runner->check(std::chrono::milliseconds(static_cast<long long>(m_opt.timeout * 1000)));
  return runner;
}

// Why the baseline cannot run here, and what the speedups divide (also on stderr). `options`
// are those the runner was made with (its own have no other solution when it cannot run).
void BenchSetup::add_notes(const core::Definition& def, const SolutionRunner& runner,
                           const SolutionRunner::Options& options) {
  if (!runner.other_problem().empty()) {
    const std::string problem = runner.other_problem().substr(0, runner.other_problem().find('\n'));
    spdlog::warn("{}: the baseline {} cannot run here, timing without it: {}", def.name,
                 options.other->name, problem);
    m_report.notes.push_back(fmt::format("{}: the baseline {} cannot run here: {}", def.name,
                                         options.other->name, problem));
  }
  if (!m_opt.no_reference) {
    const std::string note =
        fmt::format("{}: speedups over {}{}", def.name,
                    options.python_timed ? "the definition's Python reference (as the official "
                                           "speedup_factor; timed with CUDA events around each "
                                           "call, as flashinfer-bench 0.1.2 times it)"
                                         : "fibkit's native fp32 reference (not the official "
                                           "speedup_factor)",
                    runner.python_note().empty() ? "" : "; Python bridge: " + runner.python_note());
    m_report.notes.push_back(note);
    if (!m_opt.json && !m_ctx.quiet) {
      fmt::print(stderr, "{}\n", note);
    }
  }
}

ExitCode run_bench(const BenchOptions& opt, const Context& ctx) {
  if (!opt.baseline.empty() && !opt.compare.empty()) {
    throw UsageError("--baseline and --compare are alternatives: give one");
  }
  const BenchInputs in(opt);
  std::optional<util::DiskCache> cache = open_compile_cache();
  engine::BuildSettings build;
  build.cache = cache ? &*cache : nullptr;

  ReportSink report(opt, ctx, in);
  TraceSink traces(opt.out, in.device.name, TraceSink::When::at_finish);
  std::vector<WorkloadSink*> sinks = {&report};
  if (!opt.no_report) {
    sinks.push_back(&traces);
  }
  BenchSetup setup(opt, ctx, in, build, report.report());

  LoopSettings loop;
  loop.workloads = opt.workloads;
  loop.timeout = std::chrono::milliseconds(static_cast<long long>(opt.timeout * 1000));
  loop.progress = !opt.json && ::isatty(STDERR_FILENO) && !ctx.quiet;
  loop.progress_names_solution = true;
  loop.setup = [&setup](const core::SolutionConfig& s, const core::Definition& def) {
    return setup(s, def);
  };
  const LoopTotals totals = run_workload_loop(in.ds, in.selected, loop, sinks);
  if (!opt.no_report && !ctx.quiet) {
    fmt::print(stderr,
               "wrote {0}/bench.json, {0}/report.html and official traces under {0}/traces/\n",
               fs::path(opt.out).string());
  }
  return totals.failed ? ExitCode::failed : ExitCode::ok;
}

} // namespace

Command register_bench(CLI::App& app) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Verify, then time solutions on every workload as the official evaluator does "
               "(or in a low-noise kernel mode), with speedups over the definition's Python "
               "reference as the official traces give them (needs a GPU)");
  sub->add_option("-c,--config", opt->config,
                  "Project config (default: config.toml here or in a parent directory)");
  sub->add_option("-s,--solution", opt->solution, "Time only this solution (default: all)");
  sub->add_option("--solution-json", opt->solution_json,
                  "Time an official Solution JSON instead of the project's solutions: cuda/cpp "
                  "with the TVM-FFI binding (e.g. what `fibkit pack` wrote: what you submit), or "
                  "python/triton (run in a python3 child); --compare NAME puts a project "
                  "solution beside it")
      ->excludes("-s");
  add_call_from_option(*sub, opt->call_from);
  sub->add_option("--definition", opt->definition, "Time only the solutions of this definition");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet (default: $FIB_DATASET_PATH, else the embedded examples)");
  sub->add_option("--workloads", opt->workloads,
                  "Comma-separated workload indices or uuid prefixes (default: all)");
  sub->add_option("--mode", opt->mode,
                  "contest (the official method, the default) or kernel (launch gaps hidden, "
                  "samples until the noise target)")
      ->check(CLI::IsMember({"contest", "kernel"}));
  sub->add_option("--preset", opt->preset,
                  "official (defaults) or contest (the contest's per-definition counts and "
                  "tolerances: GDN prefill 1/5/3, MoE atol 1 rtol 0.3 ratio 0.9)")
      ->check(CLI::IsMember({"official", "contest"}));
  sub->add_option("--warmup", opt->warmup, "Warmup calls per trial (default 10)")
      ->check(CLI::Range(0, 100000));
  sub->add_option("--iterations", opt->iterations, "Timed calls per trial (default 50)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--trials", opt->trials, "Input sets (default 3)")->check(CLI::Range(1, 1000));
  sub->add_option("--max-noise", opt->max_noise,
                  "Kernel mode: relative standard deviation to reach (default 0.005)");
  sub->add_option("--time-limit", opt->time_limit,
                  "Kernel mode: seconds of sampling per trial at most (default 15)");
  sub->add_option("--seed", opt->seed, "Seed of the random inputs (default 0)");
  sub->add_option("--timeout", opt->timeout,
                  "Seconds per workload, reference timing included (default 900)");
  sub->add_option("--baseline", opt->baseline,
                  "A solution to time alongside, giving a second speedup column and the contest "
                  "score (mean baseline/solution latency, 0 if any workload fails): a project "
                  "solution's name, an official Solution JSON file, or `flashinfer` for the "
                  "dataset's FlashInfer baseline of each definition (Python; runs where its "
                  "dependencies are installed)");
  sub->add_option("--compare", opt->compare,
                  "A/B: time this other solution interleaved with the first and say whether "
                  "the difference exceeds the run-to-run spread");
  sub->add_option("--reference", opt->reference,
                  "What the outputs are checked against: native (fibkit's fp32 CUDA reference), "
                  "python (the definition's Python run in a python3 child) or auto (native where "
                  "fibkit has one; the default)")
      ->check(CLI::IsMember({"native", "python", "auto"}));
  sub->add_option("--speedup-reference", opt->speedup_reference,
                  "Whose latency the speedup divides: python (the definition's Python run "
                  "through torch, timed by the contest method in a python3 child: the official "
                  "speedup_factor), native (fibkit's fp32 CUDA reference) or auto (python when "
                  "python3 with torch runs here, else native; the default)")
      ->check(CLI::IsMember({"native", "python", "auto"}));
  sub->add_flag("--no-reference", opt->no_reference,
                "Do not time the reference (as --no-profile-baseline: speedup 0)");
  sub->add_flag("--no-latency-cache", opt->no_cache,
                "Time the reference again even when its latency is cached");
  sub->add_option("--timer", opt->timer, "cupti (default) or events (CUDA events)")
      ->check(CLI::IsMember({"cupti", "events"}));
  sub->add_flag("--json", opt->json, "Print the JSON report on stdout instead of the table");
  sub->add_option("-o,--out", opt->out,
                  "Directory for bench.json, report.html and traces/ (default fibkit-results)");
  sub->add_flag("--no-report", opt->no_report, "Write no files");
  return {sub, [opt](const Context& ctx) { return run_bench(*opt, ctx); }, NeedsGpu::yes, {}};
}

} // namespace fibkit::commands
