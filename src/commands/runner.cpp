#include "fibkit/commands/runner.hpp"

#include "fibkit/commands/app.hpp"
#include "fibkit/core/embedded.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/engine/isolation.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"

#include <fmt/format.h>

#include <sstream>

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
