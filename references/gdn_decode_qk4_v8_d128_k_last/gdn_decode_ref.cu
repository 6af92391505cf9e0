// fibkit native reference: gdn_decode_qk4_v8_d128_k_last (written from the definition's math,
// independent of kernels/; clarity over speed).
//
// One thread per (sequence b, value head h, state row v). With S = state[b, h] stored k-last
// (S[v][k], k contiguous), q/k head qh = h / 2 and
//   g    = exp(-exp(A_log[h]) * softplus(a[b, h] + dt_bias[h])),  beta = sigmoid(b[b, h]):
//   old_v      = sum_k k[k] * g * S[v][k]
//   new_v      = beta * v[v] + (1 - beta) * old_v
//   S'[v][k]   = g * S[v][k] - k[k] * old_v + k[k] * new_v
//   output[v]  = scale * sum_k q[k] * S'[v][k]            (with the updated state)
// Row v of the state only ever touches row v, so the threads are independent. Dot products
// are accumulated in double, k ascending. state == nullptr means a zero state; scale == 0
// means 1 / sqrt(head_size).
//
// Launch: grid = batch_size * num_v_heads blocks, block = head_size threads (one per row v).
#include "fibkit.cuh"

namespace {
constexpr int kNumVHeads = 8;
constexpr int kHeadSize = 128;
constexpr int kVHeadsPerQKHead = 2; // num_v_heads / num_q_heads
} // namespace

extern "C" __global__ void
gdn_decode_reference_kernel(const __nv_bfloat16* q, // [B, 1, 4, 128]
                            const __nv_bfloat16* k, // [B, 1, 4, 128]
                            const __nv_bfloat16* v, // [B, 1, 8, 128]
                            const float* state,     // [B, 8, 128, 128] (v, k), may be nullptr
                            const float* A_log,     // [8]
                            const __nv_bfloat16* a, // [B, 1, 8]
                            const float* dt_bias,   // [8]
                            const __nv_bfloat16* b, // [B, 1, 8]
                            float scale,
                            __nv_bfloat16* output, // [B, 1, 8, 128]
                            float* new_state,      // [B, 8, 128, 128] (v, k)
                            int batch_size) {
  const int bh = blockIdx.x;   // b * 8 + h
  const int row = threadIdx.x; // v
  if (bh >= batch_size * kNumVHeads || row >= kHeadSize) {
    return;
  }
  const int seq = bh / kNumVHeads;
  const int h = bh % kNumVHeads;
  const int qk_head = h / kVHeadsPerQKHead;

  if (scale == 0.0f) {
    scale = 1.0f / sqrtf(static_cast<float>(kHeadSize));
  }

  // Gates, in fp32 as the definition computes them.
  const float x = __bfloat162float(a[seq * kNumVHeads + h]) + dt_bias[h];
  const float softplus_x = x > 20.0f ? x : log1pf(expf(x));
  const float g = expf(-expf(A_log[h]) * softplus_x);
  const float beta = 1.0f / (1.0f + expf(-__bfloat162float(b[seq * kNumVHeads + h])));

  const __nv_bfloat16* q_vec = q + (seq * 4 + qk_head) * kHeadSize;
  const __nv_bfloat16* k_vec = k + (seq * 4 + qk_head) * kHeadSize;
  const float v_val = __bfloat162float(v[(seq * kNumVHeads + h) * kHeadSize + row]);

  const long long row_offset = (static_cast<long long>(bh) * kHeadSize + row) * kHeadSize;
  const float* s_row = state != nullptr ? state + row_offset : nullptr;
  float* s_new_row = new_state + row_offset;

  // old_v = k . (g * S[v][:])
  double old_v = 0.0;
  for (int kk = 0; kk < kHeadSize; ++kk) {
    const float s = s_row != nullptr ? s_row[kk] : 0.0f;
    old_v += static_cast<double>(__bfloat162float(k_vec[kk])) * static_cast<double>(g * s);
  }
  const double new_v =
      static_cast<double>(beta) * v_val + (1.0 - static_cast<double>(beta)) * old_v;

  // S'[v][:] and out[v] = scale * q . S'[v][:]
  double out = 0.0;
  for (int kk = 0; kk < kHeadSize; ++kk) {
    const float s = s_row != nullptr ? s_row[kk] : 0.0f;
    const double kv = __bfloat162float(k_vec[kk]);
    const double updated = static_cast<double>(g * s) - kv * old_v + kv * new_v;
    const float updated_f = static_cast<float>(updated);
    s_new_row[kk] = updated_f;
    out += static_cast<double>(__bfloat162float(q_vec[kk])) * static_cast<double>(updated_f);
  }
  output[(seq * kNumVHeads + h) * kHeadSize + row] =
      __float2bfloat16_rn(static_cast<float>(static_cast<double>(scale) * out));
}
