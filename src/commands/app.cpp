#include "fibkit/commands/app.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace fibkit::commands {

namespace {

constexpr const char* k_footer =
    R"(Exit codes: 0 ok, 1 checks failed or invalid input, 2 usage error, 3 internal error,
4 no GPU or CUDA driver.
Environment: FIB_DATASET_PATH (default dataset), FIB_CACHE_PATH (cache directory),
NO_COLOR / CLICOLOR_FORCE (colour), FIBKIT_LOG (trace|debug|info|warn|error).
Needs a GPU: verify, and build --arch auto (pass --arch sm_90a or sm_100a without one);
bench comes in a later release.)";

// Levenshtein distance with adjacent transpositions counted as one edit.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

void setup_logging(int verbosity, bool quiet, bool color) {
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
  if (const char* env = std::getenv("FIBKIT_LOG"); env && *env) {
    level = spdlog::level::from_str(env);
  }
  if (verbosity == 1) {
    level = spdlog::level::debug;
  } else if (verbosity >= 2) {
    level = spdlog::level::trace;
  }
  if (quiet) {
    level = spdlog::level::err;
  }
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

} // namespace

int run_app(int argc, char** argv) {
  CLI::App app{"fibkit: compile, verify, benchmark and pack GPU kernels for FlashInfer-Trace "
               "definitions (the FlashInfer-Bench kernel contest, MLSys 2026)",
               "fibkit"};
  app.footer(k_footer);
  app.set_version_flag("--version", std::string("fibkit ") + FIBKIT_VERSION);
  app.require_subcommand(1);
  int verbosity = 0;
  bool quiet = false;
  std::string color = "auto";
  app.add_flag("-v,--verbose", verbosity, "More log output (-vv for trace)");
  app.add_flag("-q,--quiet", quiet, "Only print errors on stderr");
  app.add_option("--color", color, "Colour output: auto, always or never")
      ->check(CLI::IsMember({"auto", "always", "never"}));

  std::vector<Command> commands{register_init(app),  register_build(app), register_bench(app),
                                register_list(app),  register_pack(app),  register_synth(app),
                                register_verify(app)};

  // CLI11 reports an unknown subcommand only as "A subcommand is required": name it instead.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--color") {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') {
      continue;
    }
    std::string names;
    std::string closest;
    std::size_t best = 3;
    bool known = false;
    for (const Command& c : commands) {
      const std::string& name = c.app->get_name();
      known = known || name == arg;
      names += names.empty() ? name : ", " + name;
      if (const std::size_t d = edit_distance(arg, name); d < best) {
        best = d;
        closest = name;
      }
    }
    if (!known) {
      fmt::print(stderr, "fibkit: error: unknown subcommand \"{}\"{} (subcommands: {})\n", arg,
                 closest.empty() ? "" : fmt::format(", did you mean \"{}\"?", closest), names);
      return static_cast<int>(ExitCode::usage);
    }
    break;
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
  ctx.color_stdout = util::use_color(mode, stdout);
  ctx.color_stderr = util::use_color(mode, stderr);
  ctx.quiet = quiet;
  setup_logging(verbosity, quiet, ctx.color_stderr);

  const auto report = [&](std::string_view message) {
    fmt::print(stderr, "{} {}\n",
               util::styled("fibkit: error:", util::Style::red, ctx.color_stderr), message);
  };
  try {
    for (const Command& c : commands) {
      if (c.app->parsed()) {
        return static_cast<int>(c.run(ctx));
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
  } catch (const std::exception& e) {
    report(fmt::format("internal error: {}", e.what()));
    return static_cast<int>(ExitCode::internal);
  }
}

} // namespace fibkit::commands
