// fibkit native reference: dsa_topk_indexer_fp8_h64_d128_topk2048_ps64 (written from the
// definition's math, independent of kernels/; clarity over speed).
//
// k_index_cache_fp8 is raw bytes in the deep_gemm page layout: page p is 8448 contiguous bytes,
// first 64 * 128 fp8 e4m3 bytes (row s of the page at s * 128), then 64 float32 scales.
// For row b with L = seq_lens[b] (clamped to max_num_pages * 64) and position j < L:
//   page = block_table[b][j / 64], s = j % 64,  K[j][c] = fp8(page, s, c) * scale(page, s)
//   score[j] = sum_h relu(q[b][h] . K[j]) * weights[b][h]        (q fp8, no scale)
// topk_indices[b] = the slots page * 64 + s of the min(2048, L) highest scores, in descending
// score order (ties: lower position first), then -1.
//
//   1. dsa_ref_indexer_score_kernel: one thread per (b, j): score in double, h and c ascending,
//      into the workspace `scores` [batch_size, max_num_pages * page_size].
//   2. dsa_ref_indexer_select_kernel: one block per row b; each position j's rank is the number
//      of positions that beat it (higher score, or equal score and lower position); a rank below
//      min(2048, L) is its output slot. O(L^2) comparisons, L <= 91 * 64 in the contest.
#include "fibkit.cuh"

namespace {
constexpr int kNumHeads = 64;
constexpr int kHeadDim = 128;
constexpr int kPageSize = 64;
constexpr int kTopk = 2048;
constexpr int kPageBytes = kPageSize * (kHeadDim + 4); // 8448
} // namespace

// grid [batch_size, max_num_pages], block [page_size]: one thread per (b, position j).
extern "C" __global__ void dsa_ref_indexer_score_kernel(
    const __nv_fp8_e4m3* q_index_fp8,   // [B, 64, 128]
    const unsigned char* k_index_cache, // [num_pages, 64, 1, 132] raw bytes
    const float* weights,               // [B, 64]
    const int* seq_lens,                // [B]
    const int* block_table,             // [B, max_num_pages]
    float* scores,                      // workspace [B, max_num_pages * 64]
    int batch_size, int max_num_pages) {
  const int b = blockIdx.x;
  const int j = blockIdx.y * kPageSize + threadIdx.x;
  if (b >= batch_size || threadIdx.x >= kPageSize) {
    return;
  }
  const int len = min(seq_lens[b], max_num_pages * kPageSize);
  if (j >= len) {
    return;
  }
  const long long page = block_table[b * max_num_pages + j / kPageSize];
  const int s = j % kPageSize;
  const unsigned char* page_bytes = k_index_cache + page * kPageBytes;
  const unsigned char* k_row = page_bytes + s * kHeadDim;
  const float k_scale = reinterpret_cast<const float*>(page_bytes + kPageSize * kHeadDim)[s];

  double score = 0.0;
  for (int h = 0; h < kNumHeads; ++h) {
    const __nv_fp8_e4m3* q_row =
        q_index_fp8 + (static_cast<long long>(b) * kNumHeads + h) * kHeadDim;
    double dot = 0.0;
    for (int c = 0; c < kHeadDim; ++c) {
      const double kc = static_cast<double>(fibkit::fp8_e4m3_to_float(k_row[c]) * k_scale);
      dot += static_cast<double>(static_cast<float>(q_row[c])) * kc;
    }
    if (dot > 0.0) {
      score += dot * static_cast<double>(weights[b * kNumHeads + h]);
    }
  }
  scores[static_cast<long long>(b) * max_num_pages * kPageSize + j] = static_cast<float>(score);
}

// grid [batch_size], block [any]: one block per row, threads stride over positions.
extern "C" __global__ void dsa_ref_indexer_select_kernel(const float* scores, const int* seq_lens,
                                                         const int* block_table,
                                                         int* topk_indices, // [B, 2048]
                                                         int batch_size, int max_num_pages) {
  const int b = blockIdx.x;
  if (b >= batch_size) {
    return;
  }
  const int len = max(0, min(seq_lens[b], max_num_pages * kPageSize));
  const int count = min(kTopk, len);
  int* out = topk_indices + static_cast<long long>(b) * kTopk;
  for (int r = count + threadIdx.x; r < kTopk; r += blockDim.x) {
    out[r] = -1;
  }
  const float* row = scores + static_cast<long long>(b) * max_num_pages * kPageSize;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    const float mine = row[j];
    int rank = 0;
    for (int i = 0; i < len; ++i) {
      const float other = row[i];
      if (other > mine || (other == mine && i < j)) {
        ++rank;
      }
    }
    if (rank < count) {
      const int page = block_table[b * max_num_pages + j / kPageSize];
      out[rank] = page * kPageSize + j % kPageSize;
    }
  }
}
