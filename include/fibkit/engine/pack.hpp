// fibkit pack: a project's solution as an official Solution the official TVM-FFI builder builds
// and the official evaluator runs: the sources plus a generated host entry (entry.hpp) that
// reproduces the launch plan.
#pragma once

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/core/trace/trace.hpp"
#include "fibkit/engine/build.hpp"

#include <string>
#include <vector>

namespace fibkit::engine {

enum class PackMode {
  source, ///< the official builder compiles the kernels (nvcc, plain sm_XY)
  cubin,  ///< fibkit's NVRTC cubins ride in the entry (arch-specific code survives)
};

struct PackOptions {
  PackMode mode = PackMode::source;
  /// Cubin mode: the arches to embed; empty = the solution's [build] arch ("auto" left out).
  std::vector<std::string> arches;
  /// Source mode: the arch the official builder compiles for (plain, as on the contest's B200).
  std::string official_arch = "sm_100";
  BuildSettings build;
  /// The definition's workloads: every launch is checked to fit each (check_build_sizes).
  const std::vector<core::Trace>* workloads = nullptr;
  std::string generator; ///< "fibkit 0.3.0", for the entry's header comment
};

struct PackedSolution {
  core::Solution solution;
  std::vector<std::string> warnings; ///< "config.toml:3: ..." texts
};

/// Packs `solution` for the official evaluator. A solution without a launch plan is packed as
/// written (its sources are expected to hold their own TVM-FFI host code). Otherwise the kernels
/// are compiled with NVRTC (served from the compile cache when unchanged) for their signatures,
/// the plan is checked against them, and:
///  - source mode: every .cu of the solution is checked the way the official builder compiles
///    it (plain `official_arch`, nvcc's execution-space rule); a failure throws, pointing to
///    cubin mode when the arch-specific target compiles; arch-specific guards
///    (__CUDA_ARCH_FEAT_SM*_ALL, __CUDA_ARCH_SPECIFIC__) that would be compiled out are warned
///    about. The packed .cu files get the config's defines prepended and a block of kernel
///    handles appended; the entry is added as fibkit_entry.cu;
///  - cubin mode: the solution's sources are the entry alone, with one cubin per (arch, .cu).
/// The entry point becomes "fibkit_entry.cu::<symbol of the config's entry_point>", binding
/// "tvm-ffi". Throws fibkit::Error (engine::CompileError for a compile failure) naming the
/// config line, the file or the kernel parameter.
PackedSolution pack_for_official(const core::SolutionConfig& solution,
                                 const core::Definition& definition, const PackOptions& options);

} // namespace fibkit::engine
