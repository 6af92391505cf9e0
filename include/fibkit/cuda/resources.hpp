// Kernel resources after compilation: registers, static shared memory, stack, spills, from the
// ptxas lines NVRTC writes to its log under `--ptxas-options=-v` (compile() always passes it),
// plus the constant bank 0 size read from the cubin's ELF sections (CUDA 13's ptxas no longer
// prints `cmem[0]`). Also the per-architecture launch limits these feed.
//
// A log of CUDA 13.0 looks like this (one block per entry function, the last compiled first):
//   ptxas info    : 36 bytes gmem
//   ptxas info    : Compiling entry function 'gdn_decode_kernel' for 'sm_90a'
//   ptxas info    : Function properties for gdn_decode_kernel
//   ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 32 registers, used 1 barriers, 8448 bytes smem
//   ptxas info    : Compile time = 18.440 ms
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::cuda {

/// The resources of one entry function (kernel) for one architecture.
struct KernelResources {
  std::string kernel;           ///< lowered name, as for cuModuleGetFunction
  std::string arch;             ///< "sm_90a", as ptxas names it
  int registers = 0;            ///< per thread
  int barriers = 0;             ///< named barriers used
  std::size_t static_smem = 0;  ///< bytes of __shared__ arrays; dynamic shared memory comes on top
  std::size_t local_bytes = 0;  ///< the stack frame per thread (local arrays, spills, calls)
  std::size_t spill_stores = 0; ///< bytes
  std::size_t spill_loads = 0;  ///< bytes
  /// Bytes of constant bank 0 (driver-reserved words plus the kernel parameters): from a
  /// `cmem[0]` log entry where ptxas prints one, else from the cubin (kernel_resources()).
  std::size_t const_bytes = 0;
};

/// Parses the ptxas lines of an NVRTC log (other lines, e.g. diagnostics, are skipped) into one
/// entry per "Compiling entry function", in log order. A "Function properties for" block of a
/// non-inlined __device__ function is not a kernel and is skipped, and so are the entries of
/// fibkit's signature probe (is_probe_name()). Throws fibkit::Error for a malformed number in a
/// recognised line.
std::vector<KernelResources> parse_ptxas_info(const std::string& log);

/// Sizes of the sections of an ELF64 little-endian cubin by name (".nv.constant0.<kernel>",
/// ".nv.shared.<kernel>", ".text.<kernel>", ...). Throws fibkit::Error when `cubin` is not such a
/// file or a section header lies outside it.
std::map<std::string, std::size_t> cubin_section_sizes(std::string_view cubin);

/// parse_ptxas_info(log) with each kernel's const_bytes set from the cubin's
/// `.nv.constant0.<kernel>` section when the log gave none. `cubin` may be empty (no cubin info).
std::vector<KernelResources> kernel_resources(const std::string& log, std::string_view cubin);

/// The entry of `kernel` (lowered name) in `resources`, or nullptr.
const KernelResources* find_resources(const std::vector<KernelResources>& resources,
                                      std::string_view kernel);

/// The largest block (threads) a kernel using `registers` registers per thread can be launched
/// with, as the hardware checks it (cuda_occupancy.h's register limit), for every architecture
/// from sm_50 on (`arch_major` >= 5; throws fibkit::Error below):
///   regs_per_warp = round_up(max(registers, 1) * 32, 256)     (allocation unit: 256 registers)
///   warps         = floor(65536 / (regs_per_warp * 4)) * 4     (65536 registers per block,
///                                                               warps allocated 4 at a time)
///   result        = min(1024, 32 * warps), and 0 when registers > 255 (the per-thread maximum).
/// E.g. 32 registers -> 1024, 72 -> 896, 128 -> 512, 255 -> 256.
int max_threads_per_block(int registers, int arch_major);

/// The most shared memory one block may use, static plus dynamic, after opting in
/// (cudaFuncAttributeMaxDynamicSharedMemorySize; without opting in dynamic memory is limited to
/// 48 KiB minus the static): the SM's shared memory minus the 1 KiB the driver reserves per
/// block from sm_80 on. sm_70, sm_72 96 KiB (98304); sm_75 64 KiB (65536); sm_80, sm_87 163 KiB
/// (166912); sm_86, sm_88, sm_89, sm_120, sm_121 99 KiB (101376); sm_90, sm_100, sm_103, sm_110 227
/// KiB (232448). The `a`/`f` suffix does not change it. Throws fibkit::Error for another `arch`.
std::size_t max_dynamic_smem(const std::string& arch);

} // namespace fibkit::cuda
