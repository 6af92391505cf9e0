// fibkit pack: the official Solution JSON of the project's solution(s), on stdout, in a file, or
// as a submission tree with one folder per definition.
#include "fibkit/engine/pack.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/file.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct PackOptions {
  std::string config;
  std::string solution;
  std::string output;
  std::string out_dir;
  std::optional<std::string> dataset;
  bool dry_run = false;
  bool embed_cubin = false;
  std::vector<std::string> archs;
  bool no_cache = false;
};

// Packs one solution for the official evaluator: the sources plus the generated TVM-FFI entry
// (engine/pack), checked against the definition.
core::Solution pack_checked(const core::SolutionConfig& s, const core::Dataset& ds,
                            const PackOptions& opt, util::DiskCache* cache) {
  const core::Definition* def = ds.set.find_definition(s.definition);
  if (def == nullptr) {
    if (!s.launches.empty()) {
      throw Error(fmt::format("{}: definition \"{}\" is not in the dataset ({}): pack needs it to "
                              "generate the host entry (give --dataset)",
                              s.where, s.definition, ds.label));
    }
    spdlog::warn("{}: definition \"{}\" is not in the dataset ({}): packed as written, unchecked",
                 s.where, s.definition, ds.label);
    return core::pack_solution(s);
  }
  engine::PackOptions po;
  po.mode =
      (opt.embed_cubin || s.build.embed_cubin) ? engine::PackMode::cubin : engine::PackMode::source;
  po.arches = opt.archs;
  po.build.cache = cache;
  po.workloads = &ds.set.workloads_of(def->name);
  po.generator = std::string("fibkit ") + FIBKIT_VERSION;
  engine::PackedSolution packed = engine::pack_for_official(s, *def, po);
  for (const std::string& w : packed.warnings) {
    spdlog::warn("{}", w);
  }
  if (!s.launches.empty()) {
    // Source mode: nvcc for the GPU's plain arch is another compiler and target than fibkit's
    // NVRTC build, so another binary, measurably faster or slower (docs/pack.md).
    spdlog::info("{}: {} mode, entry {}{}", s.name,
                 po.mode == engine::PackMode::cubin ? "cubin" : "source",
                 packed.solution.spec.entry_point,
                 po.mode == engine::PackMode::cubin
                     ? ""
                     : " (the official builder compiles it with nvcc for the GPU's plain arch: "
                       "not the binary fibkit timed; `fibkit bench --solution-json` times what "
                       "you submit, --embed-cubin submits fibkit's cubins)");
  }
  return std::move(packed.solution);
}

ExitCode run_pack(const PackOptions& opt, const Context&) {
  if (!opt.output.empty() && !opt.out_dir.empty()) {
    throw UsageError("--output and --out-dir exclude each other");
  }
  for (const std::string& arch : opt.archs) {
    if (const std::string problem = cuda::arch_problem(arch); !problem.empty()) {
      throw UsageError(fmt::format("--arch {}: {}", arch, problem));
    }
  }
  const core::ProjectConfig project = core::load_project_config(opt.config);
  const core::Dataset ds = core::load_dataset(opt.dataset);
  std::optional<util::DiskCache> cache = open_compile_cache(!opt.no_cache);
  util::DiskCache* const cache_ptr = cache ? &*cache : nullptr;

  if (!opt.out_dir.empty()) {
    // Pack everything first, write only when every solution is valid.
    std::vector<std::pair<fs::path, std::string>> files;
    for (const core::SolutionConfig& s : project.solutions) {
      if (!opt.solution.empty() && s.name != opt.solution) {
        continue;
      }
      const fs::path target = fs::path(opt.out_dir) / s.definition / "solution.json";
      for (const auto& [existing, _] : files) {
        if (existing == target) {
          throw Error(fmt::format("{}: two solutions of {} would both be written to {}", s.where,
                                  s.definition, target.string()));
        }
      }
      files.emplace_back(target, core::solution_to_json(pack_checked(s, ds, opt, cache_ptr)));
    }
    if (files.empty()) {
      project.select(opt.solution); // throws the "no solution named" error
    }
    for (const auto& [path, text] : files) {
      if (!opt.dry_run) {
        util::write_file_atomic(path, text);
      }
      spdlog::info("{} {}", opt.dry_run ? "would write" : "wrote", path.string());
    }
    return ExitCode::ok;
  }

  const core::SolutionConfig& s = project.select(opt.solution);
  const std::string text = core::solution_to_json(pack_checked(s, ds, opt, cache_ptr));
  if (opt.dry_run) {
    spdlog::info("solution \"{}\" for {} is valid ({} bytes)", s.name, s.definition, text.size());
  } else {
    // "-" or no -o is stdout; a device, FIFO or symlink is written through (util::write_output).
    util::write_output(opt.output.empty() ? "-" : opt.output, text);
    if (!opt.output.empty() && opt.output != "-") {
      spdlog::info("wrote {}", opt.output);
    }
  }
  return ExitCode::ok;
}

} // namespace

Command register_pack(CLI::App& app) {
  auto opt = std::make_shared<PackOptions>();
  CLI::App* sub = app.add_subcommand(
      "pack",
      "Write the official solution.json with a generated TVM-FFI host entry (stdout, -o FILE, "
      "or --out-dir DIR per definition)");
  sub->add_option("-c,--config", opt->config,
                  "Project config (default: config.toml here or in a parent directory)");
  sub->add_option("-s,--solution", opt->solution, "The solution to pack, by name");
  sub->add_option("-o,--output", opt->output,
                  "Write to FILE instead of stdout (atomically for a regular file; through a "
                  "device, FIFO or symlink; - is stdout)");
  sub->add_option("--out-dir", opt->out_dir,
                  "Write DIR/<definition>/solution.json for every solution (a contest submission "
                  "tree)");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet with the definitions to check against (default: $FIB_DATASET_PATH, "
                  "else the embedded examples)");
  sub->add_flag("--embed-cubin", opt->embed_cubin,
                "Cubin mode: embed fibkit's NVRTC cubins in the generated entry (keeps sm_100a / "
                "sm_90a code alive under the official builder's plain sm_100); also [build] "
                "embed_cubin = true");
  sub->add_option("--arch", opt->archs,
                  "Cubin mode: an arch to embed (repeatable; default: the config's [build] arch)");
  sub->add_flag("--no-cache", opt->no_cache, "Compile without the compile cache");
  sub->add_flag("--dry-run", opt->dry_run, "Validate only; write nothing");
  return {sub, [opt](const Context& ctx) { return run_pack(*opt, ctx); }};
}

} // namespace fibkit::commands
