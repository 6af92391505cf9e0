// Synthetic stand-ins for the contest's safetensors blobs (real captured routing logits, sparse
// indices, block tables, GDN tensors), which are not public. The tensors have the STRUCTURE of
// the real ones, so kernels and references behave as on real data:
//   - dsa_sparse_attention `sparse_indices`: per token n_t valid, distinct global slots at the
//     front of the row (a mix of full rows, low-density rows of 100-500 and uniform counts),
//     then -1. The slots are those of a simulated sequence: ceil(L/64) distinct pages, so
//     they cluster into pages as the indexer's output does.
//   - dsa_topk_indexer `seq_lens` / `block_table`: lengths in [1, max_num_pages*64] (short, full
//     and uniform; one row needs all max_num_pages pages) and rows of distinct page ids; every
//     slot of every row is a valid page, distinct over the whole table when it fits.
//   - gdn `q`, `k`: L2-normalised per head; `v`, `a`, `b` N(0,1); `state` N(0,1)*0.1;
//     `A_log` = log(U[1,16]); `dt_bias` the inverse softplus of dt log-uniform in
//     [1e-3, 1e-1] (the Mamba2 / Qwen3-Next initialisation); `cu_seqlens` monotone from 0 to
//     total_seq_len with log-normal sequence lengths.
//   - moe `routing_logits` N(0,1)*2, `routing_bias` N(0,1)*0.1.
//   - anything else: flashinfer-bench's random distribution (bench/utils.py:_rand_tensor), and
//     for the indexer's `k_index_cache_fp8` its packed deep_gemm FP8 cache.
//
// Generator: a seed key is built by splitmix64-mixing the seed with the FNV-1a 64 hashes of the
// definition name, the workload uuid and the input name; it seeds xoshiro256** (through
// splitmix64, as its authors recommend). Normals come from Box-Muller on 53-bit uniforms,
// integers below n from `next() % n` (bias < n / 2^64). The output is therefore a pure function
// of (seed, definition name, workload uuid, input name, shape), identical on every platform.
#pragma once

#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/core/trace/workload.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace fibkit::core {

/// float -> bfloat16 bits, round to nearest even (torch's conversion; NaN -> 0x7fc0).
std::uint16_t float_to_bf16(float value);
/// float -> IEEE binary16 bits, round to nearest even, subnormals kept, overflow -> inf.
std::uint16_t float_to_fp16(float value);
/// float -> float8_e4m3fn bits, round to nearest even; a value that rounds past 448 (|x| > 464;
/// 464 itself ties to 448) becomes NaN (0x7f / 0xff), as torch's cast does.
std::uint8_t float_to_fp8_e4m3fn(float value);
/// float -> float8_e5m2 bits, round to nearest even, overflow -> inf.
std::uint8_t float_to_fp8_e5m2(float value);

/// A stand-in for input `input_name` of `workload`: the definition's dtype, its shape with the
/// workload's axes (0-D for a scalar), and values with the structure described above. A scalar
/// the workload gives inline keeps its value. Deterministic in (seed, definition name, workload
/// uuid, input name). Throws fibkit::Error for an unknown input, a missing axis, a float4_e2m1
/// input, or an axis that makes a structured tensor impossible (e.g. num_pages = 0).
HostTensor synthesize_input(const Definition& definition, const Workload& workload,
                            const std::string& input_name, std::uint64_t seed);

/// The inputs of `definition` that `workload` reads from safetensors, in definition order
/// (whether their blobs exist is the caller's business).
std::vector<std::string> synthesized_inputs(const Definition& definition, const Workload& workload);

/// What write_synthesized_blobs() wrote.
struct SynthSummary {
  std::size_t files = 0;                    ///< safetensors files written
  std::uint64_t bytes = 0;                  ///< their total size
  std::vector<std::filesystem::path> paths; ///< in the order written
};
using SynthProgress =
    std::function<void(std::size_t done, std::size_t total, const std::filesystem::path& file)>;
/// For every workload of every definition of `set`, writes each referenced safetensors file
/// that does not exist below `dataset_root` (absolute paths are kept) with synthesize_input
/// tensors under their tensor keys; a file referenced by several inputs or workloads holds all
/// their keys (the first reference of a key wins). Existing files are left alone, one file is
/// synthesised at a time, and parent directories are created; check_blobs then reports the
/// files present and valid. `progress` (when set) is called after each file with
/// the files written so far, their total and the file's path. Returns what was written.
SynthSummary write_synthesized_blobs(const TraceSet& set, const std::filesystem::path& dataset_root,
                                     std::uint64_t seed, const SynthProgress& progress = {});

} // namespace fibkit::core
