#include "fibkit/engine/pack.hpp"

#include "fibkit/core/project/templates.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/engine/entry.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <regex>

namespace fs = std::filesystem;

namespace fibkit::engine {

namespace {

// The arch fibkit compiles with NVRTC for the kernels' signatures (they do not depend on it).
std::string signature_arch(const core::SolutionConfig& s) {
  for (const std::string& a : s.build.arch) {
    if (a != "auto") {
      return a;
    }
  }
  return "sm_100a";
}

// Lines of `content` that select arch-specific code, which plain sm_XY compiles out.
void warn_arch_guards(const std::string& path, const std::string& content, const std::string& arch,
                      std::vector<std::string>& warnings) {
  static const std::regex guard(
      R"(__CUDA_ARCH_FEAT_SM[0-9]+_ALL|__CUDA_ARCH_SPECIFIC__|__CUDA_ARCH_FAMILY_SPECIFIC__)");
  std::size_t line = 1;
  std::size_t start = 0;
  while (start <= content.size()) {
    const std::size_t end = std::min(content.find('\n', start), content.size());
    const std::string text = content.substr(start, end - start);
    std::smatch m;
    if (std::regex_search(text, m, guard)) {
      warnings.push_back(fmt::format(
          "{}:{}: {} selects arch-specific code, which the official builder compiles out (it "
          "builds plain {}); pack with --embed-cubin to keep it",
          path, line, m.str(), arch));
    }
    start = end + 1;
    ++line;
  }
}

// Compiles one packed .cu the way the official builder will: plain `arch`, nvcc's rule that a
// function without an execution space is a host function, only the defines fibkit prepends.
void check_official_compile(const core::SolutionConfig& s, const std::string& rel,
                            const std::string& content, const std::string& arch) {
  cuda::CompileInput input;
  input.name = rel;
  input.source = content;
  input.arch = arch;
  input.default_device = false;
  input.options.push_back("-I" + s.source_dir.string());
  for (const auto& [name, value] : s.build.defines) {
    input.options.push_back(fmt::format("-D{}={}", name, value));
  }
  std::error_code ec;
  if (!fs::exists(s.source_dir / "fibkit.cuh", ec)) {
    input.headers.emplace_back("fibkit.cuh", std::string(core::device_header()));
  }
  const cuda::CompileOutput out = cuda::compile(input);
  if (out.ok) {
    return;
  }
  input.arch = arch + "a";
  if (cuda::arch_number(input.arch) && cuda::compile(input).ok) {
    throw CompileError(fmt::format(
        "{}: {} does not compile for plain {}, the target the official builder uses (nvcc "
        "-gencode=arch=compute_{},code={}), but does for {}: its arch-specific code needs cubin "
        "mode (fibkit pack --embed-cubin).\n{}",
        s.where, rel, arch, arch.substr(3), arch, input.arch, out.log));
  }
  throw CompileError(fmt::format(
      "{}: {} does not compile the way the official builder compiles it (nvcc for plain {}, "
      "where a function without __device__ is a host function, unlike fibkit's NVRTC builds):\n{}",
      s.where, rel, arch, out.log));
}

} // namespace

PackedSolution pack_for_official(const core::SolutionConfig& s, const core::Definition& def,
                                 const PackOptions& options) {
  PackedSolution packed;
  packed.solution = core::pack_solution(s);
  core::Solution& out = packed.solution;
  if (s.launches.empty()) {
    if (options.mode == PackMode::cubin) {
      throw Error(fmt::format("{}: solution \"{}\" has no launch plan: --embed-cubin needs one "
                              "(without it, the sources are packed as written)",
                              s.where, s.name));
    }
    return packed; // the sources hold their own host code
  }
  if (s.build.language != "cuda") {
    throw Error(fmt::format("{}: solution \"{}\" has a launch plan but language \"{}\": the "
                            "generated TVM-FFI entry is CUDA (language = \"cuda\")",
                            s.where, s.name, s.build.language));
  }
  if (s.build.binding && *s.build.binding != "tvm-ffi") {
    throw Error(fmt::format("{}: solution \"{}\" has a launch plan but binding \"{}\": the "
                            "generated entry is a TVM-FFI function (binding = \"tvm-ffi\")",
                            s.where, s.name, *s.build.binding));
  }
  if (!s.build.destination_passing_style) {
    throw Error(fmt::format("{}: solution \"{}\": the generated entry is destination-passing "
                            "(outputs preallocated by the caller); set destination_passing_style "
                            "= true",
                            s.where, s.name));
  }
  if (out.entry_file() == k_entry_file ||
      std::any_of(out.sources.begin(), out.sources.end(),
                  [](const core::SourceFile& f) { return f.path == k_entry_file; })) {
    throw Error(fmt::format("{}: solution \"{}\" has its own {}: that name is the generated "
                            "entry's; rename the file",
                            s.where, s.name, k_entry_file));
  }
  if (options.mode == PackMode::source && !s.build.include_dirs.empty()) {
    throw Error(fmt::format("{}: solution \"{}\" uses include_dirs, which the official builder "
                            "cannot see (it passes -I<solution folder> only): move the headers "
                            "into the solution's folder, or pack with --embed-cubin",
                            s.where, s.name));
  }

  // NVRTC build for the signatures (and, in cubin mode, the cubins), checked against the plan.
  std::vector<std::string> arches = options.arches;
  if (options.mode == PackMode::cubin && arches.empty()) {
    for (const std::string& a : s.build.arch) {
      if (a != "auto") {
        arches.push_back(a);
      }
    }
    if (arches.empty()) {
      throw Error(fmt::format("{}: solution \"{}\": --embed-cubin needs the arches to embed "
                              "([build] arch = [\"sm_90a\", \"sm_100a\"] or --arch)",
                              s.where, s.name));
    }
  }
  std::vector<SolutionBuild> builds;
  for (const std::string& arch :
       options.mode == PackMode::cubin ? arches : std::vector<std::string>{signature_arch(s)}) {
    SolutionBuild b = build_solution(s, arch, options.build);
    check_build(s, def, b);
    if (options.workloads != nullptr) {
      check_build_sizes(s, def, b, *options.workloads);
    }
    for (const std::string& w : b.warnings) {
      if (std::find(packed.warnings.begin(), packed.warnings.end(), w) == packed.warnings.end()) {
        packed.warnings.push_back(w);
      }
    }
    builds.push_back(std::move(b));
  }
  const SolutionBuild& first = builds.front();

  EntryInput in;
  in.solution = &s;
  in.definition = &def;
  in.symbol = out.entry_symbol();
  in.generator = options.generator;
  // The .cu units in build order: build_solution() compiles them in resolve_sources() order.
  for (const auto& [rel, path] : core::resolve_sources(s)) {
    if (path.extension() == ".cu") {
      in.units.push_back(rel);
    }
  }
  for (const KernelBuild& kb : first.kernels) {
    in.kernels.push_back({kb.expression, kb.lowered, kb.program, kb.params});
  }
  for (const core::LaunchConfig& l : s.launches) {
    const auto k = std::find_if(in.kernels.begin(), in.kernels.end(),
                                [&](const EntryKernel& e) { return e.expression == l.kernel; });
    in.launch_kernel.push_back(static_cast<std::size_t>(k - in.kernels.begin()));
  }

  if (options.mode == PackMode::cubin) {
    for (const SolutionBuild& b : builds) {
      for (std::size_t u = 0; u < b.programs.size(); ++u) {
        in.cubins.push_back({b.arch, u, b.programs[u].cubin});
      }
    }
    out.sources = {{std::string(k_entry_file), generate_entry(in)}};
  } else {
    if (!s.build.options.empty()) {
      std::string list;
      for (const std::string& o : s.build.options) {
        list += (list.empty() ? "" : " ") + o;
      }
      packed.warnings.push_back(fmt::format(
          "{}: NVRTC options ({}) do not reach the official builder, which compiles with fixed "
          "flags: the packed sources build without them (--embed-cubin keeps them)",
          s.where, list));
    }
    std::string defines;
    for (const auto& [name, value] : s.build.defines) {
      defines += fmt::format("#define {} {}\n", name, value);
    }
    for (std::size_t u = 0; u < in.units.size(); ++u) {
      const auto file =
          std::find_if(out.sources.begin(), out.sources.end(),
                       [&](const core::SourceFile& f) { return f.path == in.units[u]; });
      check_official_compile(s, file->path, file->content, options.official_arch);
      if (!defines.empty()) {
        // The config's defines, as NVRTC got them (-D), then the file with its own line numbers.
        file->content =
            defines + "#line 1 " + cpp_string_literal(file->path) + "\n" + file->content;
      }
      file->content += kernel_handles_block(in, u);
    }
    for (const core::SourceFile& f : out.sources) {
      warn_arch_guards(f.path, f.content, options.official_arch, packed.warnings);
    }
    out.sources.push_back({std::string(k_entry_file), generate_entry(in)});
  }
  out.spec.entry_point = fmt::format("{}::{}", k_entry_file, in.symbol);
  out.spec.binding = "tvm-ffi";
  if (std::string err = core::validate_solution(out); !err.empty()) {
    throw Error(fmt::format("{}: packed solution \"{}\" is not a valid official Solution: {}",
                            s.where, s.name, err));
  }
  return packed;
}

} // namespace fibkit::engine
