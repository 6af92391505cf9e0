// fibkit init: write a complete starter project for a contest track.
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/project/templates.hpp"
#include "fibkit/core/trace/tracks.hpp"
#include "fibkit/util/file.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdio.h>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct InitOptions {
  std::string track;
  std::string dir = ".";
  bool force = false;
  std::optional<std::string> author;
  std::optional<std::string> name;
};

// `git config user.name` where git and a name exist, else "".
std::string git_user_name() {
  std::FILE* pipe = ::popen("git config --get user.name 2>/dev/null", "r");
  if (!pipe) {
    return "";
  }
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe)) {
    out += buffer;
  }
  if (::pclose(pipe) != 0) {
    return "";
  }
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) {
    out.pop_back();
  }
  return out;
}

ExitCode run_init(const InitOptions& opt, const Context&) {
  core::StarterIdentity identity;
  if (opt.author) {
    if (opt.author->empty()) {
      throw UsageError("--author: the name must not be empty");
    }
    identity.author = *opt.author;
  } else {
    identity.author = git_user_name();
  }
  const bool placeholder = identity.author.empty();
  if (placeholder) {
    identity.author = std::string(core::k_placeholder_author);
  }
  if (opt.name) {
    identity.name_prefix = *opt.name;
  } else if (!placeholder) {
    identity.name_prefix = core::name_slug(identity.author);
  }
  const std::vector<core::ProjectFile> files = core::starter_project(opt.track, identity);
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
  spdlog::info("created a {} project in {} ({} files), author \"{}\"; next: cd {} && fibkit "
               "build",
               opt.track, dir.string(), files.size(), identity.author, dir.string());
  if (placeholder) {
    spdlog::warn("no --author and no `git config user.name`: config.toml says author = \"{}\"; "
                 "set your name or team there before `fibkit pack` (it refuses the placeholder)",
                 core::k_placeholder_author);
  }
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
  sub->add_option("--author", opt->author,
                  "Author of the solutions (default: `git config user.name`, else a placeholder "
                  "that pack refuses until you set it)");
  sub->add_option("--name", opt->name,
                  "Prefix of the solution names, e.g. my-team -> my-team-gdn-decode (default: "
                  "from the author)");
  return {sub, [opt](const Context& ctx) { return run_init(*opt, ctx); }};
}

} // namespace fibkit::commands
