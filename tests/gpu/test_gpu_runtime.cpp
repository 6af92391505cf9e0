// The CUDA runtime layer on a real GPU: device facts, NVRTC -> module -> launch, large dynamic
// shared memory, cluster launches, and errors that keep the failing call.
#include "fibkit/cuda/driver.hpp"
#include "fibkit/cuda/nvrtc.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

using namespace fibkit;

namespace {

std::string compile_for_device(const std::string& source, const std::vector<std::string>& names) {
  cuda::CompileInput in;
  in.name = "gpu_test.cu";
  in.source = source;
  in.arch = cuda::detect_arch();
  in.name_expressions = names;
  const cuda::CompileOutput out = cuda::compile(in);
  INFO(out.log);
  REQUIRE(out.ok);
  return out.cubin;
}

const char* k_source = R"(
extern "C" __global__ void saxpy(const float* x, float* y, float a, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}
// Reverses each block's slice through dynamic shared memory.
extern "C" __global__ void reverse_smem(const float* x, float* y, int per_block) {
  extern __shared__ float tile[];
  const float* in = x + blockIdx.x * per_block;
  for (int i = threadIdx.x; i < per_block; i += blockDim.x) tile[i] = in[i];
  __syncthreads();
  for (int i = threadIdx.x; i < per_block; i += blockDim.x)
    y[blockIdx.x * per_block + i] = tile[per_block - 1 - i];
}
// Writes each block's rank within its cluster.
extern "C" __global__ void cluster_rank(int* out) {
  unsigned rank;
  asm volatile("mov.u32 %0, %%cluster_ctarank;" : "=r"(rank));
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<int>(rank);
}
)";

} // namespace

TEST_CASE("gpu: the device facts are read", "[gpu]") {
  cuda::Context ctx;
  CHECK_FALSE(ctx.info().name.empty());
  CHECK(ctx.info().num_sms > 0);
  CHECK(ctx.info().cc_major >= 7);
  CHECK(ctx.info().l2_bytes > 0);
  CHECK(ctx.info().max_smem_optin >= 48 * 1024);
  WARN("device: " << ctx.info().name << ", sm_" << ctx.info().cc_major << ctx.info().cc_minor
                  << ", " << ctx.info().num_sms << " SMs, L2 " << ctx.info().l2_bytes << " B");
}

TEST_CASE("gpu: an NVRTC kernel runs and gives the host result", "[gpu]") {
  cuda::Context ctx;
  cuda::Module module(compile_for_device(k_source, {"saxpy"}));
  const int n = 1 << 20;
  std::vector<float> x(n), y(n);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (int i = 0; i < n; ++i) {
    x[i] = normal(rng);
    y[i] = normal(rng);
  }
  cuda::DeviceBuffer dx(n * sizeof(float)), dy(n * sizeof(float));
  dx.upload(x.data(), n * sizeof(float));
  dy.upload(y.data(), n * sizeof(float));
  CUdeviceptr px = dx.ptr(), py = dy.ptr();
  float a = 1.5f;
  int count = n;
  void* args[] = {&px, &py, &a, &count};
  cuda::LaunchDims dims;
  dims.grid = {static_cast<unsigned>((n + 255) / 256), 1, 1};
  dims.block = {256, 1, 1};
  cuda::launch(module.function("saxpy"), dims, ctx.stream(), args);
  ctx.synchronize();
  std::vector<float> out(n);
  dy.download(out.data(), n * sizeof(float));
  for (int i = 0; i < n; ++i) {
    REQUIRE(out[i] == std::fma(a, x[i], y[i])); // NVRTC contracts a * x + y into an FMA
  }
}

TEST_CASE("gpu: dynamic shared memory above 48 KiB is raised automatically", "[gpu]") {
  cuda::Context ctx;
  cuda::Module module(compile_for_device(k_source, {"reverse_smem"}));
  const int per_block = 25 * 1024; // 100 KiB of floats per block
  const int blocks = 8;
  std::vector<float> x(per_block * blocks);
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>(i);
  }
  cuda::DeviceBuffer dx(x.size() * 4), dy(x.size() * 4);
  dx.upload(x.data(), x.size() * 4);
  CUdeviceptr px = dx.ptr(), py = dy.ptr();
  int pb = per_block;
  void* args[] = {&px, &py, &pb};
  cuda::LaunchDims dims;
  dims.grid = {blocks, 1, 1};
  dims.block = {256, 1, 1};
  dims.shared_memory = per_block * 4;
  cuda::launch(module.function("reverse_smem"), dims, ctx.stream(), args);
  ctx.synchronize();
  std::vector<float> out(x.size());
  dy.download(out.data(), out.size() * 4);
  for (int b = 0; b < blocks; ++b) {
    REQUIRE(out[b * per_block] == x[b * per_block + per_block - 1]);
    REQUIRE(out[b * per_block + per_block - 1] == x[b * per_block]);
  }
}

TEST_CASE("gpu: a cluster launch sets the cluster dims", "[gpu]") {
  cuda::Context ctx;
  if (ctx.info().cc_major < 9) {
    WARN("clusters need sm_90 or newer; not checked on this GPU");
    return;
  }
  cuda::Module module(compile_for_device(k_source, {"cluster_rank"}));
  const unsigned blocks = 16;
  cuda::DeviceBuffer d(blocks * sizeof(int));
  CUdeviceptr p = d.ptr();
  void* args[] = {&p};
  cuda::LaunchDims dims;
  dims.grid = {blocks, 1, 1};
  dims.block = {32, 1, 1};
  dims.cluster = {4, 1, 1};
  cuda::launch(module.function("cluster_rank"), dims, ctx.stream(), args);
  ctx.synchronize();
  std::vector<int> rank(blocks);
  d.download(rank.data(), blocks * sizeof(int));
  for (unsigned b = 0; b < blocks; ++b) {
    REQUIRE(rank[b] == static_cast<int>(b % 4));
  }
}

TEST_CASE("gpu: a failing call names itself", "[gpu]") {
  cuda::Context ctx;
  cuda::Module module(compile_for_device(k_source, {"saxpy"}));
  CHECK_THROWS_WITH(module.function("no_such_kernel"),
                    Catch::Contains("cuModuleGetFunction(\"no_such_kernel\")") &&
                        Catch::Contains("CUDA_ERROR_NOT_FOUND"));
}
