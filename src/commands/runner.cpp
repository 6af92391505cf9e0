#include "fibkit/commands/runner.hpp"

#include "fibkit/commands/app.hpp"
#include "fibkit/core/embedded.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/engine/isolation.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"

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
    (void)select_workloads(ds.set.workloads_of(def->name), workloads);
  }
}

std::optional<core::ProjectConfig> load_reference(const std::string& definition,
                                                  const fs::path& dir) {
  const std::string prefix = "references/" + definition + "/";
  bool found = false;
  for (const core::EmbeddedFile& f : core::embedded_files()) {
    if (f.path.rfind(prefix, 0) == 0) {
      util::write_file_atomic(dir / std::string(f.path.substr(prefix.size())),
                              std::string(f.content));
      found = true;
    }
  }
  if (!found) {
    return std::nullopt;
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
      m_options(std::move(options)), m_work(std::move(work)),
      m_worker([this](std::uint64_t index) { return serve(index); }) {
  std::string pattern = (fs::temp_directory_path() / "fibkit-reference-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error(fmt::format("cannot create a scratch directory {}", pattern));
  }
  m_scratch = pattern;
  std::optional<core::ProjectConfig> reference = load_reference(definition.name, m_scratch);
  if (!reference) {
    std::error_code ec;
    fs::remove_all(m_scratch, ec);
    throw Error(fmt::format("no native reference for {} (fibkit has them for the five contest "
                            "definitions)",
                            definition.name));
  }
  m_reference_project = std::move(*reference);
  m_tolerance = core::resolve_tolerance(definition, m_options.tolerance);
}

SolutionRunner::~SolutionRunner() {
  m_worker.stop();
  std::error_code ec;
  fs::remove_all(m_scratch, ec);
}

void SolutionRunner::prepare(WorkerState& state) const {
  const std::string& arch = m_options.arch;
  state.solution = engine::build_solution(m_solution, arch, m_build);
  engine::check_build(m_solution, m_definition, state.solution);
  state.reference = engine::build_solution(reference(), arch, m_build);
  engine::check_build(reference(), m_definition, state.reference);
  if (m_options.other) {
    state.other = engine::build_solution(*m_options.other, arch, m_build);
    engine::check_build(*m_options.other, m_definition, state.other);
  }
  engine::VerifyJob& job = state.job;
  job.set = &m_set;
  job.definition = &m_definition;
  job.solution = &m_solution;
  job.solution_build = &state.solution;
  job.reference = &reference();
  job.reference_build = &state.reference;
  job.arch = arch;
  job.tolerance = m_tolerance;
  job.seed = m_options.seed;
  job.trials = m_options.trials;
  job.dump_root = m_options.dump_root;
}

void SolutionRunner::check(std::chrono::milliseconds timeout) {
  const engine::IsolatedResult checked = engine::run_isolated(
      [&] {
        WorkerState state;
        prepare(state);
        std::string warnings;
        for (const std::string& w : state.solution.warnings) {
          warnings += w + "\n";
        }
        return warnings;
      },
      timeout);
  if (checked.outcome != engine::IsolatedResult::Outcome::ok) {
    throw Error(checked.outcome == engine::IsolatedResult::Outcome::failed
                    ? checked.payload
                    : "building " + m_solution.name + ": " + engine::describe(checked) + "\n" +
                          checked.log);
  }
  if (!checked.payload.empty()) {
    spdlog::warn("{}", checked.payload.substr(0, checked.payload.size() - 1));
  }
}

std::string SolutionRunner::serve(std::uint64_t index) {
  if (!m_state) {
    m_state = std::make_unique<WorkerState>();
    prepare(*m_state);
    m_state->runtime.emplace(m_options.arch);
  }
  const core::Workload& w = m_set.workloads_of(m_definition.name).at(index).workload;
  return engine::workload_bench_to_json(m_work(*m_state, w));
}

engine::WorkloadBench SolutionRunner::run(std::size_t index, std::chrono::milliseconds timeout) {
  engine::WorkloadBench result;
  if (m_options.no_isolation) {
    try {
      result = engine::workload_bench_from_json(serve(index));
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

std::string reference_hash(const std::string& definition) {
  const std::string prefix = "references/" + definition + "/";
  std::string all;
  for (const core::EmbeddedFile& f : core::embedded_files()) {
    if (f.path.rfind(prefix, 0) == 0) {
      all += std::string(f.path) + '\0' + std::string(f.content) + '\0';
    }
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
