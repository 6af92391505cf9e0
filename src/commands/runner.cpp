#include "fibkit/commands/runner.hpp"

#include "fibkit/commands/app.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/engine/isolation.hpp"
#include "fibkit/engine/official_build.hpp"
#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <fmt/format.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <sstream>
#include <stdlib.h>

namespace fs = std::filesystem;

namespace fibkit::commands {

DeviceProbe probe_device(const std::string& command) {
  const engine::IsolatedResult probe = engine::run_isolated(
      [] {
        cuda::Driver::get(); // throws "no usable CUDA device: <why>"
        const cuda::Context ctx;
        return cuda::detect_arch() + "\n" + ctx.info().name;
      },
      std::chrono::seconds(60));
  if (probe.outcome != engine::IsolatedResult::Outcome::ok) {
    throw NoDeviceError(fmt::format("fibkit {} needs a GPU: {}", command,
                                    probe.outcome == engine::IsolatedResult::Outcome::failed
                                        ? probe.payload
                                        : engine::describe(probe)));
  }
  const std::size_t nl = probe.payload.find('\n');
  return {probe.payload.substr(0, nl), probe.payload.substr(nl + 1)};
}

std::vector<const core::SolutionConfig*> select_solutions(const core::ProjectConfig& project,
                                                          const std::string& solution,
                                                          const std::string& definition) {
  std::vector<const core::SolutionConfig*> selected = project.selection(solution);
  if (definition.empty()) {
    return selected;
  }
  std::vector<const core::SolutionConfig*> kept;
  for (const core::SolutionConfig* s : selected) {
    if (s->definition == definition) {
      kept.push_back(s);
    }
  }
  if (kept.empty()) {
    std::string known;
    for (const core::SolutionConfig* s : selected) {
      known += (known.empty() ? "" : ", ") + s->definition;
    }
    throw UsageError(fmt::format(
        "--definition {}: no selected solution is for it (they are for: {})", definition, known));
  }
  return kept;
}

void check_before_device(const core::Dataset& ds,
                         const std::vector<const core::SolutionConfig*>& selected,
                         const std::string& workloads) {
  for (const core::SolutionConfig* s : selected) {
    const core::Definition* def = ds.set.find_definition(s->definition);
    if (!def) {
      throw Error(fmt::format("{}: definition \"{}\" is not in the dataset ({})", s->where,
                              s->definition, ds.label));
    }
    if (s->launches.empty()) {
      throw Error(fmt::format("{}: solution \"{}\" has no launch plan: verify and bench run its "
                              "kernels through [[solution.launch]] tables (docs/config.md)",
                              s->where, s->name));
    }
    core::check_launch_plan(*s, *def);
    // The kernel files exist (NVRTC, after the device probe, would say so only then).
    bool has_cu = false;
    for (const auto& [packed, file] : core::resolve_sources(*s)) {
      has_cu = has_cu || file.extension() == ".cu";
    }
    if (!has_cu) {
      throw Error(fmt::format("{}: solution \"{}\" has no .cu source in {}", s->where, s->name,
                              s->source_dir.string()));
    }
    (void)select_workloads(ds.set.workloads_of(def->name), workloads);
  }
}

OfficialSolution load_official_solution(const std::string& file, const core::Dataset& ds,
                                        const std::string& workloads) {
  return official_solution(core::load_solution(file, file), file, ds, workloads);
}

void place_official(const OfficialSolution& official, bool from_python,
                    const engine::TvmFfiLibrary*& library,
                    std::optional<engine::PythonCode>& python) {
  library = nullptr;
  python.reset();
  if (official.python) {
    python = engine::solution_code(official.solution);
  } else if (from_python) {
    python = engine::library_code(official.solution, official.library);
  } else {
    library = &official.library;
  }
}

const core::Solution* flashinfer_baseline(const core::Dataset& ds, const std::string& definition) {
  const auto it = ds.set.solutions.find(definition);
  if (it == ds.set.solutions.end()) {
    return nullptr;
  }
  for (const core::Solution& s : it->second) {
    if (s.author.rfind("flashinfer", 0) == 0) {
      return &s;
    }
  }
  return nullptr;
}

OfficialSolution official_solution(core::Solution solution, const std::string& file,
                                   const core::Dataset& ds, const std::string& workloads) {
  OfficialSolution o;
  o.solution = std::move(solution);
  const core::Solution& s = o.solution;
  o.python = s.spec.language == "python" || s.spec.language == "triton";
  if (!o.python && ((s.spec.language != "cuda" && s.spec.language != "cpp") ||
                    (s.spec.binding && *s.spec.binding != "tvm-ffi"))) {
    throw Error(fmt::format("{}: solution \"{}\" is language {} with binding {}: "
                            "--solution-json takes python and triton solutions, and cuda/cpp "
                            "solutions with the TVM-FFI binding",
                            file, s.name, s.spec.language, s.spec.binding.value_or("null")));
  }
  if (!o.python && !s.spec.destination_passing_style) {
    throw Error(fmt::format("{}: solution \"{}\" is value-returning "
                            "(destination_passing_style false): fibkit calls TVM-FFI solutions "
                            "destination-passing",
                            file, s.name));
  }
  const core::Definition* def = ds.set.find_definition(s.definition);
  if (!def) {
    throw Error(fmt::format("{}: definition \"{}\" is not in the dataset ({})", file, s.definition,
                            ds.label));
  }
  (void)select_workloads(ds.set.workloads_of(def->name), workloads);
  o.config.name = s.name;
  o.config.definition = s.definition;
  o.config.author = s.author;
  o.config.where = file;
  return o;
}

void build_official_solution(OfficialSolution& o, const std::string& arch) {
  if (o.python) {
    return; // loaded by the Python bridge in the worker
  }
  const auto start = std::chrono::steady_clock::now();
  const engine::OfficialBuild b =
      engine::build_official(o.solution, arch, util::DiskCache::writable_dir());
  spdlog::info("{}: {} with the official builder's flags ({}, {:.1f} s)", o.config.name,
               b.cached ? "built earlier" : "built", b.library.filename().string(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  spdlog::debug("{}", b.log);
  o.library.library = b.library;
  o.library.symbol = b.symbol;
  o.library.preload = b.preload;
}

namespace {

const std::string k_references = "references/";

// The embedded native reference of `definition`: the files under references/<definition>/.
std::vector<const core::EmbeddedFile*> native_reference_files(const std::string& definition) {
  const std::string prefix = k_references + definition + "/";
  std::vector<const core::EmbeddedFile*> out;
  for (const core::EmbeddedFile& f : core::embedded_files()) {
    if (f.path.rfind(prefix, 0) == 0) {
      out.push_back(&f);
    }
  }
  return out;
}

} // namespace

std::optional<core::ProjectConfig> load_reference(const std::string& definition,
                                                  const fs::path& dir) {
  const std::vector<const core::EmbeddedFile*> files = native_reference_files(definition);
  if (files.empty()) {
    return std::nullopt;
  }
  const std::size_t prefix = k_references.size() + definition.size() + 1;
  for (const core::EmbeddedFile* f : files) {
    util::write_file_atomic(dir / std::string(f->path.substr(prefix)), std::string(f->content));
  }
  return core::load_config(dir / "config.toml");
}

std::vector<std::size_t> select_workloads(const std::vector<core::Trace>& all,
                                          const std::string& spec) {
  std::vector<std::size_t> out;
  if (spec.empty()) {
    for (std::size_t i = 0; i < all.size(); ++i) {
      out.push_back(i);
    }
    return out;
  }
  std::stringstream ss(spec);
  for (std::string item; std::getline(ss, item, ',');) {
    bool matched = false;
    if (!item.empty() && item.find_first_not_of("0123456789") == std::string::npos) {
      const std::size_t i = std::stoul(item);
      if (all.empty()) {
        throw UsageError(fmt::format("--workloads: index {}: the definition has no workloads", i));
      }
      if (i >= all.size()) {
        throw UsageError(
            fmt::format("--workloads: index {} is out of range (0..{})", i, all.size() - 1));
      }
      out.push_back(i);
      continue;
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
      if (!item.empty() && all[i].workload.uuid.rfind(item, 0) == 0) {
        out.push_back(i);
        matched = true;
      }
    }
    if (!matched) {
      throw UsageError(fmt::format("--workloads: no workload uuid starts with \"{}\"", item));
    }
  }
  return out;
}

std::string axes_text(const core::Workload& w) {
  std::string out;
  for (const auto& [name, value] : w.axes) {
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", name, value);
  }
  return out;
}

engine::GpuTimer& WorkerState::gpu_timer(bool use_cupti) {
  if (!timer) {
    timer.emplace(runtime->context, job.arch, use_cupti);
  }
  return *timer;
}

SolutionRunner::SolutionRunner(const core::TraceSet& set, const core::Definition& definition,
                               const core::SolutionConfig& solution,
                               const engine::BuildSettings& build, Options options, WorkloadFn work)
    : m_set(set), m_definition(definition), m_solution(solution), m_build(build),
      m_options(std::move(options)), m_work(std::move(work)), m_worker([this](std::uint64_t index) {
        return engine::workload_bench_to_json(serve(index)); // the worker's payload to the parent
      }) {
  std::string pattern = (fs::temp_directory_path() / "fibkit-reference-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error(fmt::format("cannot create a scratch directory {}", pattern));
  }
  m_scratch = pattern;
  m_reference_project = load_reference(definition.name, m_scratch);
  if (!m_reference_project && !m_options.python_checks) {
    std::error_code ec;
    fs::remove_all(m_scratch, ec);
    throw Error(fmt::format("no native reference for {} (fibkit has them for the five contest "
                            "definitions): use --reference python to check against the "
                            "definition's own Python run",
                            definition.name));
  }
  m_tolerance = core::resolve_tolerance(definition, m_options.tolerance);
}

SolutionRunner::~SolutionRunner() {
  m_worker.stop();
  std::error_code ec;
  fs::remove_all(m_scratch, ec);
}

void SolutionRunner::prepare(WorkerState& state) const {
  const std::string& arch = m_options.arch;
  if (m_options.library == nullptr && !m_options.python_solution) {
    state.solution = engine::build_solution(m_solution, arch, m_build);
    engine::check_build(m_solution, m_definition, state.solution);
  }
  const core::SolutionConfig* native =
      m_reference_project ? &m_reference_project->solutions.front() : nullptr;
  if (native != nullptr && !m_options.python_checks) {
    state.reference = engine::build_solution(*native, arch, m_build);
    engine::check_build(*native, m_definition, state.reference);
  }
  if (m_options.other && m_options.other_library != nullptr) {
    state.other_solution = engine::OtherSolution{m_options.other, nullptr, m_options.other_library};
  } else if (m_options.other && !m_options.other_python) {
    state.other = engine::build_solution(*m_options.other, arch, m_build);
    engine::check_build(*m_options.other, m_definition, state.other);
    state.other_solution = engine::OtherSolution{m_options.other, &state.other};
  } // a Python one: start_bridge()
  engine::VerifyJob& job = state.job;
  job.set = &m_set;
  job.definition = &m_definition;
  job.solution = &m_solution;
  job.solution_build = &state.solution;
  job.solution_library = m_options.library;
  job.reference = native;
  job.reference_build = &state.reference;
  job.arch = arch;
  job.tolerance = m_tolerance;
  job.seed = m_options.seed;
  job.trials = m_options.trials;
  job.dump_root = m_options.dump_root;
}

namespace {
bool python_other(const SolutionRunner::Options& o) {
  return o.other != nullptr && o.other_python.has_value();
}

bool needs_bridge_for_more(const SolutionRunner::Options& o) {
  return o.python_checks || o.python_timed || o.python_solution.has_value();
}

bool needs_bridge(const SolutionRunner::Options& o) {
  return needs_bridge_for_more(o) || python_other(o);
}
} // namespace

void SolutionRunner::start_bridge(WorkerState& state) const {
  state.bridge = std::make_unique<engine::PythonBridge>(util::DiskCache::writable_dir());
  engine::VerifyJob& job = state.job;
  job.bridge = state.bridge.get();
  job.python_checks = m_options.python_checks;
  job.python_timed = m_options.python_timed;
  if (m_options.python_checks || m_options.python_timed) {
    job.python_reference = state.bridge->load(engine::reference_code(m_definition), m_definition);
  }
  if (m_options.python_solution) {
    job.python_solution = state.bridge->load(*m_options.python_solution, m_definition);
  }
}

void SolutionRunner::load_python_other(WorkerState& state) const {
  const int id = state.bridge->load(*m_options.other_python, m_definition);
  state.other_solution = engine::OtherSolution{m_options.other, nullptr, nullptr, id};
}

void SolutionRunner::check(std::chrono::milliseconds timeout) {
  const engine::IsolatedResult checked = engine::run_isolated(
      [&] {
        WorkerState state;
        prepare(state);
        util::JsonWriter out;
        out.begin_object();
        if (needs_bridge(m_options)) {
          // Python, torch, triton and the code's imports, checked before any workload runs. A
          // Python baseline that cannot run here (its dependency, e.g. flashinfer, is missing)
          // does not stop the run: the parent goes on without it.
          const cuda::Context context;
          std::string other_problem;
          if (needs_bridge_for_more(m_options)) {
            start_bridge(state); // the reference or solution must run: a failure stops here
          } else {
            try {
              start_bridge(state);
            } catch (const Error& e) {
              other_problem = e.what();
            }
          }
          if (state.bridge && python_other(m_options) && other_problem.empty()) {
            try {
              load_python_other(state);
            } catch (const Error& e) {
              other_problem = e.what();
            }
          }
          if (state.bridge) {
            const engine::PythonInfo& i = state.bridge->info();
            out.key("python").value(fmt::format(
                "python {} ({}), torch {}{}{}, tensors by {}", i.python, i.executable, i.torch,
                i.triton.empty() ? "" : ", triton " + i.triton,
                i.cupti.empty() ? ", no cupti-python (CUDA events)" : ", cupti-python " + i.cupti,
                state.bridge->transport_note()));
          }
          out.key("other_problem").value(other_problem);
        }
        std::string warnings;
        for (const std::string& w : state.solution.warnings) {
          warnings += w + "\n";
        }
        out.key("warnings").value(warnings).end_object();
        return out.take();
      },
      timeout);
  if (checked.outcome != engine::IsolatedResult::Outcome::ok) {
    throw Error(checked.outcome == engine::IsolatedResult::Outcome::failed
                    ? checked.payload
                    : "building " + m_solution.name + ": " + engine::describe(checked) + "\n" +
                          checked.log);
  }
  util::JsonParser parser;
  const util::JsonValue result = util::parse_json(parser, checked.payload, {"check child", 0});
  if (result.find("python")) {
    m_python_note = result.at("python").as_string();
    spdlog::info("Python bridge: {}", m_python_note);
  }
  if (result.find("other_problem") && !result.at("other_problem").as_string().empty()) {
    m_other_problem = result.at("other_problem").as_string();
    m_options.other = nullptr; // the workers run without it
    m_options.other_python.reset();
  }
  const std::string warnings = result.at("warnings").as_string();
  if (!warnings.empty()) {
    spdlog::warn("{}", warnings.substr(0, warnings.size() - 1));
  }
}

engine::WorkloadBench SolutionRunner::serve(std::uint64_t index) {
  if (!m_state) {
    m_state = std::make_unique<WorkerState>();
    prepare(*m_state);
    m_state->runtime.emplace(m_options.arch);
    if (needs_bridge(m_options)) {
      start_bridge(*m_state);
      if (python_other(m_options)) {
        load_python_other(*m_state);
      }
    }
  }
  const core::Workload& w = m_set.workloads_of(m_definition.name).at(index).workload;
  return m_work(*m_state, w);
}

engine::WorkloadBench SolutionRunner::run(std::size_t index, std::chrono::milliseconds timeout) {
  engine::WorkloadBench result;
  if (m_options.no_isolation) {
    try {
      result = serve(index); // in this process: no payload to encode
    } catch (const Error& e) {
      result.verdict.status = core::EvaluationStatus::runtime_error;
      result.verdict.log = e.what();
    }
    return result;
  }
  const engine::IsolatedResult r = m_worker.run(index, timeout);
  if (r.outcome == engine::IsolatedResult::Outcome::ok) {
    return engine::workload_bench_from_json(r.payload);
  }
  result.verdict.status = *engine::failure_status(r);
  result.verdict.log = engine::describe(r) + (r.log.empty() ? "" : "\n" + r.log);
  return result;
}

void progress_line(bool enabled, const std::string& text) {
  if (enabled) {
    fmt::print(stderr, "\r\033[K{}", text);
    std::fflush(stderr);
  }
}

std::string python_reference_hash(const core::Definition& definition) {
  return util::Hasher().update("python reference:" + definition.reference).hex_digest();
}

bool has_native_reference(const std::string& definition) {
  return !native_reference_files(definition).empty();
}

std::string reference_hash(const std::string& definition) {
  std::string all;
  for (const core::EmbeddedFile* f : native_reference_files(definition)) {
    all += std::string(f->path) + '\0' + std::string(f->content) + '\0';
  }
  return util::Hasher().update(all).hex_digest();
}

core::Trace make_trace(const core::Definition& def, const core::Workload& w,
                       const std::string& solution, const engine::WorkloadBench& b,
                       const std::string& hardware) {
  core::Trace t;
  t.definition = def.name;
  t.workload = w;
  t.solution = solution;
  core::Evaluation e;
  e.status = b.verdict.status;
  e.environment.hardware = hardware;
  e.environment.libs = {{"cuda", cuda::nvrtc_version()}, {"fibkit", FIBKIT_VERSION}};
  e.timestamp = core::iso_timestamp_now();
  e.log = b.verdict.log;
  e.correctness = b.verdict.correctness;
  if (e.status == core::EvaluationStatus::passed && b.solution) {
    core::Performance p;
    p.latency_ms = b.solution->latency_ms;
    if (b.reference) { // else as the official --no-profile-baseline: 0 and 0
      p.reference_latency_ms = b.reference->latency_ms;
      p.speedup_factor = b.solution->latency_ms > 0 ? p.reference_latency_ms / p.latency_ms : 0;
    }
    e.performance = p;
  }
  if (e.status != core::EvaluationStatus::passed &&
      e.status != core::EvaluationStatus::incorrect_numerical) {
    e.correctness.reset();
  }
  t.evaluation = e;
  return t;
}

std::string trace_file(const core::SolutionConfig& solution, const core::Definition& def) {
  return fmt::format("traces/{}/{}/{}.jsonl", solution.author.empty() ? "unknown" : solution.author,
                     def.op_type, def.name);
}

} // namespace fibkit::commands
