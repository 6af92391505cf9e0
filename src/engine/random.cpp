#include "fibkit/engine/random.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

// The host functions below must round every operation as the device's __f*_rn intrinsics do:
// no FMA contraction (GCC's ISO mode, -std=c++17, already implies -ffp-contract=off) and no
// -ffast-math.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

namespace fibkit::engine {

static_assert(static_cast<int>(core::DType::float32) == 0 &&
                  static_cast<int>(core::DType::float16) == 1 &&
                  static_cast<int>(core::DType::bfloat16) == 2 &&
                  static_cast<int>(core::DType::float8_e4m3fn) == 3 &&
                  static_cast<int>(core::DType::float8_e5m2) == 4 &&
                  static_cast<int>(core::DType::float4_e2m1) == 5 &&
                  static_cast<int>(core::DType::int64) == 6 &&
                  static_cast<int>(core::DType::int32) == 7 &&
                  static_cast<int>(core::DType::int16) == 8 &&
                  static_cast<int>(core::DType::int8) == 9 &&
                  static_cast<int>(core::DType::boolean) == 10,
              "the kernel's dtype codes are the DType values");

namespace {

// ---- the device source ------------------------------------------------------------------------
// Every function here has a host twin below, written operation for operation the same.

const char* const k_device_source = R"(
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

namespace fibkit_random {

__device__ __forceinline__ void philox4x32_10(unsigned c[4], unsigned k0, unsigned k1) {
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const unsigned hi0 = __umulhi(0xD2511F53u, c[0]);
    const unsigned lo0 = 0xD2511F53u * c[0];
    const unsigned hi1 = __umulhi(0xCD9E8D57u, c[2]);
    const unsigned lo1 = 0xCD9E8D57u * c[2];
    const unsigned c1 = c[1], c3 = c[3];
    c[0] = hi1 ^ c1 ^ k0;
    c[1] = lo1;
    c[2] = hi0 ^ c3 ^ k1;
    c[3] = lo0;
  }
}

// ln(k / 2^24) for k in [1, 2^24]: k = m 2^e with m in (sqrt(1/2), sqrt(2)],
// ln m = 2 atanh(s), s = (m - 1) / (m + 1), atanh by its series to s^11.
__device__ __forceinline__ float ln_u(unsigned k) {
  const unsigned bits = __float_as_uint(__uint2float_rn(k));
  int e = static_cast<int>(bits >> 23) - 127 - 24;
  float m = __uint_as_float((bits & 0x7fffffu) | 0x3f800000u);
  if (m > 1.41421354f) {
    m = __fmul_rn(m, 0.5f);
    e += 1;
  }
  const float s = __fdiv_rn(__fadd_rn(m, -1.0f), __fadd_rn(m, 1.0f));
  const float z = __fmul_rn(s, s);
  float p = 0.0909090936f;
  p = __fadd_rn(__fmul_rn(p, z), 0.111111112f);
  p = __fadd_rn(__fmul_rn(p, z), 0.142857149f);
  p = __fadd_rn(__fmul_rn(p, z), 0.200000003f);
  p = __fadd_rn(__fmul_rn(p, z), 0.333333343f);
  const float t = __fadd_rn(s, __fmul_rn(s, __fmul_rn(z, p)));
  const float fe = __int2float_rn(e);
  return __fadd_rn(__fmul_rn(fe, 0.693145752f),
                   __fadd_rn(__fmul_rn(fe, 1.42860677e-06f), __fmul_rn(2.0f, t)));
}

// sin and cos of 2 pi k / 2^24 for k in [0, 2^24): the nearest quarter turn n, then Taylor
// polynomials on x in [-pi/4, pi/4].
__device__ __forceinline__ void sincos_turns(unsigned k, float* sin_out, float* cos_out) {
  const unsigned n = (k + (1u << 21)) >> 22;
  const int r = static_cast<int>(k) - static_cast<int>(n << 22);
  const float x = __fmul_rn(__int2float_rn(r), 3.74507039e-07f);
  const float x2 = __fmul_rn(x, x);
  float ps = 2.75573188e-06f;
  ps = __fadd_rn(__fmul_rn(ps, x2), -0.000198412701f);
  ps = __fadd_rn(__fmul_rn(ps, x2), 0.00833333377f);
  ps = __fadd_rn(__fmul_rn(ps, x2), -0.166666672f);
  const float s = __fadd_rn(x, __fmul_rn(__fmul_rn(x, x2), ps));
  float pc = -2.755732e-07f;
  pc = __fadd_rn(__fmul_rn(pc, x2), 2.48015876e-05f);
  pc = __fadd_rn(__fmul_rn(pc, x2), -0.00138888892f);
  pc = __fadd_rn(__fmul_rn(pc, x2), 0.0416666679f);
  pc = __fadd_rn(__fmul_rn(pc, x2), -0.5f);
  const float c = __fadd_rn(1.0f, __fmul_rn(x2, pc));
  switch (n & 3u) {
  case 0: *sin_out = s; *cos_out = c; break;
  case 1: *sin_out = c; *cos_out = -s; break;
  case 2: *sin_out = -s; *cos_out = -c; break;
  default: *sin_out = -c; *cos_out = s; break;
  }
}

// Box-Muller on (w0, w1): r cos and r sin.
__device__ __forceinline__ void box_muller(unsigned w0, unsigned w1, float* z0, float* z1) {
  const float r = __fsqrt_rn(__fmul_rn(-2.0f, ln_u((w0 >> 8) + 1u)));
  float s, c;
  sincos_turns(w1 >> 8, &s, &c);
  *z0 = __fmul_rn(r, c);
  *z1 = __fmul_rn(r, s);
}

__device__ __forceinline__ float clamp2(float z) { return z < -2.0f ? -2.0f : (z > 2.0f ? 2.0f : z); }

} // namespace fibkit_random

extern "C" __global__ void fibkit_fill_random(void* out, long long n, int dtype_code,
                                              unsigned long long seed, unsigned long long stream) {
  using namespace fibkit_random;
  const unsigned long long count = static_cast<unsigned long long>(n);
  const unsigned long long blocks = (count + 3ull) / 4ull;
  const unsigned long long step = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
  for (unsigned long long b = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       b < blocks; b += step) {
    unsigned w[4] = {static_cast<unsigned>(b), static_cast<unsigned>(b >> 32),
                     static_cast<unsigned>(stream), static_cast<unsigned>(stream >> 32)};
    philox4x32_10(w, static_cast<unsigned>(seed), static_cast<unsigned>(seed >> 32));
    float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (dtype_code <= 4) {
      box_muller(w[0], w[1], &z[0], &z[1]);
      box_muller(w[2], w[3], &z[2], &z[3]);
    }
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const unsigned long long i = 4ull * b + j;
      if (i >= count) break;
      switch (dtype_code) {
      case 0: static_cast<float*>(out)[i] = z[j]; break;
      case 1: static_cast<__half*>(out)[i] = __float2half_rn(z[j]); break;
      case 2: static_cast<__nv_bfloat16*>(out)[i] = __float2bfloat16_rn(z[j]); break;
      case 3:
        static_cast<unsigned char*>(out)[i] =
            __nv_cvt_float_to_fp8(clamp2(z[j]), __NV_SATFINITE, __NV_E4M3);
        break;
      case 4:
        static_cast<unsigned char*>(out)[i] =
            __nv_cvt_float_to_fp8(clamp2(z[j]), __NV_SATFINITE, __NV_E5M2);
        break;
      case 6: static_cast<long long*>(out)[i] = static_cast<long long>(w[j] & 2047u) - 1024; break;
      case 7: static_cast<int*>(out)[i] = static_cast<int>(w[j] & 2047u) - 1024; break;
      case 8: static_cast<short*>(out)[i] = static_cast<short>(static_cast<int>(w[j] & 2047u) - 1024); break;
      case 9: static_cast<signed char*>(out)[i] = static_cast<signed char>(static_cast<int>(w[j] & 255u) - 128); break;
      case 10: static_cast<unsigned char*>(out)[i] = static_cast<unsigned char>(w[j] & 1u); break;
      default: break;
      }
    }
  }
}

// The DSA indexer's packed fp8 K cache (see fill_packed_k_cache_host): one thread per token.
extern "C" __global__ void fibkit_fill_packed_k_cache(unsigned char* out, long long tokens,
                                                      int page_size, int dim,
                                                      unsigned long long seed,
                                                      unsigned long long stream) {
  using namespace fibkit_random;
  const unsigned long long step = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
  for (unsigned long long t = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       t < static_cast<unsigned long long>(tokens); t += step) {
    float amax = 0.0f;
    for (int pass = 0; pass < 2; ++pass) {
      const float scale = __fdiv_rn(fmaxf(amax, 1e-4f), 448.0f);
      for (int c4 = 0; c4 < dim; c4 += 4) {
        const unsigned long long b = (t * static_cast<unsigned long long>(dim) + c4) / 4ull;
        unsigned w[4] = {static_cast<unsigned>(b), static_cast<unsigned>(b >> 32),
                         static_cast<unsigned>(stream), static_cast<unsigned>(stream >> 32)};
        philox4x32_10(w, static_cast<unsigned>(seed), static_cast<unsigned>(seed >> 32));
        float z[4];
        box_muller(w[0], w[1], &z[0], &z[1]);
        box_muller(w[2], w[3], &z[2], &z[3]);
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const float x = __bfloat162float(__float2bfloat16_rn(z[j]));
          if (pass == 0) {
            amax = fmaxf(amax, fabsf(x));
          } else {
            const unsigned long long page = t / page_size, slot = t % page_size;
            out[page * page_size * (dim + 4) + slot * dim + c4 + j] =
                __nv_cvt_float_to_fp8(__fdiv_rn(x, scale), __NV_SATFINITE, __NV_E4M3);
          }
        }
      }
      if (pass == 1) {
        const unsigned long long page = t / page_size, slot = t % page_size;
        *reinterpret_cast<float*>(out + page * page_size * (dim + 4) +
                                  static_cast<unsigned long long>(page_size) * dim + slot * 4) =
            scale;
      }
    }
  }
}

// checksum_host() on the device: a sum over 8-byte words of mix(word, index), zero-padded tail.
__device__ __forceinline__ unsigned long long fibkit_mix(unsigned long long x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

extern "C" __global__ void fibkit_checksum(const unsigned char* data, long long n,
                                           unsigned long long* out) {
  const unsigned long long words = (static_cast<unsigned long long>(n) + 7ull) / 8ull;
  const unsigned long long full = static_cast<unsigned long long>(n) / 8ull;
  const unsigned long long step = static_cast<unsigned long long>(gridDim.x) * blockDim.x;
  unsigned long long sum = 0;
  for (unsigned long long w = static_cast<unsigned long long>(blockIdx.x) * blockDim.x + threadIdx.x;
       w < words; w += step) {
    unsigned long long word = 0;
    if (w < full) {
      word = reinterpret_cast<const unsigned long long*>(data)[w];
    } else {
      for (unsigned long long b = 8ull * w; b < static_cast<unsigned long long>(n); ++b) {
        word |= static_cast<unsigned long long>(data[b]) << (8ull * (b - 8ull * w));
      }
    }
    sum += fibkit_mix(word ^ fibkit_mix(w));
  }
  atomicAdd(out, sum);
}
)";

constexpr const char* k_kernel_name = "fibkit_fill_random";
constexpr const char* k_checksum_kernel_name = "fibkit_checksum";
constexpr const char* k_packed_kernel_name = "fibkit_fill_packed_k_cache";

// ---- the host twins ---------------------------------------------------------------------------

std::uint32_t float_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float bits_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

float ln_u(std::uint32_t k) {
  const std::uint32_t bits = float_bits(static_cast<float>(k));
  int e = static_cast<int>(bits >> 23) - 127 - 24;
  float m = bits_float((bits & 0x7fffffu) | 0x3f800000u);
  if (m > 1.41421354f) {
    m = m * 0.5f;
    e += 1;
  }
  const float s = (m + -1.0f) / (m + 1.0f);
  const float z = s * s;
  float p = 0.0909090936f;
  p = p * z + 0.111111112f;
  p = p * z + 0.142857149f;
  p = p * z + 0.200000003f;
  p = p * z + 0.333333343f;
  const float t = s + s * (z * p);
  const float fe = static_cast<float>(e);
  return fe * 0.693145752f + (fe * 1.42860677e-06f + 2.0f * t);
}

void sincos_turns(std::uint32_t k, float* sin_out, float* cos_out) {
  const std::uint32_t n = (k + (1u << 21)) >> 22;
  const int r = static_cast<int>(k) - static_cast<int>(n << 22);
  const float x = static_cast<float>(r) * 3.74507039e-07f;
  const float x2 = x * x;
  float ps = 2.75573188e-06f;
  ps = ps * x2 + -0.000198412701f;
  ps = ps * x2 + 0.00833333377f;
  ps = ps * x2 + -0.166666672f;
  const float s = x + (x * x2) * ps;
  float pc = -2.755732e-07f;
  pc = pc * x2 + 2.48015876e-05f;
  pc = pc * x2 + -0.00138888892f;
  pc = pc * x2 + 0.0416666679f;
  pc = pc * x2 + -0.5f;
  const float c = 1.0f + x2 * pc;
  switch (n & 3u) {
  case 0:
    *sin_out = s;
    *cos_out = c;
    break;
  case 1:
    *sin_out = c;
    *cos_out = -s;
    break;
  case 2:
    *sin_out = -s;
    *cos_out = -c;
    break;
  default:
    *sin_out = -c;
    *cos_out = s;
    break;
  }
}

void box_muller(std::uint32_t w0, std::uint32_t w1, float* z0, float* z1) {
  const float r = std::sqrt(-2.0f * ln_u((w0 >> 8) + 1u));
  float s, c;
  sincos_turns(w1 >> 8, &s, &c);
  *z0 = r * c;
  *z1 = r * s;
}

float clamp2(float z) {
  return z < -2.0f ? -2.0f : (z > 2.0f ? 2.0f : z);
}

/// `x` rounded to nearest even in the binary format with `exp_bits` exponent bits (IEEE bias) and
/// `man_bits` mantissa bits, subnormals included, as its bits (sign in bit exp_bits + man_bits).
/// Inputs beyond the format's range are not handled (the callers' values are within it).
std::uint32_t round_to_format(float x, int exp_bits, int man_bits) {
  const std::uint32_t bits = float_bits(x);
  const std::uint32_t sign = (bits >> 31) << (exp_bits + man_bits);
  const std::uint32_t exp_field = (bits >> 23) & 0xffu;
  if (exp_field == 0) {
    return sign; // zero or an fp32 subnormal: below half the smallest subnormal of the format
  }
  const int bias = (1 << (exp_bits - 1)) - 1;
  const int e = static_cast<int>(exp_field) - 127;
  const std::uint32_t sig = (bits & 0x7fffffu) | 0x800000u;
  const int emin = 1 - bias;
  int shift = 23 - man_bits;
  std::uint32_t base = 0;
  if (e >= emin) {
    base = static_cast<std::uint32_t>(e + bias) << man_bits;
  } else {
    shift += emin - e;
    if (shift > 24) {
      return sign; // below half the smallest subnormal
    }
  }
  std::uint32_t kept = sig >> shift;
  const std::uint32_t rem = sig & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  if (e >= emin) {
    kept &= (1u << man_bits) - 1u; // drop the implicit bit; the exponent is in `base`
  }
  std::uint32_t result = base + kept;
  if (rem > half || (rem == half && (kept & 1u) != 0)) {
    ++result; // a carry out of the mantissa moves to the next binade, as it should
  }
  return sign | result;
}

std::uint16_t to_bfloat16(float x) {
  const std::uint32_t bits = float_bits(x);
  return static_cast<std::uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

template <typename T> void store(void* out, std::size_t i, T value) {
  std::memcpy(static_cast<unsigned char*>(out) + i * sizeof(T), &value, sizeof(T));
}

void check_packed_shape(std::int64_t pages, std::int64_t page_size, std::int64_t dim) {
  if (pages < 0 || page_size <= 0 || dim <= 0 || dim % 4 != 0) {
    throw Error(fmt::format("packed K cache [{}, {}, 1, {}]: needs pages >= 0, page_size > 0 and "
                            "a head dim that is a positive multiple of 4",
                            pages, page_size, dim + 4));
  }
}

void check_supported(core::DType dtype) {
  if (dtype == core::DType::float4_e2m1) {
    throw Error("random inputs of dtype float4_e2m1 are not supported");
  }
}

} // namespace

std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> c,
                                           std::array<std::uint32_t, 2> key) {
  std::uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    const std::uint64_t p0 = std::uint64_t{0xD2511F53u} * c[0];
    const std::uint64_t p1 = std::uint64_t{0xCD9E8D57u} * c[2];
    const auto hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const auto hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
  }
  return c;
}

std::uint64_t input_stream_id(std::uint64_t trial, std::size_t input_index) {
  if (trial > 0xffffffffu || static_cast<std::uint64_t>(input_index) > 0xffffffffu) {
    throw Error(fmt::format("random stream of trial {} input {}: both must fit in 32 bits", trial,
                            input_index));
  }
  return (trial << 32) | static_cast<std::uint64_t>(input_index);
}

void fill_random_host(void* out, std::size_t n, core::DType dtype, std::uint64_t seed,
                      std::uint64_t stream) {
  check_supported(dtype);
  const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed),
                                         static_cast<std::uint32_t>(seed >> 32)};
  const bool normal = static_cast<int>(dtype) <= 4;
  const std::uint64_t blocks = (static_cast<std::uint64_t>(n) + 3) / 4;
  for (std::uint64_t b = 0; b < blocks; ++b) {
    const std::array<std::uint32_t, 4> w = philox4x32_10(
        {static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32),
         static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
        key);
    float z[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (normal) {
      box_muller(w[0], w[1], &z[0], &z[1]);
      box_muller(w[2], w[3], &z[2], &z[3]);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      const std::size_t i = static_cast<std::size_t>(4 * b) + j;
      if (i >= n) {
        break;
      }
      switch (dtype) {
      case core::DType::float32:
        store<float>(out, i, z[j]);
        break;
      case core::DType::float16:
        store<std::uint16_t>(out, i, static_cast<std::uint16_t>(round_to_format(z[j], 5, 10)));
        break;
      case core::DType::bfloat16:
        store<std::uint16_t>(out, i, to_bfloat16(z[j]));
        break;
      case core::DType::float8_e4m3fn:
        store<std::uint8_t>(out, i, static_cast<std::uint8_t>(round_to_format(clamp2(z[j]), 4, 3)));
        break;
      case core::DType::float8_e5m2:
        store<std::uint8_t>(out, i, static_cast<std::uint8_t>(round_to_format(clamp2(z[j]), 5, 2)));
        break;
      case core::DType::int64:
        store<std::int64_t>(out, i, static_cast<std::int64_t>(w[j] & 2047u) - 1024);
        break;
      case core::DType::int32:
        store<std::int32_t>(out, i, static_cast<std::int32_t>(w[j] & 2047u) - 1024);
        break;
      case core::DType::int16:
        store<std::int16_t>(out, i,
                            static_cast<std::int16_t>(static_cast<int>(w[j] & 2047u) - 1024));
        break;
      case core::DType::int8:
        store<std::int8_t>(out, i, static_cast<std::int8_t>(static_cast<int>(w[j] & 255u) - 128));
        break;
      case core::DType::boolean:
        store<std::uint8_t>(out, i, static_cast<std::uint8_t>(w[j] & 1u));
        break;
      case core::DType::float4_e2m1:
        break;
      }
    }
  }
}

void fill_packed_k_cache_host(std::uint8_t* out, std::int64_t pages, std::int64_t page_size,
                              std::int64_t dim, std::uint64_t seed, std::uint64_t stream) {
  check_packed_shape(pages, page_size, dim);
  const std::array<std::uint32_t, 2> key{static_cast<std::uint32_t>(seed),
                                         static_cast<std::uint32_t>(seed >> 32)};
  const auto d = static_cast<std::size_t>(dim);
  const auto ps = static_cast<std::size_t>(page_size);
  std::vector<float> row(d);
  for (std::size_t t = 0; t < static_cast<std::size_t>(pages * page_size); ++t) {
    float amax = 0.0f;
    for (std::size_t c4 = 0; c4 < d; c4 += 4) {
      const std::uint64_t b = (t * d + c4) / 4;
      const std::array<std::uint32_t, 4> w = philox4x32_10(
          {static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(b >> 32),
           static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)},
          key);
      box_muller(w[0], w[1], &row[c4], &row[c4 + 1]);
      box_muller(w[2], w[3], &row[c4 + 2], &row[c4 + 3]);
      for (std::size_t j = c4; j < c4 + 4; ++j) {
        row[j] = bits_float(static_cast<std::uint32_t>(to_bfloat16(row[j])) << 16);
        amax = std::max(amax, std::fabs(row[j]));
      }
    }
    const float scale = std::max(amax, 1e-4f) / 448.0f;
    std::uint8_t* page = out + (t / ps) * ps * (d + 4);
    for (std::size_t c = 0; c < d; ++c) {
      page[(t % ps) * d + c] = static_cast<std::uint8_t>(round_to_format(row[c] / scale, 4, 3));
    }
    std::memcpy(page + ps * d + (t % ps) * 4, &scale, 4);
  }
}

namespace {

std::uint64_t mix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

} // namespace

std::uint64_t checksum_host(const void* data, std::size_t n) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  std::uint64_t sum = 0;
  for (std::size_t w = 0; w < (n + 7) / 8; ++w) {
    std::uint64_t word = 0;
    std::memcpy(&word, bytes + 8 * w, std::min<std::size_t>(8, n - 8 * w)); // little-endian
    sum += mix64(word ^ mix64(w));
  }
  return sum;
}

const std::string& random_kernel_source() {
  static const std::string source(k_device_source);
  return source;
}

cuda::CompileOutput compile_random_kernel(const std::string& arch) {
  cuda::CompileInput in;
  in.name = "fibkit_random.cu";
  in.source = random_kernel_source();
  in.name_expressions = {k_kernel_name, k_packed_kernel_name, k_checksum_kernel_name};
  in.arch = arch;
  return cuda::compile(in);
}

namespace {

/// The cubin for `arch`, compiled on first use and kept for the process.
const std::string& random_cubin(const std::string& arch) {
  static std::mutex mutex;
  static std::map<std::string, std::string> cubins;
  const std::lock_guard<std::mutex> lock(mutex);
  auto it = cubins.find(arch);
  if (it == cubins.end()) {
    const cuda::CompileOutput out = compile_random_kernel(arch);
    if (!out.ok) {
      throw Error(
          fmt::format("the random-input kernel does not compile for {}:\n{}", arch, out.log));
    }
    it = cubins.emplace(arch, out.cubin).first;
  }
  return it->second;
}

} // namespace

RandomGenerator::RandomGenerator(const cuda::Context& context, const std::string& arch)
    : m_module(std::make_unique<cuda::Module>(random_cubin(arch))),
      m_function(m_module->function(k_kernel_name)),
      m_packed_function(m_module->function(k_packed_kernel_name)),
      m_checksum_function(m_module->function(k_checksum_kernel_name)),
      m_max_blocks(static_cast<unsigned>(std::max(1, context.info().num_sms)) * 8u) {}

RandomGenerator::~RandomGenerator() = default;

void RandomGenerator::fill(const cuda::DeviceBuffer& buffer, std::size_t numel, core::DType dtype,
                           std::uint64_t seed, std::uint64_t stream_id, CUstream stream) const {
  check_supported(dtype);
  if (numel > buffer.size() / core::dtype_size(dtype)) {
    throw Error(fmt::format("random fill of {} {} elements: the buffer has only {} bytes", numel,
                            core::dtype_name(dtype), buffer.size()));
  }
  if (numel == 0) {
    return;
  }
  constexpr unsigned k_threads = 256;
  const std::uint64_t blocks = (static_cast<std::uint64_t>(numel) + 3) / 4;
  const std::uint64_t grid =
      std::min<std::uint64_t>((blocks + k_threads - 1) / k_threads, m_max_blocks);
  cuda::LaunchDims dims;
  dims.grid = {static_cast<unsigned>(grid), 1, 1};
  dims.block = {k_threads, 1, 1};
  CUdeviceptr out = buffer.ptr();
  auto n = static_cast<long long>(numel);
  int dtype_code = static_cast<int>(dtype);
  unsigned long long seed_arg = seed;
  unsigned long long stream_arg = stream_id;
  void* args[] = {&out, &n, &dtype_code, &seed_arg, &stream_arg};
  cuda::launch(m_function, dims, stream, args);
}

void RandomGenerator::fill_packed_k_cache(const cuda::DeviceBuffer& buffer, std::int64_t pages,
                                          std::int64_t page_size, std::int64_t dim,
                                          std::uint64_t seed, std::uint64_t stream_id,
                                          CUstream stream) const {
  check_packed_shape(pages, page_size, dim);
  const auto bytes = static_cast<std::size_t>(pages * page_size * (dim + 4));
  if (bytes > buffer.size()) {
    throw Error(fmt::format("packed K cache of {} bytes: the buffer has only {} bytes", bytes,
                            buffer.size()));
  }
  if (bytes == 0) {
    return;
  }
  constexpr unsigned k_threads = 128;
  const std::uint64_t tokens = static_cast<std::uint64_t>(pages * page_size);
  cuda::LaunchDims dims;
  dims.grid = {static_cast<unsigned>(
                   std::min<std::uint64_t>((tokens + k_threads - 1) / k_threads, m_max_blocks)),
               1, 1};
  dims.block = {k_threads, 1, 1};
  CUdeviceptr out = buffer.ptr();
  auto n = static_cast<long long>(tokens);
  int ps = static_cast<int>(page_size);
  int d = static_cast<int>(dim);
  unsigned long long seed_arg = seed;
  unsigned long long stream_arg = stream_id;
  void* args[] = {&out, &n, &ps, &d, &seed_arg, &stream_arg};
  cuda::launch(m_packed_function, dims, stream, args);
}

std::uint64_t RandomGenerator::checksum(const cuda::DeviceBuffer& buffer,
                                        const cuda::Context& context) const {
  if (buffer.size() == 0) {
    return 0;
  }
  if (!m_checksum_out) {
    m_checksum_out = std::make_unique<cuda::DeviceBuffer>(sizeof(std::uint64_t));
  }
  m_checksum_out->fill(0, context.stream());
  constexpr unsigned k_threads = 256;
  const std::uint64_t words = (buffer.size() + 7) / 8;
  cuda::LaunchDims dims;
  dims.grid = {static_cast<unsigned>(
                   std::min<std::uint64_t>((words + k_threads - 1) / k_threads, m_max_blocks)),
               1, 1};
  dims.block = {k_threads, 1, 1};
  CUdeviceptr data = buffer.ptr();
  auto n = static_cast<long long>(buffer.size());
  CUdeviceptr out = m_checksum_out->ptr();
  void* args[] = {&data, &n, &out};
  cuda::launch(m_checksum_function, dims, context.stream(), args);
  context.synchronize();
  std::uint64_t sum = 0;
  m_checksum_out->download(&sum, sizeof sum);
  return sum;
}

} // namespace fibkit::engine
