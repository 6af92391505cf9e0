// fibkit pack: the official Solution JSON of the project's solution(s), on stdout, in a file, or
// as a submission tree with one folder per definition.
#include "fibkit/commands/app.hpp"
#include "fibkit/core/config.hpp"
#include "fibkit/core/dataset.hpp"
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
};

// Packs one solution and checks its launch plan against the definition when the dataset has it.
core::Solution pack_checked(const core::SolutionConfig& s, const core::Dataset& ds) {
  if (const core::Definition* def = ds.set.find_definition(s.definition)) {
    core::check_launch_plan(s, *def);
  } else {
    spdlog::warn("{}: definition \"{}\" is not in the dataset ({}): its launch plan is not checked",
                 s.where, s.definition, ds.label);
  }
  return core::pack_solution(s);
}

ExitCode run_pack(const PackOptions& opt, const Context&) {
  if (!opt.output.empty() && !opt.out_dir.empty()) {
    throw UsageError("--output and --out-dir exclude each other");
  }
  const core::ProjectConfig project = core::load_project_config(opt.config);
  const core::Dataset ds = core::load_dataset(opt.dataset);

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
      files.emplace_back(target, core::solution_to_json(pack_checked(s, ds)));
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
  const std::string text = core::solution_to_json(pack_checked(s, ds));
  if (opt.dry_run) {
    spdlog::info("solution \"{}\" for {} is valid ({} bytes)", s.name, s.definition, text.size());
  } else if (!opt.output.empty()) {
    util::write_file_atomic(opt.output, text);
    spdlog::info("wrote {}", opt.output);
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  return ExitCode::ok;
}

} // namespace

Command register_pack(CLI::App& app) {
  auto opt = std::make_shared<PackOptions>();
  CLI::App* sub = app.add_subcommand(
      "pack",
      "Write the official solution.json (stdout, -o FILE, or --out-dir DIR per definition)");
  sub->add_option("-c,--config", opt->config,
                  "Project config (default: config.toml here or in a parent directory)");
  sub->add_option("-s,--solution", opt->solution, "The solution to pack, by name");
  sub->add_option("-o,--output", opt->output, "Write to FILE (atomically) instead of stdout");
  sub->add_option("--out-dir", opt->out_dir,
                  "Write DIR/<definition>/solution.json for every solution (a contest submission "
                  "tree)");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet with the definitions to check against (default: $FIB_DATASET_PATH, "
                  "else the embedded examples)");
  sub->add_flag("--dry-run", opt->dry_run, "Validate only; write nothing");
  return {sub, [opt](const Context& ctx) { return run_pack(*opt, ctx); }};
}

} // namespace fibkit::commands
