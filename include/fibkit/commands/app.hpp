// The command table: global options, one subcommand per file in src/commands/, and the single
// place where errors become messages and exit codes.
#pragma once

#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/terminal.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

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

/// Whether a subcommand needs a GPU; `fibkit --help` lists them from the command table.
enum class NeedsGpu { no, yes, sometimes };

/// A registered subcommand: its CLI11 node and what runs when it is chosen.
struct Command {
  CLI::App* app = nullptr;
  std::function<ExitCode(const Context&)> run;
  NeedsGpu gpu = NeedsGpu::no;
  std::string gpu_note = {}; ///< for NeedsGpu::sometimes: when, e.g. "with --arch auto"
};

/// The `--help` footer of every command: exit codes, environment, and which commands need a GPU
/// (from `commands`, so it cannot go stale).
std::string help_footer(const std::vector<Command>& commands);

/// Each subcommand file defines one of these; it adds the subcommand and its options to `app`.
Command register_bench(CLI::App& app);
Command register_build(CLI::App& app);
Command register_env(CLI::App& app);
Command register_init(CLI::App& app);
Command register_list(CLI::App& app);
Command register_pack(CLI::App& app);
Command register_score(CLI::App& app);
Command register_synth(CLI::App& app);
Command register_verify(CLI::App& app);

/// verify's and bench's `--call-from native|python` (how a cuda/cpp --solution-json is called),
/// into `value`; it needs --solution-json, which must be added first.
void add_call_from_option(CLI::App& sub, std::string& value);

/// Parses argv, runs the chosen subcommand, prints errors as `fibkit: error: ...` and returns the
/// process exit code (see ExitCode).
int run_app(int argc, char** argv);

/// The compile cache in its default directory (util::DiskCache::default_dir), or nullopt with a
/// warning when it cannot be used there (a read-only or foreign directory): a cache problem
/// slows a command down, it never stops it. nullopt without a warning when `enabled` is false.
std::optional<util::DiskCache> open_compile_cache(bool enabled = true);

} // namespace fibkit::commands
