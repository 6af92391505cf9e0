// Private to src/commands: the command table, whose rows the subcommand files register with
// CLI11. CLI11 appears nowhere outside src/commands/.
#pragma once

#include "fibkit/commands/app.hpp"
#include "fibkit/util/error.hpp"

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace fibkit::commands {

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

} // namespace fibkit::commands
