// fibkit.cuh: the small device header fibkit provides to every kernel (#include "fibkit.cuh").
//
// It compiles under NVRTC (no host or C++ standard headers: only CUDA's own bf16/fp16/fp8
// headers) and under nvcc, where `fibkit pack` ships it next to the kernels. Everything lives in
// namespace fibkit; a kernel file usually says `using namespace fibkit;` after the include.
//
//   dtype aliases   bf16, fp16, fp8_e4m3, fp8_e5m2, i8, u8, i32, i64: the kernel parameter type of
//                   each definition dtype (listed below)
//   conversions     to_float(x) for every float dtype; from_float<T>(f) rounds to nearest even
//                   (fp8: saturating); fp8x4_e4m3_to_float4(bits) decodes 4 packed e4m3 bytes
//   constants       kWarpSize, kFullMask, pos_inf(), neg_inf()
//   integers        ceil_div(a, b)
//   reductions      warp_sum / warp_max (all 32 lanes take part, all get the result);
//                   block_sum / block_max (every thread of a 1-D block whose size is a multiple
//                   of 32 takes part, all get the result)
//   activations     sigmoid, softplus (torch's: threshold 20), silu, all in fp32
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

namespace fibkit {

// ---- dtype aliases ---------------------------------------------------------------------------
// definition dtype -> parameter type: inputs are `const T*`, outputs `T*`, scalars `T` by value.
using bf16 = __nv_bfloat16;     ///< "bfloat16"
using fp16 = __half;            ///< "float16"
using fp8_e4m3 = __nv_fp8_e4m3; ///< "float8_e4m3fn"
using fp8_e5m2 = __nv_fp8_e5m2; ///< "float8_e5m2"
using i8 = signed char;         ///< "int8" (raw bytes may also be read as unsigned char)
using u8 = unsigned char;       ///< raw bytes
using i32 = int;                ///< "int32"
using i64 = long long;          ///< "int64"

constexpr int kWarpSize = 32;
constexpr unsigned kFullMask = 0xffffffffu;

/// +infinity and -infinity as floats (NVRTC has no <cmath> INFINITY).
__device__ __forceinline__ float pos_inf() {
  return __int_as_float(0x7f800000);
}
__device__ __forceinline__ float neg_inf() {
  return -__int_as_float(0x7f800000);
}

// ---- conversions -----------------------------------------------------------------------------
__device__ __forceinline__ float to_float(float x) {
  return x;
}
__device__ __forceinline__ float to_float(bf16 x) {
  return __bfloat162float(x);
}
__device__ __forceinline__ float to_float(fp16 x) {
  return __half2float(x);
}
__device__ __forceinline__ float to_float(fp8_e4m3 x) {
  return static_cast<float>(x);
}
__device__ __forceinline__ float to_float(fp8_e5m2 x) {
  return static_cast<float>(x);
}

/// Four consecutive bf16 values (8-byte aligned) as floats: one 8-byte load.
__device__ __forceinline__ float4 load_bf16x4(const bf16* p) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const float2 lo = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
  const float2 hi = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
  return make_float4(lo.x, lo.y, hi.x, hi.y);
}

/// Converts fp32 to T, rounding to nearest even (fp8: saturating to the largest finite value).
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <> __device__ __forceinline__ bf16 from_float<bf16>(float x) {
  return __float2bfloat16_rn(x);
}
template <> __device__ __forceinline__ fp16 from_float<fp16>(float x) {
  return __float2half_rn(x);
}
template <> __device__ __forceinline__ fp8_e4m3 from_float<fp8_e4m3>(float x) {
  return fp8_e4m3(x);
}
template <> __device__ __forceinline__ fp8_e5m2 from_float<fp8_e5m2>(float x) {
  return fp8_e5m2(x);
}

/// The value of one e4m3 byte (exact).
__device__ __forceinline__ float fp8_e4m3_to_float(u8 bits) {
  __half_raw h = __nv_cvt_fp8_to_halfraw(bits, __NV_E4M3);
  return __half2float(__half(h));
}

/// The values of 4 e4m3 bytes packed little-endian in `bits` (byte 0 -> .x), exact.
__device__ __forceinline__ float4 fp8x4_e4m3_to_float4(unsigned bits) {
  const __half2 lo(
      __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(bits & 0xffffu), __NV_E4M3));
  const __half2 hi(
      __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(bits >> 16), __NV_E4M3));
  const float2 a = __half22float2(lo);
  const float2 b = __half22float2(hi);
  return make_float4(a.x, a.y, b.x, b.y);
}

// ---- integers --------------------------------------------------------------------------------
/// ceil(a / b) for a >= 0, b > 0.
template <typename T> __host__ __device__ constexpr T ceil_div(T a, T b) {
  return (a + b - 1) / b;
}

// ---- reductions ------------------------------------------------------------------------------
/// Sum over the 32 lanes of a warp; every lane must call it and every lane gets the sum.
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    v += __shfl_xor_sync(kFullMask, v, offset);
  }
  return v;
}

/// Maximum over the 32 lanes of a warp; every lane must call it and every lane gets the result.
__device__ __forceinline__ float warp_max(float v) {
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
    v = fmaxf(v, __shfl_xor_sync(kFullMask, v, offset));
  }
  return v;
}

namespace detail {
// Combines the per-warp results of a 1-D block through shared memory; all threads get the result.
// The leading __syncthreads() makes back-to-back calls safe.
template <bool kMax> __device__ __forceinline__ float block_combine(float warp_result) {
  __shared__ float partial[32];
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  const int num_warps = blockDim.x / kWarpSize;
  __syncthreads();
  if (lane == 0) {
    partial[warp] = warp_result;
  }
  __syncthreads();
  const float identity = kMax ? neg_inf() : 0.0f;
  const float v = lane < num_warps ? partial[lane] : identity;
  return kMax ? warp_max(v) : warp_sum(v);
}
} // namespace detail

/// Sum over a 1-D block (blockDim.x a multiple of 32); every thread must call it.
__device__ __forceinline__ float block_sum(float v) {
  return detail::block_combine<false>(warp_sum(v));
}
/// Maximum over a 1-D block (blockDim.x a multiple of 32); every thread must call it.
__device__ __forceinline__ float block_max(float v) {
  return detail::block_combine<true>(warp_max(v));
}

// ---- activations (fp32) ----------------------------------------------------------------------
__device__ __forceinline__ float sigmoid(float x) {
  return 1.0f / (1.0f + expf(-x));
}
/// torch.nn.functional.softplus(x) with beta 1 and threshold 20.
__device__ __forceinline__ float softplus(float x) {
  return x > 20.0f ? x : log1pf(expf(x));
}
/// x * sigmoid(x), written as x / (1 + exp(-x)).
__device__ __forceinline__ float silu(float x) {
  return x / (1.0f + expf(-x));
}

} // namespace fibkit
