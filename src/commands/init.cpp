// fibkit init: write a complete starter project for a contest track.
#include "fibkit/commands/app.hpp"
#include "fibkit/core/templates.hpp"
#include "fibkit/core/tracks.hpp"
#include "fibkit/util/file.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct InitOptions {
  std::string track;
  std::string dir = ".";
  bool force = false;
};

ExitCode run_init(const InitOptions& opt, const Context&) {
  const std::vector<core::ProjectFile> files = core::starter_project(opt.track);
  const fs::path dir(opt.dir);
  // Refuse before writing anything, so a refused init changes nothing.
  if (!opt.force) {
    std::string existing;
    std::error_code ec;
    for (const core::ProjectFile& f : files) {
      if (fs::exists(dir / f.path, ec)) {
        existing += fmt::format("\n  {}", (dir / f.path).string());
      }
    }
    if (!existing.empty()) {
      throw Error(fmt::format("refusing to overwrite existing files (use --force):{}", existing));
    }
  }
  for (const core::ProjectFile& f : files) {
    util::write_file_atomic(dir / f.path, f.content);
    spdlog::debug("wrote {}", (dir / f.path).string());
  }
  spdlog::info("created a {} project in {} ({} files); next: cd {} && fibkit build", opt.track,
               dir.string(), files.size(), dir.string());
  return ExitCode::ok;
}

} // namespace

Command register_init(CLI::App& app) {
  auto opt = std::make_shared<InitOptions>();
  CLI::App* sub = app.add_subcommand(
      "init", "Create a solution project for a contest track (config.toml, kernels, README)");
  sub->add_option("--track", opt->track, "Track: " + core::track_names())->required();
  sub->add_option("dir", opt->dir, "Project directory (default: the current directory)");
  sub->add_flag("-f,--force", opt->force, "Overwrite existing files");
  return {sub, [opt](const Context& ctx) { return run_init(*opt, ctx); }};
}

} // namespace fibkit::commands
