// fibkit build: NVRTC-compile the project's kernels (cached), check every launch against the
// kernels' signatures and the definition, and print the kernels' resource use.
#include "fibkit/engine/build.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/launch_sizes.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/cuda/resources.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_writer.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <optional>

namespace fs = std::filesystem;

namespace fibkit::commands {

namespace {

struct BuildOptions {
  std::string config;
  std::string solution;
  std::vector<std::string> archs;
  std::optional<std::string> dataset;
  bool no_cache = false;
  bool clear_cache = false;
  bool json = false;
  std::int64_t num_sms = 0;
};

std::string bytes_text(std::size_t n) {
  return fmt::format("{} B", n);
}

std::string dims_text(const std::vector<core::Expr>& dims) {
  std::string out;
  for (const core::Expr& e : dims) {
    out += (out.empty() ? "" : " x ") + e.text();
  }
  return out;
}

void print_table(const core::SolutionConfig& s, const engine::SolutionBuild& b, bool color) {
  std::size_t cached = 0;
  double nvrtc = 0.0;
  for (const engine::ProgramBuild& p : b.programs) {
    cached += p.cached;
    nvrtc += p.cached ? 0.0 : p.seconds;
  }
  fmt::print("{}  {}  {}  {} program{}, {}\n", util::styled(s.name, util::Style::bold, color),
             s.definition, util::styled(b.arch, util::Style::cyan, color), b.programs.size(),
             b.programs.size() == 1 ? "" : "s",
             cached == b.programs.size() ? util::styled("cached", util::Style::green, color)
                                         : fmt::format("NVRTC {:.2f} s ({} of {} cached)", nvrtc,
                                                       cached, b.programs.size()));
  std::size_t width = 6;
  for (const engine::KernelBuild& k : b.kernels) {
    width = std::max(width, k.expression.size());
  }
  fmt::print("  {:<{}}  {:>5}  {:>11}  {:>8}  {:>13}  {:>11}  {}\n", "kernel", width, "regs",
             "static smem", "stack", "spills st/ld", "max threads", "launch block");
  for (const engine::KernelBuild& k : b.kernels) {
    std::string blocks;
    for (const core::LaunchConfig& l : s.launches) {
      if (l.kernel == k.expression) {
        blocks += (blocks.empty() ? "" : ", ") + dims_text(l.block);
      }
    }
    if (k.has_resources) {
      fmt::print("  {:<{}}  {:>5}  {:>11}  {:>8}  {:>13}  {:>11}  {}\n", k.expression, width,
                 k.resources.registers, bytes_text(k.resources.static_smem),
                 bytes_text(k.resources.local_bytes),
                 fmt::format("{} / {}", k.resources.spill_stores, k.resources.spill_loads),
                 k.max_threads, blocks);
    } else {
      fmt::print("  {:<{}}  (no resource information)  {}\n", k.expression, width, blocks);
    }
  }
}

void write_json(util::JsonWriter& out, const core::SolutionConfig& s,
                const engine::SolutionBuild& b) {
  out.begin_object().key("solution").value(s.name).key("definition").value(s.definition);
  out.key("arch").value(b.arch).key("seconds").value(b.seconds);
  out.key("programs").begin_array();
  for (const engine::ProgramBuild& p : b.programs) {
    out.begin_object().key("source").value(p.source).key("cached").value(p.cached);
    out.key("seconds").value(p.seconds);
    out.key("cubin_bytes").value(static_cast<std::uint64_t>(p.cubin.size())).end_object();
  }
  out.end_array().key("kernels").begin_array();
  for (const engine::KernelBuild& k : b.kernels) {
    out.begin_object().key("kernel").value(k.expression).key("lowered").value(k.lowered);
    out.key("source").value(b.programs[k.program].source);
    out.key("registers").value(k.resources.registers);
    out.key("static_smem_bytes").value(static_cast<std::uint64_t>(k.resources.static_smem));
    out.key("stack_bytes").value(static_cast<std::uint64_t>(k.resources.local_bytes));
    out.key("spill_store_bytes").value(static_cast<std::uint64_t>(k.resources.spill_stores));
    out.key("spill_load_bytes").value(static_cast<std::uint64_t>(k.resources.spill_loads));
    out.key("max_threads_per_block").value(k.max_threads);
    out.key("params").begin_array();
    for (const cuda::ParamType& p : k.params) {
      out.value(p.text);
    }
    out.end_array().end_object();
  }
  out.end_array().key("warnings").begin_array();
  for (const std::string& w : b.warnings) {
    out.value(w);
  }
  out.end_array().end_object();
}

ExitCode run_build(const BuildOptions& opt, const Context& ctx) {
  for (const std::string& arch : opt.archs) {
    if (arch != "auto") {
      if (const std::string problem = cuda::arch_problem(arch); !problem.empty()) {
        throw UsageError(fmt::format("--arch {}: {}", arch, problem));
      }
    }
  }
  const fs::path cache_dir = util::DiskCache::default_dir();
  if (opt.clear_cache) {
    const util::DiskCache::Stats removed = util::DiskCache(cache_dir).clear();
    spdlog::info("cleared the compile cache in {}: removed {} entr{} ({:.1f} MB)",
                 cache_dir.string(), removed.entries, removed.entries == 1 ? "y" : "ies",
                 static_cast<double>(removed.bytes) / 1e6);
    return ExitCode::ok;
  }
  const core::ProjectConfig project = core::load_project_config(opt.config);
  const core::Dataset ds = core::load_dataset(opt.dataset);
  std::optional<util::DiskCache> cache = open_compile_cache(!opt.no_cache);
  engine::BuildSettings settings;
  settings.cache = cache ? &*cache : nullptr;

  const std::vector<const core::SolutionConfig*> selected = project.selection(opt.solution);

  util::JsonWriter json(2);
  if (opt.json) {
    json.begin_object().key("schema_version").value(1);
    json.key("nvrtc").value(cuda::nvrtc_version());
    json.key("cache").value(cache ? cache_dir.string() : std::string());
    json.key("builds").begin_array();
  }
  std::size_t warnings = 0;
  bool first = true;
  for (const core::SolutionConfig* s : selected) {
    std::vector<std::string> archs = opt.archs.empty() ? s->build.arch : opt.archs;
    if (archs.empty()) {
      archs.push_back("auto");
    }
    for (std::string arch : archs) {
      if (arch == "auto") {
        arch = cuda::detect_arch();
      } else if (const std::string problem = cuda::arch_problem(arch); !problem.empty()) {
        throw Error(fmt::format("{}: arch of solution \"{}\": {}", s->where, s->name, problem));
      }
      engine::SolutionBuild b = engine::build_solution(*s, arch, settings);
      if (const core::Definition* def = ds.set.find_definition(s->definition)) {
        engine::check_build(*s, *def, b);
        engine::check_build_sizes(*s, *def, b, ds.set.workloads_of(def->name), opt.num_sms);
      } else {
        b.warnings.push_back(
            fmt::format("{}: definition \"{}\" is not in the dataset ({}): launches not checked",
                        s->where, s->definition, ds.label));
      }
      for (const std::string& w : b.warnings) {
        spdlog::warn("{}", w);
      }
      warnings += b.warnings.size();
      if (opt.json) {
        write_json(json, *s, b);
      } else {
        if (!first) {
          fmt::print("\n");
        }
        print_table(*s, b, ctx.color_stdout);
      }
      first = false;
    }
  }
  if (opt.json) {
    json.end_array().end_object();
    util::write_stdout(json.str() + "\n");
  }
  spdlog::debug("{} warning(s)", warnings);
  return ExitCode::ok;
}

} // namespace

Command register_build(CLI::App& app) {
  auto opt = std::make_shared<BuildOptions>();
  CLI::App* sub = app.add_subcommand(
      "build", "NVRTC-compile the kernels (cached), check every launch against the kernels' "
               "signatures, print registers and shared memory per kernel");
  sub->add_option("-c,--config", opt->config,
                  "Project config (default: config.toml here or in a parent directory)");
  sub->add_option("-s,--solution", opt->solution, "Build only this solution (default: all)");
  sub->add_option("--arch", opt->archs,
                  "Target, repeatable: sm_90a (H100/H200), sm_100a (B200), ... or auto (the GPU's "
                  "own; default: the config's [build] arch, else auto)");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet with the definitions to check against (default: $FIB_DATASET_PATH, "
                  "else the embedded examples)");
  sub->add_flag("--no-cache", opt->no_cache, "Always call NVRTC; do not read or write the cache");
  sub->add_flag("--clear-cache", opt->clear_cache,
                "Empty the compile cache ($FIB_CACHE_PATH, else ~/.cache/fibkit) and exit");
  sub->add_flag("--json", opt->json, "Print one JSON document on stdout");
  sub->add_option("--num-sms", opt->num_sms,
                  "num_sms for the launch-size check of every workload (default: the largest part "
                  "of each arch: 132 for sm_90a, 148 for sm_100a)")
      ->check(CLI::PositiveNumber);
  return {sub, [opt](const Context& ctx) { return run_build(*opt, ctx); }, NeedsGpu::sometimes,
          "only with --arch auto (pass --arch sm_90a or sm_100a without one)"};
}

} // namespace fibkit::commands
