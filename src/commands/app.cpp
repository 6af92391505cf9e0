#include "fibkit/commands/app.hpp"
#include "fibkit_commit.h" // generated at build time: FIBKIT_COMMIT

#include "command_table.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "fibkit/util/file.hpp"
#include "fibkit/util/text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

namespace fibkit::commands {

namespace {

// Sets up the log and returns its level and what chose it.
std::pair<std::string, std::string> setup_logging(int verbosity, bool quiet, bool color) {
  auto logger = spdlog::stderr_color_mt("fibkit");
  logger->set_pattern("fibkit: %^%l%$: %v");
  if (!color) {
    // spdlog ignores NO_COLOR; fibkit decides.
    auto sink = std::dynamic_pointer_cast<spdlog::sinks::stderr_color_sink_mt>(logger->sinks()[0]);
    if (sink) {
      sink->set_color_mode(spdlog::color_mode::never);
    }
  }
  spdlog::level::level_enum level = spdlog::level::info;
  std::string from = "default";
  if (const char* env = std::getenv("FIBKIT_LOG"); env && *env) {
    level = spdlog::level::from_str(env);
    from = "$FIBKIT_LOG";
  }
  if (verbosity == 1) {
    level = spdlog::level::debug;
    from = "-v";
  } else if (verbosity >= 2) {
    level = spdlog::level::trace;
    from = "-vv";
  }
  if (quiet) {
    level = spdlog::level::err;
    from = "-q";
  }
  logger->set_level(level);
  spdlog::set_default_logger(logger);
  const spdlog::string_view_t name = spdlog::level::to_string_view(level);
  return {std::string(name.data(), name.size()), from};
}

// The global options as they may appear before the subcommand: long names, and short flags
// that can be bundled (-vv, -qv).
const std::vector<std::string> k_global_long{"--help", "--version", "--verbose", "--quiet",
                                             "--color"};
constexpr std::string_view k_global_short = "hvq";

bool is_global_option(const std::string& arg) {
  const std::string name = arg.substr(0, arg.find('='));
  if (std::find(k_global_long.begin(), k_global_long.end(), name) != k_global_long.end()) {
    return name == "--color" || name == arg;
  }
  return arg.size() >= 2 && arg[0] == '-' && arg[1] != '-' &&
         arg.find_first_not_of(k_global_short, 1) == std::string::npos;
}

// The closest of `names` to `arg` within two edits, or "".
std::string closest_name(const std::string& arg, const std::vector<std::string>& names) {
  std::string closest;
  std::size_t best = 3;
  for (const std::string& name : names) {
    if (const std::size_t d = util::edit_distance(arg, name); d < best) {
      best = d;
      closest = name;
    }
  }
  return closest;
}

// Checks the arguments before the subcommand: global options only, then a known subcommand.
// Returns the usage error to print, or "" when CLI11 may parse them. CLI11 alone would report
// an unknown subcommand as "A subcommand is required" and take the value of an unknown option
// ("--colour never") for the subcommand.
std::string check_leading_args(int argc, char** argv, const std::vector<Command>& commands) {
  std::vector<std::string> names;
  for (const Command& c : commands) {
    names.push_back(c.app->get_name());
  }
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--color") {
      ++i;
      continue;
    }
    if (arg == "--") {
      return "";
    }
    if (!arg.empty() && arg[0] == '-') {
      if (is_global_option(arg)) {
        continue;
      }
      const std::string name = arg.substr(0, arg.find('='));
      const std::string closest = closest_name(name, k_global_long);
      return fmt::format("unknown option \"{}\"{} (options before the subcommand: -v, -q, "
                         "--color, --help, --version; the subcommand's own come after it)",
                         name,
                         closest.empty() ? "" : fmt::format(", did you mean \"{}\"?", closest));
    }
    if (std::find(names.begin(), names.end(), arg) != names.end()) {
      return "";
    }
    std::string list;
    for (const std::string& n : names) {
      list += list.empty() ? n : ", " + n;
    }
    const std::string closest = closest_name(arg, names);
    return fmt::format("unknown subcommand \"{}\"{} (subcommands: {})", arg,
                       closest.empty() ? "" : fmt::format(", did you mean \"{}\"?", closest), list);
  }
  return "";
}

} // namespace

std::string help_footer(const std::vector<Command>& commands) {
  std::vector<std::string> always;
  std::vector<std::string> sometimes;
  for (const Command& c : commands) {
    if (c.gpu == NeedsGpu::yes) {
      always.push_back(c.app->get_name());
    } else if (c.gpu == NeedsGpu::sometimes) {
      sometimes.push_back(fmt::format("{} {}", c.app->get_name(), c.gpu_note));
    }
  }
  std::sort(always.begin(), always.end());
  std::string gpu;
  for (const std::string& n : always) {
    gpu += gpu.empty() ? n : ", " + n;
  }
  for (const std::string& n : sometimes) {
    gpu += gpu.empty() ? n : "; " + n;
  }
  return fmt::format(
      "Exit codes: 0 ok, 1 checks failed or invalid input, 2 usage error, 3 internal error,\n"
      "4 no GPU or CUDA driver.\n"
      "Global options (-q, -v, --color) go before or after the subcommand.\n"
      "Environment: FIB_DATASET_PATH (default dataset), FIB_CACHE_PATH (cache directory),\n"
      "NO_COLOR / CLICOLOR_FORCE (colour), FIBKIT_LOG (trace|debug|info|warn|error).\n"
      "Needs a GPU: {}.",
      gpu.empty() ? "nothing" : gpu);
}

int run_app(int argc, char** argv) {
  CLI::App app{"fibkit: compile, verify, benchmark and pack GPU kernels for FlashInfer-Trace "
               "definitions (the FlashInfer-Bench kernel contest, MLSys 2026)",
               "fibkit"};
  app.set_version_flag("--version",
                       fmt::format("fibkit {} (commit {})", FIBKIT_VERSION, FIBKIT_COMMIT));
  app.require_subcommand(1);
  // Global options are also accepted after the subcommand (`fibkit build -q`): subcommands
  // created from here on hand options they do not know to this app.
  app.fallthrough();
  int verbosity = 0;
  bool quiet = false;
  std::string color = "auto";
  app.add_flag("-v,--verbose", verbosity, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", quiet, "Only print errors on stderr");
  app.add_option("--color", color, "Colour output: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  std::vector<Command> commands{register_init(app),  register_build(app),  register_bench(app),
                                register_list(app),  register_pack(app),   register_score(app),
                                register_synth(app), register_verify(app), register_env(app)};

  const std::string footer = help_footer(commands);
  app.footer(footer);
  for (const Command& c : commands) {
    c.app->footer(footer);
  }
  if (const std::string error = check_leading_args(argc, argv, commands); !error.empty()) {
    fmt::print(stderr, "fibkit: error: {}\n", error);
    return static_cast<int>(ExitCode::usage);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(ExitCode::usage);
  }

  const util::ColorMode mode = color == "always"  ? util::ColorMode::always
                               : color == "never" ? util::ColorMode::never
                                                  : util::ColorMode::auto_detect;
  Context ctx;
  const util::ColorChoice out_color = util::color_choice(mode, stdout);
  ctx.color_stdout = out_color.on;
  ctx.color_from = out_color.from;
  ctx.color_stderr = util::use_color(mode, stderr);
  ctx.quiet = quiet;
  std::tie(ctx.log_level, ctx.log_from) = setup_logging(verbosity, quiet, ctx.color_stderr);

  const auto report = [&](std::string_view message) {
    fmt::print(stderr, "{} {}\n",
               util::styled("fibkit: error:", util::Style::red, ctx.color_stderr), message);
  };
  try {
    for (const Command& c : commands) {
      if (c.app->parsed()) {
        const ExitCode rc = c.run(ctx);
        util::close_stdout(); // a result that did not reach stdout is a failure
        return static_cast<int>(rc);
      }
    }
    return static_cast<int>(ExitCode::usage);
  } catch (const UsageError& e) {
    report(e.what());
    return static_cast<int>(ExitCode::usage);
  } catch (const NoDeviceError& e) {
    report(e.what());
    return static_cast<int>(ExitCode::no_device);
  } catch (const Error& e) {
    report(e.what());
    return static_cast<int>(ExitCode::failed);
  } catch (const std::system_error& e) {
    // fmt::print throws this when stdout refuses a write (a full disk, a closed pipe).
    if (std::ferror(stdout)) {
      report(fmt::format("cannot write the results to stdout: {}", e.code().message()));
      return static_cast<int>(ExitCode::failed);
    }
    report(fmt::format("internal error: {}", e.what()));
    return static_cast<int>(ExitCode::internal);
  } catch (const std::exception& e) {
    report(fmt::format("internal error: {}", e.what()));
    return static_cast<int>(ExitCode::internal);
  }
}

void add_call_from_option(CLI::App& sub, std::string& value) {
  sub.add_option("--call-from", value,
                 "How a cuda/cpp --solution-json is called: native (its TVM-FFI function through "
                 "the C ABI in the worker; the default) or python (the library loaded with "
                 "tvm_ffi.load_module in a python3 child and called with torch tensors, timed "
                 "there, as the official evaluator's harness calls it; needs torch and "
                 "apache-tvm-ffi)")
      ->check(CLI::IsMember({"native", "python"}))
      ->needs(sub.get_option("--solution-json"));
}

std::optional<util::DiskCache> open_compile_cache(bool enabled) {
  if (!enabled) {
    return std::nullopt;
  }
  try {
    return std::optional<util::DiskCache>(std::in_place, util::DiskCache::default_dir());
  } catch (const Error& e) {
    spdlog::warn("no compile cache ({}): building everything afresh; set FIB_CACHE_PATH to a "
                 "writable directory",
                 e.what());
    return std::nullopt;
  }
}

} // namespace fibkit::commands
