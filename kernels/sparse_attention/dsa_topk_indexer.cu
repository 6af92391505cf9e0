// dsa_topk_indexer_fp8_h64_d128_topk2048_ps64: DeepSeek-V3.2 lightning indexer (decode).
//
// Simple fp32 reference kernels. For batch row b with L = seq_lens[b] tokens (clamped to
// [0, max_num_pages * 64]), token j lives in page block_table[b, j / 64] at offset j % 64:
//   K[j]     = fp8(k bytes of j) * k_scale[j]                           (deep_gemm page layout)
//   score[j] = sum_h relu(q[b, h] . K[j]) * weights[b, h]               (q: fp8, no scale)
//   topk_indices[b] = the global slots page * 64 + offset of the min(L, 2048) best tokens,
//                     sorted by descending score (ties: smaller j first), then -1 padding.
// A k cache page is 64 * 132 = 8448 contiguous bytes: the 64 fp8 rows of 128 bytes, then the 64
// float32 scales; the [num_pages, 64, 1, 132] shape is only a view of those bytes.
//
// Launch plan (two kernels, one workspace `scores` float32 [batch_size, max_num_pages * 64]):
//   1. dsa_indexer_scores_kernel  grid [batch_size, max_num_pages], block [any multiple of 32,
//      e.g. 256]: one block per (row, page of the row) scores that page's 64 tokens.
//   2. dsa_indexer_topk_kernel    grid [batch_size], block [any multiple of 32, e.g. 1024]: one
//      block per row ranks every token j by counting the tokens that beat it (O(L^2), L <= 5824,
//      no sort needed: the ranks form a permutation), and token j with rank r < 2048 goes to
//      topk_indices[b, r].
// Cost: scoring is tiny (<= 31 * 91 pages); ranking is up to 34 M comparisons per row, all rows
// in parallel: about 0.1 ms per call on an H100 for max_num_pages = 20, 1.3 ms for 91.
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumHeads = 64;          // num_index_heads
constexpr int kHeadDim = 128;          // index_head_dim
constexpr int kPageSize = 64;          // page_size
constexpr int kTopK = 2048;            // topk
constexpr int kHeadDimWithScale = 132; // head_dim_with_scale: 128 fp8 bytes + a 4-byte scale
constexpr int kPageBytes = kPageSize * kHeadDimWithScale; // 8448
constexpr int kScalesOffset = kPageSize * kHeadDim;       // the scales follow the 64 fp8 rows
constexpr int kWordsPerRow = kHeadDim / 4;                // a K row as 32 words of 4 fp8
constexpr int kHeadGroups = 4;                            // the 64 heads in 4 groups of 16
constexpr int kHeadsPerGroup = kNumHeads / kHeadGroups;
constexpr int kRankTile = 2048; // scores staged in shared memory
static_assert(kPageBytes % 4 == 0 && kScalesOffset % 4 == 0, "pages are word aligned");

// Number of valid tokens of a row: seq_lens[b] clamped to what the block table can hold.
__device__ __forceinline__ int row_length(const int* seq_lens, int b, int max_num_pages) {
  return min(max(seq_lens[b], 0), max_num_pages * kPageSize);
}

extern "C" __global__ void
dsa_indexer_scores_kernel(const fp8_e4m3* q_index_fp8, // [B, 64, 128]
                          const u8* k_index_cache_fp8, // [P, 64, 1, 132] bytes
                          const float* weights,        // [B, 64]
                          const int* seq_lens,         // [B]
                          const int* block_table,      // [B, max_num_pages]
                          float* scores,               // [B, max_num_pages * 64]
                          int max_num_pages) {
  __shared__ __align__(16) float q_s[kNumHeads][kHeadDim]; // 32 KiB
  __shared__ unsigned k_s[kPageSize][kWordsPerRow + 1];    // fp8 rows, padded: no bank conflicts
  __shared__ float k_scale_s[kPageSize];
  __shared__ float w_s[kNumHeads];
  __shared__ float partial_s[kHeadGroups][kPageSize];

  const int b = blockIdx.x;
  const int page_in_row = blockIdx.y;
  const int tid = threadIdx.x;
  const int length = row_length(seq_lens, b, max_num_pages);
  const int first = page_in_row * kPageSize; // row position of the page's token 0
  if (first >= length) {
    return; // the whole block: this page holds none of the row's tokens
  }
  const int page = block_table[static_cast<long long>(b) * max_num_pages + page_in_row];
  const u8* page_bytes = k_index_cache_fp8 + static_cast<long long>(page) * kPageBytes;

  const unsigned* q_words = reinterpret_cast<const unsigned*>(q_index_fp8) +
                            static_cast<long long>(b) * kNumHeads * kWordsPerRow;
  for (int i = tid; i < kNumHeads * kWordsPerRow; i += blockDim.x) {
    const float4 f = fp8x4_e4m3_to_float4(q_words[i]);
    float* dst = &q_s[i / kWordsPerRow][(i % kWordsPerRow) * 4];
    dst[0] = f.x, dst[1] = f.y, dst[2] = f.z, dst[3] = f.w;
  }
  const unsigned* k_words = reinterpret_cast<const unsigned*>(page_bytes);
  for (int i = tid; i < kPageSize * kWordsPerRow; i += blockDim.x) {
    k_s[i / kWordsPerRow][i % kWordsPerRow] = k_words[i];
  }
  const float* k_scales = reinterpret_cast<const float*>(page_bytes + kScalesOffset);
  for (int i = tid; i < kPageSize; i += blockDim.x) {
    k_scale_s[i] = k_scales[i];
  }
  for (int i = tid; i < kNumHeads; i += blockDim.x) {
    w_s[i] = weights[static_cast<long long>(b) * kNumHeads + i];
  }
  __syncthreads();

  // Work item = (head group, token): 16 dot products of 128, relu, weight, sum.
  for (int item = tid; item < kHeadGroups * kPageSize; item += blockDim.x) {
    const int group = item / kPageSize;
    const int j = item % kPageSize;
    float acc[kHeadsPerGroup];
    for (int hh = 0; hh < kHeadsPerGroup; ++hh) {
      acc[hh] = 0.0f;
    }
    for (int w = 0; w < kWordsPerRow; ++w) {
      float4 kf = fp8x4_e4m3_to_float4(k_s[j][w]);
      const float scale = k_scale_s[j]; // dequantise K first, as the definition does
      kf.x *= scale, kf.y *= scale, kf.z *= scale, kf.w *= scale;
      for (int hh = 0; hh < kHeadsPerGroup; ++hh) {
        const float4 qf =
            *reinterpret_cast<const float4*>(&q_s[group * kHeadsPerGroup + hh][w * 4]);
        acc[hh] += qf.x * kf.x + qf.y * kf.y + qf.z * kf.z + qf.w * kf.w;
      }
    }
    float score = 0.0f;
    for (int hh = 0; hh < kHeadsPerGroup; ++hh) {
      score += fmaxf(acc[hh], 0.0f) * w_s[group * kHeadsPerGroup + hh];
    }
    partial_s[group][j] = score;
  }
  __syncthreads();

  for (int j = tid; j < kPageSize && first + j < length; j += blockDim.x) {
    float score = 0.0f;
    for (int group = 0; group < kHeadGroups; ++group) {
      score += partial_s[group][j];
    }
    scores[static_cast<long long>(b) * max_num_pages * kPageSize + first + j] = score;
  }
}

extern "C" __global__ void
dsa_indexer_topk_kernel(float* scores,          // [B, max_num_pages * 64] (read only here)
                        const int* seq_lens,    // [B]
                        const int* block_table, // [B, max_num_pages]
                        int* topk_indices,      // [B, 2048]
                        int max_num_pages) {
  __shared__ float tile_s[kRankTile];

  const int b = blockIdx.x;
  const int tid = threadIdx.x;
  const int length = row_length(seq_lens, b, max_num_pages);
  const float* row = scores + static_cast<long long>(b) * max_num_pages * kPageSize;
  const int* pages = block_table + static_cast<long long>(b) * max_num_pages;
  int* out = topk_indices + static_cast<long long>(b) * kTopK;

  for (int r = min(length, kTopK) + tid; r < kTopK; r += blockDim.x) {
    out[r] = -1; // padding after the selected tokens (everything when length == 0)
  }

  // rank(i) = #{j : score[j] > score[i] or (score[j] == score[i] and j < i)}: a permutation of
  // 0 .. length-1 in descending score order.
  for (int base = 0; base < length; base += blockDim.x) { // uniform loop: all threads sync
    const int i = base + tid;
    const bool mine = i < length;
    const float si = mine ? row[i] : 0.0f;
    int rank = 0;
    for (int t0 = 0; t0 < length; t0 += kRankTile) {
      const int n = min(kRankTile, length - t0);
      __syncthreads(); // the previous tile is no longer read
      for (int jj = tid; jj < n; jj += blockDim.x) {
        tile_s[jj] = row[t0 + jj];
      }
      __syncthreads();
      if (mine) {
        for (int jj = 0; jj < n; ++jj) {
          const float sj = tile_s[jj];
          rank += (sj > si || (sj == si && t0 + jj < i)) ? 1 : 0;
        }
      }
    }
    if (mine && rank < kTopK) {
      out[rank] = pages[i / kPageSize] * kPageSize + i % kPageSize;
    }
  }
}
