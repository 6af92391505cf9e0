// The generated TVM-FFI host entry of a packed solution (`fibkit pack`): C++ source that does,
// under the official TVM-FFI builder, what fibkit's launch-plan executor does under NVRTC:
// checks the tensors it is given, reads the var axes from their shapes, evaluates the plan's
// sizes, owns the workspaces and launches the kernels in order on the TVM-FFI environment
// stream. Two ways to reach the kernels:
//  - source mode: the kernels are the solution's own .cu files, compiled by the official builder
//    (nvcc, plain sm_XY); each packed .cu gets a short appended block that returns its kernels'
//    host handles (kernel_handles_block()), so templates are instantiated where they are defined
//    and the entry needs no kernel declarations;
//  - cubin mode: fibkit's NVRTC cubins (e.g. sm_90a, sm_100a) ride in the entry as byte arrays,
//    loaded with tvm-ffi's cubin launcher (tvm/ffi/extra/cuda/cubin_launcher.h); the entry picks
//    the cubin of the device's compute capability.
#pragma once

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/cuda/signature.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::engine {

/// The generated host entry's file name in a packed solution.
inline constexpr std::string_view k_entry_file = "fibkit_entry.cu";

/// A kernel of the plan, once per distinct expression.
struct EntryKernel {
  std::string expression;              ///< as in the config: "gdn_decode_kernel", "gemm<128>"
  std::string lowered;                 ///< the name in the cubin (cubin mode)
  std::size_t unit = 0;                ///< index into EntryInput::units
  std::vector<cuda::ParamType> params; ///< from NVRTC's signature probe
};

/// A cubin embedded in cubin mode: one per (arch, unit).
struct EntryCubin {
  std::string arch; ///< "sm_90a", "sm_100a", "sm_100"
  std::size_t unit = 0;
  std::string image; ///< the ELF bytes
};

struct EntryInput {
  const core::SolutionConfig* solution = nullptr;
  const core::Definition* definition = nullptr;
  std::string symbol;                     ///< the exported function: the entry_point's symbol
  std::vector<std::string> units;         ///< packed paths of the solution's .cu files
  std::vector<EntryKernel> kernels;       ///< distinct kernels of the plan
  std::vector<std::size_t> launch_kernel; ///< per launch: index into kernels
  std::vector<EntryCubin> cubins;         ///< empty: source mode
  std::string generator;                  ///< "fibkit 0.3.0", written in the header comment
};

/// The whole entry source. Throws fibkit::Error naming the config line when the plan cannot be
/// expressed as a TVM-FFI function (a var axis in no tensor shape, an entry symbol that is not a
/// C identifier, a kernel parameter fibkit cannot marshal).
std::string generate_entry(const EntryInput& input);

/// Source mode: the block appended to the packed copy of `units[unit]`, defining the
/// `extern "C"` accessors of that file's kernels that the entry calls; empty when the file
/// defines no kernel of the plan.
std::string kernel_handles_block(const EntryInput& input, std::size_t unit);

/// C++ string literal of `text` (quotes, backslashes and control characters escaped).
std::string cpp_string_literal(std::string_view text);

} // namespace fibkit::engine
