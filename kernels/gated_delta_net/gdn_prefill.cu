// gdn_prefill_qk4_v8_d128_k_last: Gated DeltaNet over variable-length sequences packed by
// cu_seqlens (int64, monotone, cu_seqlens[num_seqs] == total_seq_len).
//
// Simple fp32 reference kernel: the decode recurrence (see gdn_decode.cu) applied token by token
// within each sequence i, tokens [cu_seqlens[i], cu_seqlens[i+1]), starting from state[i]. Each
// token's output uses the state updated by that token; new_state[i] is the final state, and 0 for
// an empty sequence. Tokens outside every sequence (only possible when cu_seqlens[0] > 0 or
// cu_seqlens[num_seqs] < total_seq_len) get output 0, as in the reference.
//
// Every row v of a head's state [v][k] evolves on its own, so one warp owns one row through the
// whole sequence: lane l keeps elements k = 4l .. 4l+3 in registers, the dot products are warp
// sums, and the next token's inputs are loaded while the current one is computed.
//
// Launch: grid [num_seqs, num_v_heads, any], block [any multiple of 32]; the warps of the blocks
// along z share the 128 rows of one (sequence, head) (grid-stride).
// Cost: the recurrence is sequential, so the longest sequence sets the time: about 0.7 µs per
// token on an H100 (4 ms for 5709 tokens), plus 1 MiB of state read + written per sequence.
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumQHeads = 4;                             // num_q_heads
constexpr int kNumKHeads = 4;                             // num_k_heads
constexpr int kNumVHeads = 8;                             // num_v_heads
constexpr int kHeadSize = 128;                            // head_size (K = V)
constexpr int kVHeadsPerQKHead = kNumVHeads / kNumQHeads; // v head h uses q/k head h / 2
constexpr int kElemsPerLane = kHeadSize / kWarpSize;      // 4
static_assert(kNumQHeads == kNumKHeads, "GVA with as many k heads as q heads");
static_assert(kElemsPerLane == 4, "a lane holds one float4 of a state row");

// What one token contributes to one state row, as seen by one lane.
struct TokenInputs {
  float q[kElemsPerLane]; // this lane's 4 elements of q[t, h / 2]
  float k[kElemsPerLane]; // and of k[t, h / 2]
  float v;                // v[t, h, row]
  float g;                // decay gate
  float beta;             // update gate
};

__device__ __forceinline__ TokenInputs load_token(const bf16* q, const bf16* k, const bf16* v,
                                                  const bf16* a, const bf16* b, float neg_exp_a_log,
                                                  float dt_bias_h, long long t, int h, int row,
                                                  int lane) {
  const long long qk_offset =
      (t * kNumQHeads + h / kVHeadsPerQKHead) * kHeadSize + lane * kElemsPerLane;
  const float4 qv = load_bf16x4(q + qk_offset);
  const float4 kv = load_bf16x4(k + qk_offset);
  TokenInputs in;
  in.q[0] = qv.x, in.q[1] = qv.y, in.q[2] = qv.z, in.q[3] = qv.w;
  in.k[0] = kv.x, in.k[1] = kv.y, in.k[2] = kv.z, in.k[3] = kv.w;
  in.v = to_float(v[(t * kNumVHeads + h) * kHeadSize + row]);
  in.g = expf(neg_exp_a_log * softplus(to_float(a[t * kNumVHeads + h]) + dt_bias_h));
  in.beta = sigmoid(to_float(b[t * kNumVHeads + h]));
  return in;
}

extern "C" __global__ void gdn_prefill_kernel(const bf16* q,        // [T, 4, 128]
                                              const bf16* k,        // [T, 4, 128]
                                              const bf16* v,        // [T, 8, 128]
                                              const float* state,   // [N, 8, 128, 128] or null
                                              const float* A_log,   // [8]
                                              const bf16* a,        // [T, 8]
                                              const float* dt_bias, // [8]
                                              const bf16* b,        // [T, 8]
                                              const long long* cu_seqlens, // [N + 1]
                                              float scale,
                                              bf16* output,      // [T, 8, 128]
                                              float* new_state,  // [N, 8, 128, 128]
                                              int total_seq_len, // T
                                              int num_seqs) {    // N
  const int seq = blockIdx.x;
  const int h = blockIdx.y;
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  const int num_warps = blockDim.x / kWarpSize;
  if (scale == 0.0f) {
    scale = rsqrtf(static_cast<float>(kHeadSize)); // the definition's default
  }
  const float neg_exp_a_log = -expf(A_log[h]);
  const float dt_bias_h = dt_bias[h];
  const long long total = total_seq_len;
  const long long start = min(max(cu_seqlens[seq], 0LL), total);
  const long long end = min(max(cu_seqlens[seq + 1], start), total);
  const long long head = static_cast<long long>(seq) * kNumVHeads + h; // (seq, h) in [N, 8]

  for (int row = blockIdx.z * num_warps + warp; row < kHeadSize; row += gridDim.z * num_warps) {
    const long long state_offset = (head * kHeadSize + row) * kHeadSize + lane * kElemsPerLane;
    float s[kElemsPerLane] = {0.0f, 0.0f, 0.0f, 0.0f}; // absent state or empty sequence: zeros
    if (state != nullptr && end > start) {
      const float4 s4 = *reinterpret_cast<const float4*>(state + state_offset);
      s[0] = s4.x, s[1] = s4.y, s[2] = s4.z, s[3] = s4.w;
    }

    TokenInputs cur{};
    if (start < end) {
      cur = load_token(q, k, v, a, b, neg_exp_a_log, dt_bias_h, start, h, row, lane);
    }
    for (long long t = start; t < end; ++t) {
      // Prefetch the next token's inputs; they do not depend on the state.
      TokenInputs next = cur;
      if (t + 1 < end) {
        next = load_token(q, k, v, a, b, neg_exp_a_log, dt_bias_h, t + 1, h, row, lane);
      }

      float old_v = 0.0f;
      for (int i = 0; i < kElemsPerLane; ++i) {
        s[i] *= cur.g;
        old_v += cur.k[i] * s[i];
      }
      old_v = warp_sum(old_v);
      const float new_v = cur.beta * cur.v + (1.0f - cur.beta) * old_v;

      float out = 0.0f;
      for (int i = 0; i < kElemsPerLane; ++i) {
        s[i] = s[i] - cur.k[i] * old_v + cur.k[i] * new_v;
        out += cur.q[i] * s[i];
      }
      out = scale * warp_sum(out);
      if (lane == 0) {
        output[(t * kNumVHeads + h) * kHeadSize + row] = from_float<bf16>(out);
      }
      cur = next;
    }
    *reinterpret_cast<float4*>(new_state + state_offset) = make_float4(s[0], s[1], s[2], s[3]);

    // Tokens before the first sequence or after the last one belong to no sequence: output 0.
    // (Never with well-formed cu_seqlens: cu_seqlens[0] == 0 and cu_seqlens[N] == T.)
    if (lane == 0) {
      const long long first = min(max(cu_seqlens[0], 0LL), total);
      const long long last = min(max(cu_seqlens[num_seqs], first), total);
      for (long long t = 0; seq == 0 && t < first; ++t) {
        output[(t * kNumVHeads + h) * kHeadSize + row] = from_float<bf16>(0.0f);
      }
      for (long long t = last; seq == num_seqs - 1 && t < total; ++t) {
        output[(t * kNumVHeads + h) * kHeadSize + row] = from_float<bf16>(0.0f);
      }
    }
  }
}
