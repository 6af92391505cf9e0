// The command line: global options, one subcommand per file in src/commands/ (their table is
// src/commands/command_table.hpp, private, with CLI11), and the single place where errors
// become messages and exit codes.
#pragma once

#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/terminal.hpp"

#include <optional>
#include <string>

namespace fibkit::commands {

/// State shared by all subcommands, filled from the global options before a command runs.
struct Context {
  bool color_stdout = false; ///< colour results on stdout
  bool color_stderr = false; ///< colour messages on stderr
  bool quiet = false;        ///< -q: errors only
  std::string log_level;     ///< the level the log runs at ("info", "debug", ...)
  std::string log_from;      ///< what chose it ("-v", "$FIBKIT_LOG", "default", ...)
  std::string color_from;    ///< what decided colour on stdout
};

/// Parses argv, runs the chosen subcommand, prints errors as `fibkit: error: ...` and returns the
/// process exit code (see ExitCode).
int run_app(int argc, char** argv);

/// The compile cache in its default directory (util::DiskCache::default_dir), or nullopt with a
/// warning when it cannot be used there (a read-only or foreign directory): a cache problem
/// slows a command down, it never stops it. nullopt without a warning when `enabled` is false.
std::optional<util::DiskCache> open_compile_cache(bool enabled = true);

} // namespace fibkit::commands
