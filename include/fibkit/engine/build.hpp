// fibkit build: NVRTC compilation of a solution's kernels, served from the compile cache when
// nothing changed, with every launch of the plan checked against the kernels' real signatures
// and the definition before anything runs.
#pragma once

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/trace.hpp"
#include "fibkit/cuda/resources.hpp"
#include "fibkit/cuda/signature.hpp"
#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/error.hpp"

#include <string>
#include <vector>

namespace fibkit::engine {

/// A kernel source that NVRTC rejected; what() holds the compile log with the user's file names
/// and line numbers.
class CompileError : public Error {
public:
  explicit CompileError(const std::string& message) : Error(message) {}
};

/// One NVRTC program: a .cu file of the solution compiled for one arch.
struct ProgramBuild {
  std::string source; ///< display path, e.g. "kernels/gated_delta_net/gdn_decode.cu"
  std::string cubin;
  std::string log;                                          ///< NVRTC + ptxas log
  std::vector<std::pair<std::string, std::string>> lowered; ///< name expression -> lowered name
  bool cached = false;  ///< served from the compile cache (NVRTC not called)
  double seconds = 0.0; ///< NVRTC time, or the cache lookup time when cached
};

/// A kernel of the launch plan after compilation.
struct KernelBuild {
  std::string expression;  ///< as in the config, e.g. "gdn_decode_kernel" or "gemm<128>"
  std::string lowered;     ///< the name to look up in the cubin
  std::size_t program = 0; ///< index into SolutionBuild::programs
  std::vector<cuda::ParamType> params;
  cuda::KernelResources resources;
  bool has_resources = false;
  int max_threads = 0; ///< the most threads per block its register use allows
};

struct SolutionBuild {
  std::string solution; ///< solution name
  std::string arch;
  std::vector<ProgramBuild> programs;
  std::vector<KernelBuild> kernels;
  std::vector<std::string> warnings; ///< "config.toml:20: ..." texts
  double seconds = 0.0;
};

/// How to build.
struct BuildSettings {
  util::DiskCache* cache = nullptr; ///< nullptr: no cache (--no-cache)
};

/// The schema version of cache entries; part of every key.
inline constexpr std::string_view k_build_cache_schema = "fibkit-build-1";

/// Compiles every .cu source of `solution` for `arch` (each a separate NVRTC program), finds each
/// launch's kernel, and reads its signature and resources. Throws CompileError with the log when
/// NVRTC fails, fibkit::Error when a kernel of the plan is in no source.
SolutionBuild build_solution(const core::SolutionConfig& solution, const std::string& arch,
                             const BuildSettings& settings);

/// Checks every launch of the plan against the kernel signatures and the definition: argument
/// count, pointer element types against dtypes, const-ness (outputs writable), scalars and axes
/// by value with the right width, literal types. Throws fibkit::Error naming the launch, the
/// parameter (index and type) and the definition tensor. Adds resource warnings (block size over
/// the kernel's limit, dynamic shared memory over the arch's) to `build.warnings`.
void check_build(const core::SolutionConfig& solution, const core::Definition& definition,
                 SolutionBuild& build);

/// Every launch of the plan evaluated for every workload (core::check_launch_sizes) against the
/// limits of `build.arch` and the kernels' own (register-limited block size, static shared
/// memory, from the build); num_sms is the arch's largest part unless `num_sms` > 0. Throws
/// fibkit::Error naming the expression's config line and the first workload that cannot launch.
void check_build_sizes(const core::SolutionConfig& solution, const core::Definition& definition,
                       const SolutionBuild& build, const std::vector<core::Trace>& workloads,
                       std::int64_t num_sms = 0);

} // namespace fibkit::engine
