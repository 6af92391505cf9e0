// gdn_decode_qk4_v8_d128_k_last: Gated DeltaNet, one decode token per sequence.
//
// Simple fp32 reference kernel. For sequence b and value head h (q/k head h / 2), with the state
// S = state[b, h] stored k-last as S[v][k]:
//   g    = exp(-exp(A_log[h]) * softplus(a[b, h] + dt_bias[h]))
//   beta = sigmoid(b[b, h])
//   for every row v:  s       = g * S[v][:]
//                     old_v   = k . s
//                     new_v   = beta * v[v] + (1 - beta) * old_v
//                     S'[v][:] = s - k * old_v + k * new_v
//                     out[v]  = scale * (q . S'[v][:])          (the updated state)
// Every row v evolves on its own, so one warp owns one row: lane l holds the 4 consecutive
// elements k = 4l .. 4l+3 (a coalesced 512-byte row), and each dot product is a warp sum.
//
// Launch: grid [batch_size, num_v_heads, any], block [any multiple of 32]; the warps of the
// blocks along z share the 128 rows of one (b, h) (grid-stride), so every row is written once.
// Cost: 1 MiB of state read + written per sequence; about 8 µs (B = 1) to 28 µs (B = 64) per
// call on an H100.
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumQHeads = 4;                             // num_q_heads
constexpr int kNumKHeads = 4;                             // num_k_heads
constexpr int kNumVHeads = 8;                             // num_v_heads
constexpr int kHeadSize = 128;                            // head_size (K = V)
constexpr int kSeqLen = 1;                                // seq_len (one token per sequence)
constexpr int kVHeadsPerQKHead = kNumVHeads / kNumQHeads; // v head h uses q/k head h / 2
constexpr int kElemsPerLane = kHeadSize / kWarpSize;      // 4
static_assert(kNumQHeads == kNumKHeads, "GVA with as many k heads as q heads");
static_assert(kElemsPerLane == 4, "a lane holds one float4 of a state row");

extern "C" __global__ void gdn_decode_kernel(const bf16* q,        // [B, 1, 4, 128]
                                             const bf16* k,        // [B, 1, 4, 128]
                                             const bf16* v,        // [B, 1, 8, 128]
                                             const float* state,   // [B, 8, 128, 128] or null
                                             const float* A_log,   // [8]
                                             const bf16* a,        // [B, 1, 8]
                                             const float* dt_bias, // [8]
                                             const bf16* b,        // [B, 1, 8]
                                             float scale,
                                             bf16* output,       // [B, 1, 8, 128]
                                             float* new_state) { // [B, 8, 128, 128]
  const int seq = blockIdx.x;
  const int h = blockIdx.y;
  const int qk_head = h / kVHeadsPerQKHead;
  const int lane = threadIdx.x % kWarpSize;
  const int warp = threadIdx.x / kWarpSize;
  const int num_warps = blockDim.x / kWarpSize;
  if (scale == 0.0f) {
    scale = rsqrtf(static_cast<float>(kHeadSize)); // the definition's default
  }

  // Gates of (seq, h), in fp32.
  const long long gate_index = static_cast<long long>(seq) * kSeqLen * kNumVHeads + h;
  const float g = expf(-expf(A_log[h]) * softplus(to_float(a[gate_index]) + dt_bias[h]));
  const float beta = sigmoid(to_float(b[gate_index]));

  // This lane's 4 elements of q and k (token 0 of the sequence).
  const long long qk_offset =
      (static_cast<long long>(seq) * kSeqLen * kNumQHeads + qk_head) * kHeadSize +
      lane * kElemsPerLane;
  const float4 qv = load_bf16x4(q + qk_offset);
  const float4 kv = load_bf16x4(k + qk_offset);
  const float qs[kElemsPerLane] = {qv.x, qv.y, qv.z, qv.w};
  const float ks[kElemsPerLane] = {kv.x, kv.y, kv.z, kv.w};

  const long long head = static_cast<long long>(seq) * kNumVHeads + h; // (seq, h) in [B, 8]
  for (int row = blockIdx.z * num_warps + warp; row < kHeadSize; row += gridDim.z * num_warps) {
    const long long state_offset = (head * kHeadSize + row) * kHeadSize + lane * kElemsPerLane;
    float4 s4 = make_float4(0.0f, 0.0f, 0.0f, 0.0f); // an absent state means zeros
    if (state != nullptr) {
      s4 = *reinterpret_cast<const float4*>(state + state_offset);
    }
    float s[kElemsPerLane] = {s4.x, s4.y, s4.z, s4.w};

    float old_v = 0.0f;
    for (int i = 0; i < kElemsPerLane; ++i) {
      s[i] *= g;
      old_v += ks[i] * s[i];
    }
    old_v = warp_sum(old_v);
    const float v_in = to_float(v[head * kHeadSize + row]); // v[seq, 0, h, row]
    const float new_v = beta * v_in + (1.0f - beta) * old_v;

    float out = 0.0f;
    for (int i = 0; i < kElemsPerLane; ++i) {
      s[i] = s[i] - ks[i] * old_v + ks[i] * new_v;
      out += qs[i] * s[i];
    }
    out = scale * warp_sum(out);

    *reinterpret_cast<float4*>(new_state + state_offset) = make_float4(s[0], s[1], s[2], s[3]);
    if (lane == 0) {
      output[head * kHeadSize + row] = from_float<bf16>(out); // output[seq, 0, h, row]
    }
  }
}
