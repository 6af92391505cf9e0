// fibkit native reference: dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64 (written from the
// definition's math, independent of kernels/; clarity over speed).
//
// With the caches flattened to rows r = page * 64 + offset, for token t and head h over the
// valid entries j of sparse_indices[t] (an entry < 0, i.e. -1, is padding):
//   logit[j] = sm_scale * (q_nope[t,h] . ckv[idx_j] + q_pe[t,h] . kpe[idx_j])
//   lse      = log(sum_j exp(logit[j])) / ln 2                  (base 2)
//   out[d]   = sum_j softmax(logit)[j] * ckv[idx_j][d]
// A token with no valid entry gets output 0 and lse -inf (as the definition's reference).
//
// Three kernels, each with one thread per element of what it computes:
//   1. dsa_ref_logits_kernel: one thread per (t, h, j): logit (double dot) or -inf for padding,
//      into the workspace `probs` [num_tokens, num_qo_heads, topk].
//   2. dsa_ref_softmax_kernel: one thread per (t, h): max, sum of exponentials (double), lse;
//      replaces the logits of the row by their softmax probabilities (0 for padding).
//   3. dsa_ref_output_kernel: one thread per (t, h, d): sum_j p_j * ckv[idx_j][d] in double.
#include "fibkit.cuh"

namespace {
constexpr int kNumHeads = 16;
constexpr int kDimCkv = 512;
constexpr int kDimKpe = 64;
constexpr int kTopk = 2048;
} // namespace

// grid [num_tokens * num_qo_heads, topk / block], block [any]: one thread per (t, h, j).
extern "C" __global__ void
dsa_ref_logits_kernel(const __nv_bfloat16* q_nope,    // [T, 16, 512]
                      const __nv_bfloat16* q_pe,      // [T, 16, 64]
                      const __nv_bfloat16* ckv_cache, // [num_pages, 64, 512]
                      const __nv_bfloat16* kpe_cache, // [num_pages, 64, 64]
                      const int* sparse_indices,      // [T, 2048]
                      float sm_scale,
                      float* probs, // workspace [T, 16, 2048]
                      int num_tokens) {
  const int th = blockIdx.x; // t * 16 + h
  const int j = blockIdx.y * blockDim.x + threadIdx.x;
  if (th >= num_tokens * kNumHeads || j >= kTopk) {
    return;
  }
  const int t = th / kNumHeads;
  const int idx = sparse_indices[t * kTopk + j];
  float* out = probs + static_cast<long long>(th) * kTopk + j;
  if (idx < 0) {
    *out = -__int_as_float(0x7f800000); // padding
    return;
  }
  const __nv_bfloat16* qn = q_nope + static_cast<long long>(th) * kDimCkv;
  const __nv_bfloat16* qp = q_pe + static_cast<long long>(th) * kDimKpe;
  const __nv_bfloat16* kc = ckv_cache + static_cast<long long>(idx) * kDimCkv;
  const __nv_bfloat16* kp = kpe_cache + static_cast<long long>(idx) * kDimKpe;
  double dot = 0.0;
  for (int d = 0; d < kDimCkv; ++d) {
    dot += static_cast<double>(__bfloat162float(qn[d])) * __bfloat162float(kc[d]);
  }
  for (int d = 0; d < kDimKpe; ++d) {
    dot += static_cast<double>(__bfloat162float(qp[d])) * __bfloat162float(kp[d]);
  }
  *out = static_cast<float>(dot * static_cast<double>(sm_scale));
}

// grid [num_tokens], block [num_qo_heads]: one thread per (t, h).
extern "C" __global__ void dsa_ref_softmax_kernel(float* probs, // workspace [T, 16, 2048]
                                                  float* lse,   // [T, 16]
                                                  int num_tokens) {
  const int t = blockIdx.x;
  const int h = threadIdx.x;
  if (t >= num_tokens || h >= kNumHeads) {
    return;
  }
  float* row = probs + (static_cast<long long>(t) * kNumHeads + h) * kTopk;
  const float minus_inf = -__int_as_float(0x7f800000);
  float max_logit = minus_inf;
  for (int j = 0; j < kTopk; ++j) {
    max_logit = fmaxf(max_logit, row[j]);
  }
  if (max_logit == minus_inf) { // no valid entry
    lse[t * kNumHeads + h] = minus_inf;
    for (int j = 0; j < kTopk; ++j) {
      row[j] = 0.0f;
    }
    return;
  }
  double sum = 0.0;
  for (int j = 0; j < kTopk; ++j) {
    if (row[j] != minus_inf) {
      sum += exp(static_cast<double>(row[j]) - max_logit);
    }
  }
  lse[t * kNumHeads + h] = static_cast<float>((max_logit + log(sum)) / log(2.0));
  for (int j = 0; j < kTopk; ++j) {
    row[j] = row[j] != minus_inf
                 ? static_cast<float>(exp(static_cast<double>(row[j]) - max_logit) / sum)
                 : 0.0f;
  }
}

// grid [num_tokens * num_qo_heads], block [head_dim_ckv]: one thread per (t, h, d).
extern "C" __global__ void dsa_ref_output_kernel(const __nv_bfloat16* ckv_cache,
                                                 const int* sparse_indices,
                                                 const float* probs,    // workspace [T, 16, 2048]
                                                 __nv_bfloat16* output, // [T, 16, 512]
                                                 int num_tokens) {
  const int th = blockIdx.x;
  const int d = threadIdx.x;
  if (th >= num_tokens * kNumHeads || d >= kDimCkv) {
    return;
  }
  const int t = th / kNumHeads;
  const float* p = probs + static_cast<long long>(th) * kTopk;
  double acc = 0.0;
  for (int j = 0; j < kTopk; ++j) {
    const int idx = sparse_indices[t * kTopk + j];
    if (idx >= 0) {
      acc += static_cast<double>(p[j]) *
             __bfloat162float(ckv_cache[static_cast<long long>(idx) * kDimCkv + d]);
    }
  }
  output[static_cast<long long>(th) * kDimCkv + d] = __float2bfloat16_rn(static_cast<float>(acc));
}
