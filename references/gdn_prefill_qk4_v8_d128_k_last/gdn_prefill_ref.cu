// fibkit native reference: gdn_prefill_qk4_v8_d128_k_last (written from the definition's math,
// independent of kernels/; clarity over speed).
//
// One thread per (sequence i, value head h, state row v). The thread copies row v of state[i, h]
// (k-last: S[v][k], k contiguous; zeros when state is nullptr) into new_state and then runs the
// decode recurrence token by token over [cu_seqlens[i], cu_seqlens[i + 1]), updating that row
// of new_state in place (no other thread touches it):
//   g    = exp(-exp(A_log[h]) * softplus(a[t, h] + dt_bias[h])),  beta = sigmoid(b[t, h])
//   old_v      = sum_k k[t][k] * g * S[v][k]
//   new_v      = beta * v[t][v] + (1 - beta) * old_v
//   S[v][k]    = g * S[v][k] - k[t][k] * old_v + k[t][k] * new_v
//   output[t][h][v] = scale * sum_k q[t][k] * S[v][k]       (with the updated state)
// with q/k head h / 2. Dot products accumulate in double, k ascending; the state is stored in
// fp32 after every token, as the definition's reference keeps it. An empty sequence leaves its
// new_state rows zero. scale == 0 means 1 / sqrt(head_size).
//
// Launch: grid = [num_seqs, num_v_heads], block = head_size threads (one per row v).
#include "fibkit.cuh"

namespace {
constexpr int kNumQKHeads = 4;
constexpr int kNumVHeads = 8;
constexpr int kHeadSize = 128;
constexpr int kVHeadsPerQKHead = 2; // num_v_heads / num_q_heads
} // namespace

extern "C" __global__ void
gdn_prefill_reference_kernel(const __nv_bfloat16* q,      // [T, 4, 128]
                             const __nv_bfloat16* k,      // [T, 4, 128]
                             const __nv_bfloat16* v,      // [T, 8, 128]
                             const float* state,          // [N, 8, 128, 128] (v, k), may be nullptr
                             const float* A_log,          // [8]
                             const __nv_bfloat16* a,      // [T, 8]
                             const float* dt_bias,        // [8]
                             const __nv_bfloat16* b,      // [T, 8]
                             const long long* cu_seqlens, // [N + 1]
                             float scale,
                             __nv_bfloat16* output, // [T, 8, 128]
                             float* new_state,      // [N, 8, 128, 128] (v, k)
                             int num_seqs) {
  const int seq = blockIdx.x;
  const int h = blockIdx.y;
  const int row = threadIdx.x;
  if (seq >= num_seqs || h >= kNumVHeads || row >= kHeadSize) {
    return;
  }
  const int qk_head = h / kVHeadsPerQKHead;
  if (scale == 0.0f) {
    scale = 1.0f / sqrtf(static_cast<float>(kHeadSize));
  }

  const long long row_offset =
      ((static_cast<long long>(seq) * kNumVHeads + h) * kHeadSize + row) * kHeadSize;
  float* s_row = new_state + row_offset;

  const long long begin = cu_seqlens[seq];
  const long long end = cu_seqlens[seq + 1];
  if (end <= begin) {
    for (int kk = 0; kk < kHeadSize; ++kk) {
      s_row[kk] = 0.0f; // empty sequence: new_state stays zero
    }
    return;
  }
  for (int kk = 0; kk < kHeadSize; ++kk) {
    s_row[kk] = state != nullptr ? state[row_offset + kk] : 0.0f;
  }

  for (long long t = begin; t < end; ++t) {
    const float x = __bfloat162float(a[t * kNumVHeads + h]) + dt_bias[h];
    const float softplus_x = x > 20.0f ? x : log1pf(expf(x));
    const float g = expf(-expf(A_log[h]) * softplus_x);
    const float beta = 1.0f / (1.0f + expf(-__bfloat162float(b[t * kNumVHeads + h])));

    const __nv_bfloat16* q_vec = q + (t * kNumQKHeads + qk_head) * kHeadSize;
    const __nv_bfloat16* k_vec = k + (t * kNumQKHeads + qk_head) * kHeadSize;
    const float v_val = __bfloat162float(v[(t * kNumVHeads + h) * kHeadSize + row]);

    double old_v = 0.0;
    for (int kk = 0; kk < kHeadSize; ++kk) {
      old_v +=
          static_cast<double>(__bfloat162float(k_vec[kk])) * static_cast<double>(g * s_row[kk]);
    }
    const double new_v =
        static_cast<double>(beta) * v_val + (1.0 - static_cast<double>(beta)) * old_v;

    double out = 0.0;
    for (int kk = 0; kk < kHeadSize; ++kk) {
      const double kv = __bfloat162float(k_vec[kk]);
      const float updated =
          static_cast<float>(static_cast<double>(g * s_row[kk]) - kv * old_v + kv * new_v);
      s_row[kk] = updated;
      out += static_cast<double>(__bfloat162float(q_vec[kk])) * static_cast<double>(updated);
    }
    output[(t * kNumVHeads + h) * kHeadSize + row] =
        __float2bfloat16_rn(static_cast<float>(static_cast<double>(scale) * out));
  }
}
