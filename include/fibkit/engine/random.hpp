// Reproducible random inputs with the official distributions (official-semantics.md §2):
//  - float32, float16, bfloat16: N(0, 1), drawn in fp32 and rounded to nearest even;
//  - float8_e4m3fn, float8_e5m2: clamp(N(0, 1), -2, 2), then rounded to nearest even;
//  - int64, int32, int16: uniform in [-1024, 1024); int8: uniform in [-128, 128);
//  - bool: 0 or 1 with probability 1/2 each.
// float4_e2m1 is not supported (fill() and fill_random_host() throw).
//
// The generator is counter-based, Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011): nothing is carried from one draw to the next, so every
// element is a pure function of (seed, stream, index) and a run is reproducible with --seed.
// Element i of a tensor uses the Philox block with
//     counter = {lo32(i / 4), hi32(i / 4), lo32(stream), hi32(stream)},  key = {lo32(seed),
//     hi32(seed)}
// and takes word i % 4 of it. Integers and bools take the low bits of that word (the ranges are
// powers of two, so they are exactly uniform). Normals use Box-Muller on the word pairs
// (w0, w1) and (w2, w3): u1 = ((w >> 8) + 1) / 2^24 in (0, 1], u2 = (w' >> 8) / 2^24 in [0, 1),
// z = sqrt(-2 ln u1) * {cos, sin}(2 pi u2), so elements 4b, 4b+1, 4b+2, 4b+3 are r0 cos, r0 sin,
// r1 cos, r1 sin.
//
// Host and device compute the same bits: ln, sin and cos are fibkit's own polynomials made of
// IEEE-rounded fp32 additions, multiplications, divisions and square roots (on the device
// __fadd_rn/__fmul_rn/__fdiv_rn/__fsqrt_rn, which are never contracted into FMAs), not the math
// library's, whose device and host results may differ by an ulp. The conversions round to
// nearest even on both sides (the device uses the cuda_fp16/cuda_bf16/cuda_fp8 intrinsics).
//
// Each trial draws its inputs afresh: input k of trial t uses stream input_stream_id(t, k).
#pragma once

#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/cuda/nvrtc.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace fibkit::engine {

/// Philox4x32-10: ten rounds of the Philox-4x32 bijection of `counter` under `key`
/// (multipliers 0xD2511F53 and 0xCD9E8D57, key increments 0x9E3779B9 and 0xBB67AE85).
std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> counter,
                                           std::array<std::uint32_t, 2> key);

/// The stream of input `input_index` (definition.inputs order) in trial `trial`:
/// (trial << 32) | input_index, so every (trial, input) pair has its own Philox counters.
/// Throws fibkit::Error when `trial` or `input_index` does not fit in 32 bits.
std::uint64_t input_stream_id(std::uint64_t trial, std::size_t input_index);

/// Writes `n` elements of `dtype` to `out` (n * dtype_size(dtype) bytes) exactly as
/// RandomGenerator::fill() writes them on the device. Throws fibkit::Error for float4_e2m1.
void fill_random_host(void* out, std::size_t n, core::DType dtype, std::uint64_t seed,
                      std::uint64_t stream);

/// The DSA top-k indexer's K cache as the official evaluator packs a random one
/// (official-semantics.md §2), into `out` (pages * page_size * (dim + 4) bytes): per token, `dim`
/// normals (elements token * dim + c of the scheme above) rounded to bfloat16,
/// scale = max(amax, 1e-4) / 448, the fp8 e4m3 values x / scale (nearest even), laid out per
/// page as [page_size * dim fp8 bytes][page_size float32 scales]. Exactly what
/// RandomGenerator::fill_packed_k_cache() writes. Throws fibkit::Error unless dim % 4 == 0.
void fill_packed_k_cache_host(std::uint8_t* out, std::int64_t pages, std::int64_t page_size,
                              std::int64_t dim, std::uint64_t seed, std::uint64_t stream);

/// A checksum of `n` bytes for detecting writes: the sum mod 2^64 over the 8-byte little-endian
/// words w (the last one zero-padded) of splitmix64(w ^ splitmix64(index)). Not cryptographic,
/// but any change of a word changes it except with probability about 2^-64. Equals
/// RandomGenerator::checksum() of the same bytes.
std::uint64_t checksum_host(const void* data, std::size_t n);

/// The CUDA source of the kernel `fibkit_fill_random(void* out, long long n, int dtype_code,
/// unsigned long long seed, unsigned long long stream)`; dtype_code is static_cast<int>(DType).
const std::string& random_kernel_source();

/// Compiles random_kernel_source() for `arch` ("sm_90a", "sm_100a"). A compile error is in the
/// output (ok == false), as with cuda::compile().
cuda::CompileOutput compile_random_kernel(const std::string& arch);

/// The random-input kernel loaded in a context. The cubin is compiled once per arch and process
/// (later generators for the same arch reuse it).
class RandomGenerator {
public:
  /// Compiles (or reuses) the kernel for `arch` and loads it into the current context `context`.
  /// Throws fibkit::Error with NVRTC's log when the kernel does not compile.
  RandomGenerator(const cuda::Context& context, const std::string& arch);
  ~RandomGenerator();
  RandomGenerator(const RandomGenerator&) = delete;
  RandomGenerator& operator=(const RandomGenerator&) = delete;

  /// Enqueues on `stream` the fill of the first `numel` elements of `buffer` with the values
  /// fill_random_host(…, numel, dtype, seed, stream_id) gives. Throws fibkit::Error when the
  /// buffer is too small or for float4_e2m1; numel == 0 launches nothing.
  void fill(const cuda::DeviceBuffer& buffer, std::size_t numel, core::DType dtype,
            std::uint64_t seed, std::uint64_t stream_id, CUstream stream) const;

  /// Enqueues fill_packed_k_cache_host()'s bytes into `buffer` on `stream`.
  void fill_packed_k_cache(const cuda::DeviceBuffer& buffer, std::int64_t pages,
                           std::int64_t page_size, std::int64_t dim, std::uint64_t seed,
                           std::uint64_t stream_id, CUstream stream) const;

  /// checksum_host() of the buffer's bytes, computed on the device (synchronises the context's
  /// stream), so that large inputs need not be copied to the host to be checked.
  std::uint64_t checksum(const cuda::DeviceBuffer& buffer, const cuda::Context& context) const;

private:
  std::unique_ptr<cuda::Module> m_module;
  CUfunction m_function = nullptr;
  CUfunction m_packed_function = nullptr;
  CUfunction m_checksum_function = nullptr;
  mutable std::unique_ptr<cuda::DeviceBuffer> m_checksum_out;
  unsigned m_max_blocks = 0;
};

} // namespace fibkit::engine
