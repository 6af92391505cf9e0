// Tests for kernel resources (include/fibkit/cuda/resources.hpp): ptxas lines of NVRTC logs
// (captured from NVRTC 13.0 and from real compiles), cubin sections and the launch limits.
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/cuda/resources.hpp"
#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using fibkit::cuda::CompileInput;
using fibkit::cuda::find_resources;
using fibkit::cuda::KernelResources;
using fibkit::cuda::max_dynamic_smem;
using fibkit::cuda::max_threads_per_block;
using fibkit::cuda::parse_ptxas_info;

namespace {

// kernels/fused_moe/moe.cu for sm_90a with a signature probe, NVRTC 13.0.
constexpr const char* k_moe_log =
    R"(ptxas info    : 104 bytes gmem
ptxas info    : Compiling entry function '_ZN12fibkit_probe5probeIFviENS_5sizesIJLm4EEEEEEvPNS_3sigIT_EEPT0_' for 'sm_90a'
ptxas info    : Function properties for _ZN12fibkit_probe5probeIFviENS_5sizesIJLm4EEEEEEvPNS_3sigIT_EEPT0_
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 4 registers, used 0 barriers
ptxas info    : Compile time = 0.483 ms
ptxas info    : Compiling entry function 'moe_gemm2_combine_kernel' for 'sm_90a'
ptxas info    : Function properties for moe_gemm2_combine_kernel
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 40 registers, used 1 barriers, 8448 bytes smem
ptxas info    : Compile time = 13.162 ms
ptxas info    : Compiling entry function 'moe_gemm1_swiglu_kernel' for 'sm_90a'
ptxas info    : Function properties for moe_gemm1_swiglu_kernel
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 48 registers, used 1 barriers, 16640 bytes smem
ptxas info    : Compile time = 29.808 ms
ptxas info    : Compiling entry function 'moe_routing_kernel' for 'sm_90a'
ptxas info    : Function properties for moe_routing_kernel
ptxas         .     2352 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 31 registers, used 0 barriers, 2352 bytes cumulative stack size
ptxas info    : Compile time = 372.549 ms
)";

// Spills, and a non-inlined __device__ function whose properties follow the kernels.
constexpr const char* k_spill_log =
    "ptxas info    : 8 bytes gmem\r\n"
    "ptxas info    : Compiling entry function 'k2' for 'sm_90a'\r\n"
    "ptxas info    : Function properties for k2\r\n"
    "ptxas         .     1024 bytes stack frame, 1080 bytes spill stores, 1316 bytes spill "
    "loads\r\n"
    "ptxas info    : Used 32 registers, used 0 barriers, 1024 bytes cumulative stack size\r\n"
    "ptxas info    : Compiling entry function 'k1' for 'sm_90a'\r\n"
    "ptxas info    : Function properties for k1\r\n"
    "ptxas         .     256 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads\r\n"
    "ptxas info    : Used 40 registers, used 0 barriers, 256 bytes cumulative stack size\r\n"
    "ptxas info    : Function properties for _Z6helperPKfi\r\n"
    "ptxas         .     48 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads\r\n";

// The format of CUDA 12 and older, which printed constant bank sizes.
constexpr const char* k_cuda12_log =
    R"(kernels/x.cu(3): warning #177-D: variable "unused" was declared but never referenced
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z1kPf' for 'sm_80'
ptxas info    : Function properties for _Z1kPf
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 12 registers, 1024 bytes smem, 360 bytes cmem[0], 8 bytes cmem[2]
)";

} // namespace

TEST_CASE("resources: a captured NVRTC 13 log", "[cuda]") {
  const auto kernels = parse_ptxas_info(k_moe_log);
  REQUIRE(kernels.size() == 3); // the probe's entry is left out
  const KernelResources& gemm2 = kernels[0];
  CHECK(gemm2.kernel == "moe_gemm2_combine_kernel");
  CHECK(gemm2.arch == "sm_90a");
  CHECK(gemm2.registers == 40);
  CHECK(gemm2.barriers == 1);
  CHECK(gemm2.static_smem == 8448);
  CHECK(gemm2.local_bytes == 0);
  CHECK(gemm2.const_bytes == 0);
  CHECK(kernels[1].kernel == "moe_gemm1_swiglu_kernel");
  CHECK(kernels[1].static_smem == 16640);
  CHECK(kernels[1].registers == 48);
  const KernelResources* routing = find_resources(kernels, "moe_routing_kernel");
  REQUIRE(routing != nullptr);
  CHECK(routing->registers == 31);
  CHECK(routing->barriers == 0);
  CHECK(routing->static_smem == 0);
  CHECK(routing->local_bytes == 2352);
  CHECK(find_resources(kernels, "missing") == nullptr);
}

TEST_CASE("resources: spills, CRLF and __device__ function frames", "[cuda]") {
  const auto kernels = parse_ptxas_info(k_spill_log);
  REQUIRE(kernels.size() == 2);
  CHECK(kernels[0].kernel == "k2");
  CHECK(kernels[0].local_bytes == 1024);
  CHECK(kernels[0].spill_stores == 1080);
  CHECK(kernels[0].spill_loads == 1316);
  CHECK(kernels[1].kernel == "k1");
  CHECK(kernels[1].registers == 40);
  CHECK(kernels[1].local_bytes == 256); // not the helper's 48
  CHECK(kernels[1].spill_stores == 0);
}

TEST_CASE("resources: the CUDA 12 format with cmem", "[cuda]") {
  const auto kernels = parse_ptxas_info(k_cuda12_log);
  REQUIRE(kernels.size() == 1);
  CHECK(kernels[0].kernel == "_Z1kPf");
  CHECK(kernels[0].arch == "sm_80");
  CHECK(kernels[0].registers == 12);
  CHECK(kernels[0].static_smem == 1024);
  CHECK(kernels[0].const_bytes == 360);
}

TEST_CASE("resources: logs without ptxas lines and malformed numbers", "[cuda]") {
  CHECK(parse_ptxas_info("").empty());
  CHECK(parse_ptxas_info("kernels/x.cu(5): error: expected a \";\"\n").empty());
  CHECK_THROWS_AS(parse_ptxas_info("ptxas info    : Compiling entry function 'k' for 'sm_90'\n"
                                   "ptxas info    : Used x2 registers, used 0 barriers\n"),
                  fibkit::Error);
}

TEST_CASE("resources: max threads per block from registers", "[cuda]") {
  CHECK(max_threads_per_block(0, 9) == 1024);
  CHECK(max_threads_per_block(32, 9) == 1024);
  CHECK(max_threads_per_block(64, 9) == 1024);
  CHECK(max_threads_per_block(65, 9) == 896); // 65*32 -> 2304 per warp: 7 warps per quarter
  CHECK(max_threads_per_block(72, 9) == 896);
  CHECK(max_threads_per_block(80, 9) == 768); // 2560 per warp: 6 per quarter, not 25 warps
  CHECK(max_threads_per_block(96, 10) == 640);
  CHECK(max_threads_per_block(128, 10) == 512);
  CHECK(max_threads_per_block(168, 9) == 384);
  CHECK(max_threads_per_block(255, 9) == 256);
  CHECK(max_threads_per_block(256, 9) == 0);
  CHECK_THROWS_AS(max_threads_per_block(32, 3), fibkit::Error);
}

TEST_CASE("resources: shared memory limits per architecture", "[cuda]") {
  CHECK(max_dynamic_smem("sm_90a") == 232448);
  CHECK(max_dynamic_smem("sm_90") == 232448);
  CHECK(max_dynamic_smem("sm_100a") == 232448);
  CHECK(max_dynamic_smem("sm_103f") == 232448);
  CHECK(max_dynamic_smem("sm_110") == 232448);
  CHECK(max_dynamic_smem("sm_80") == 166912);
  CHECK(max_dynamic_smem("sm_87") == 166912);
  CHECK(max_dynamic_smem("sm_86") == 101376);
  CHECK(max_dynamic_smem("sm_89") == 101376);
  CHECK(max_dynamic_smem("sm_120a") == 101376);
  CHECK(max_dynamic_smem("sm_75") == 65536);
  CHECK_THROWS_AS(max_dynamic_smem("sm_91"), fibkit::Error);
  CHECK_THROWS_AS(max_dynamic_smem("compute_90"), fibkit::Error);
  CHECK_THROWS_AS(max_dynamic_smem(""), fibkit::Error);
}

TEST_CASE("resources: cubin sections of a non-ELF input", "[cuda]") {
  CHECK_THROWS_AS(fibkit::cuda::cubin_section_sizes(""), fibkit::Error);
  CHECK_THROWS_AS(fibkit::cuda::cubin_section_sizes(std::string(64, 'x')), fibkit::Error);
  std::string header(64, '\0');
  header[0] = '\x7f';
  header[1] = 'E';
  header[2] = 'L';
  header[3] = 'F';
  header[4] = 2;
  header[5] = 1;
  header[0x28] = 0x40; // section headers at 64: past the end
  header[0x3a] = 64;
  header[0x3c] = 2;
  CHECK_THROWS_AS(fibkit::cuda::cubin_section_sizes(header), fibkit::Error);
}

TEST_CASE("resources: a real compile", "[nvrtc]") {
  CompileInput input;
  input.name = "kernels/demo/resources.cu";
  input.arch = "sm_90a";
  input.source = R"(
extern "C" __global__ void tile(const float* x, float* y, int n) {
  __shared__ float s[1024];
  s[threadIdx.x] = x[threadIdx.x];
  __syncthreads();
  y[threadIdx.x] = s[(threadIdx.x * 7) % 1024] * n;
}
__device__ __noinline__ float pick(const float* x, int n) {
  float local[64];
  for (int i = 0; i < 64; ++i) local[i] = x[i * n];
  float sum = 0.0f;
  for (int i = 0; i < n; ++i) sum += local[(i * 7) % 64];
  return sum;
}
extern "C" __global__ void stack(const float* x, float* y, int n) {
  y[threadIdx.x] = pick(x, n);
}
)";
  fibkit::cuda::add_signature_probes(input, {"tile", "stack"});
  const auto out = fibkit::cuda::compile(input);
  INFO(out.log);
  REQUIRE(out.ok);
  const auto kernels = fibkit::cuda::kernel_resources(out.log, out.cubin);
  REQUIRE(kernels.size() == 2);
  const KernelResources* tile = find_resources(kernels, "tile");
  REQUIRE(tile != nullptr);
  CHECK(tile->arch == "sm_90a");
  CHECK(tile->static_smem == 4096);
  CHECK(tile->barriers == 1);
  CHECK(tile->registers > 0);
  CHECK(tile->registers <= 255);
  CHECK(tile->local_bytes == 0);
  // Constant bank 0: the driver's words and the 20 bytes of parameters (8 + 8 + 4).
  CHECK(tile->const_bytes > 20);
  const auto sections = fibkit::cuda::cubin_section_sizes(out.cubin);
  CHECK(sections.at(".nv.constant0.tile") == tile->const_bytes);
  CHECK(sections.count(".text.tile") == 1);
  const KernelResources* stack = find_resources(kernels, "stack");
  REQUIRE(stack != nullptr);
  CHECK(stack->local_bytes >= 256); // pick()'s 64 floats live on the stack
  CHECK(stack->static_smem == 0);
  CHECK(max_threads_per_block(stack->registers, 9) == 1024);
}
