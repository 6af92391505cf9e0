// fibkit env: every setting fibkit would use here, its value and where it came from. Settings
// resolve in one order everywhere: command-line flags, then environment variables, then the
// project's config.toml, then defaults (docs/settings.md).
#include "fibkit/util/env.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/engine/official_build.hpp"
#include "fibkit/engine/python_bridge.hpp"
#include "fibkit/engine/sanitize.hpp"
#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_writer.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

namespace fibkit::commands {

namespace {

namespace fs = std::filesystem;

struct EnvOptions {
  std::string config;
  std::optional<std::string> dataset;
  bool json = false;
};

struct Setting {
  std::string name;
  std::string value;
  std::string from;
};

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

Setting config_setting(const EnvOptions& opt) {
  if (!opt.config.empty()) {
    return {"config", opt.config, "-c"};
  }
  const fs::path found = core::find_config(fs::current_path());
  if (found.empty()) {
    return {"config", "none", "no config.toml here or in a parent folder (up to a .git)"};
  }
  return {"config", found.string(), "config.toml found from the working directory"};
}

std::vector<Setting> arch_settings(const Setting& config) {
  if (config.value == "none") {
    return {{"arch", "the GPU's", "default (--arch overrides)"}};
  }
  try {
    const core::ProjectConfig project = core::load_config(config.value);
    std::vector<Setting> out;
    for (const core::SolutionConfig& s : project.solutions) {
      std::string arches;
      for (const std::string& a : s.build.arch) {
        arches += (arches.empty() ? "" : ", ") + a;
      }
      out.push_back({"arch (" + s.name + ")", arches.empty() ? "the GPU's" : arches,
                     arches.empty() ? "default (--arch overrides)"
                                    : "[build] arch in the config (--arch overrides)"});
    }
    return out;
  } catch (const Error& e) {
    return {{"arch", "?", "the config does not load: " + first_line(e.what())}};
  }
}

Setting dataset_setting(const EnvOptions& opt) {
  const core::DatasetSource source = core::dataset_source(opt.dataset);
  if (source.path.empty()) {
    return {"dataset", "embedded examples", "default (--dataset, $FIB_DATASET_PATH override)"};
  }
  return {"dataset", source.path, source.from};
}

Setting cache_setting() {
  try {
    const util::DiskCache::DirChoice choice = util::DiskCache::default_dir_choice();
    const fs::path usable = util::DiskCache::writable_dir();
    if (usable != choice.dir) {
      return {"cache", usable.string(),
              fmt::format("{} ({}) cannot be written: a per-user temporary folder", choice.from,
                          choice.dir.string())};
    }
    return {"cache", choice.dir.string(), choice.from};
  } catch (const Error& e) {
    return {"cache", "none", first_line(e.what())};
  }
}

Setting python_setting() {
  const std::string python = engine::bridge_python();
  const std::string from =
      util::env_var("FIBKIT_PYTHON").empty() ? "python3 on the PATH (default)" : "$FIBKIT_PYTHON";
  if (python.find('/') != std::string::npos) {
    return {"python (bridge)", python, from};
  }
  const fs::path found = util::find_on_path(python);
  return {"python (bridge)", found.empty() ? python + " (not found)" : found.string(), from};
}

Setting nvcc_setting() {
  try {
    const engine::CudaToolkit t = engine::find_cuda_toolkit();
    return {"nvcc (official builds)", (t.home / "bin" / "nvcc").string(), t.from};
  } catch (const Error& e) {
    return {"nvcc (official builds)", "not found", first_line(e.what())};
  }
}

Setting tvm_ffi_setting() {
  const bool from_env =
      !util::env_var("TVM_FFI_INCLUDE_DIR").empty() && !util::env_var("TVM_FFI_LIBRARY").empty();
  try {
    const engine::TvmFfiInstall t = engine::find_tvm_ffi();
    return {"tvm-ffi", t.library.string(),
            from_env ? "$TVM_FFI_INCLUDE_DIR + $TVM_FFI_LIBRARY"
                     : "the apache-tvm-ffi package of the bridge's python"};
  } catch (const Error& e) {
    return {"tvm-ffi", "not found", first_line(e.what())};
  }
}

Setting sanitizer_setting() {
  try {
    return {"compute-sanitizer", engine::find_compute_sanitizer().string(),
            "PATH, then $CUDA_HOME/bin, then /usr/local/cuda/bin"};
  } catch (const Error& e) {
    return {"compute-sanitizer", "not found", first_line(e.what())};
  }
}

ExitCode run_env(const EnvOptions& opt, const Context& ctx) {
  std::vector<Setting> settings;
  const Setting config = config_setting(opt);
  settings.push_back(config);
  for (Setting& s : arch_settings(config)) {
    settings.push_back(std::move(s));
  }
  settings.push_back(dataset_setting(opt));
  settings.push_back(cache_setting());
  settings.push_back(python_setting());
  settings.push_back(nvcc_setting());
  settings.push_back(tvm_ffi_setting());
  settings.push_back(sanitizer_setting());
  settings.push_back({"log level", ctx.log_level, ctx.log_from});
  settings.push_back({"colour", ctx.color_stdout ? "on" : "off", ctx.color_from});

  if (opt.json) {
    util::JsonWriter out(2);
    out.begin_object().key("schema_version").value(1).key("settings").begin_array();
    for (const Setting& s : settings) {
      out.begin_object().key("name").value(s.name).key("value").value(s.value);
      out.key("from").value(s.from).end_object();
    }
    out.end_array().end_object();
    util::write_stdout(out.take() + "\n");
    return ExitCode::ok;
  }
  std::size_t width = 0;
  for (const Setting& s : settings) {
    width = std::max(width, s.name.size());
  }
  std::string text;
  for (const Setting& s : settings) {
    text +=
        fmt::format("{:<{}}  {}\n{:<{}}  from: {}\n", s.name, width, s.value, "", width, s.from);
  }
  util::write_stdout(text);
  return ExitCode::ok;
}

} // namespace

Command register_env(CLI::App& app) {
  auto opt = std::make_shared<EnvOptions>();
  CLI::App* sub = app.add_subcommand(
      "env", "Print every setting fibkit would use here (config, arches, dataset, cache, Python, "
             "nvcc, tvm-ffi, compute-sanitizer, log level, colour) and where each came from: "
             "flags, then environment variables, then config.toml, then defaults");
  sub->add_option("-c,--config", opt->config,
                  "Project config (default: config.toml here or in a parent directory)");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet (default: $FIB_DATASET_PATH, else the embedded examples)");
  sub->add_flag("--json", opt->json, "Print one JSON document on stdout");
  return {sub, [opt](const Context& ctx) { return run_env(*opt, ctx); }, NeedsGpu::no, {}};
}

} // namespace fibkit::commands
