// fibkit native reference: moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048 (written
// from the definition's math, independent of kernels/; clarity over speed).
//
// Dequantisation (block 128): A[t][k] = fp8(hs[t][k]) * hs_scale[k / 128][t] (transposed scale),
// W13[e][n][k] = fp8 * S13[e][n / 128][k / 128], W2[e][h][i] = fp8 * S2[e][h / 128][i / 128].
// A dot product over a dimension cut in 128-blocks is computed as
//   sum over blocks kb (in double) of scale_a * scale_w * (sum over the block of the raw
//   products: fp32 over each lane's 4, then double over the lanes)
// which is the same sum as over the dequantised values (products of two e4m3 values are exact).
//
//   1. moe_ref_routing_kernel, one thread per token: s = sigmoid(logits), sb = s + bias over all
//      256 experts; group score = sum of the 2 largest sb of each group of 32; keep the 4 best
//      groups; pick the 8 best sb among their experts; weight of a pick = s / (sum of the 8 s +
//      1e-20) * routed_scaling_factor. The picks that are local (local_expert_offset .. +31) go
//      to the token's slots 0..7 in ascending local expert order (slot_expert = -1 after them).
//   2. moe_ref_gemm1_kernel, one warp per (token, slot, i < I): X1 = A[t] . W13[e][i],
//      gate = A[t] . W13[e][I + i], act[t][slot][i] = silu(gate) * X1 (workspace).
//   3. moe_ref_gemm2_kernel, one warp per output element (t, h): sum over the token's slots of
//      weight * (act[t][slot] . W2[e][h]) in double; a token without local experts gets 0.
// In both GEMMs lane l of the warp takes elements 4l..4l+3 of each 128-block (coalesced reads of
// the weight rows); its fp32 partial of those 4 products is scaled and added in double, and the
// lanes' doubles are summed at the end.
#include "fibkit.cuh"

namespace {
constexpr int kNumExperts = 256;
constexpr int kNumGroups = 8;
constexpr int kGroupSize = kNumExperts / kNumGroups; // 32
constexpr int kTopkGroups = 4;
constexpr int kTopk = 8;
constexpr int kNumLocalExperts = 32;
constexpr int kHidden = 7168;
constexpr int kInter = 2048;
constexpr int kBlock = 128;
constexpr int kHiddenBlocks = kHidden / kBlock;      // 56
constexpr int kInterBlocks = kInter / kBlock;        // 16
constexpr int kGemm1OutBlocks = 2 * kInter / kBlock; // 32
} // namespace

// grid [ceil_div(seq_len, block)], block [any]: one thread per token.
extern "C" __global__ void moe_ref_routing_kernel(const float* routing_logits,       // [T, 256]
                                                  const __nv_bfloat16* routing_bias, // [256]
                                                  int local_expert_offset,
                                                  float routed_scaling_factor,
                                                  int* slot_expert,   // [T, 8] local id or -1
                                                  float* slot_weight, // [T, 8]
                                                  int seq_len) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= seq_len) {
    return;
  }
  float s[kNumExperts];
  float sb[kNumExperts];
  for (int e = 0; e < kNumExperts; ++e) {
    s[e] = 1.0f / (1.0f + expf(-routing_logits[static_cast<long long>(t) * kNumExperts + e]));
    sb[e] = s[e] + __bfloat162float(routing_bias[e]);
  }

  // Group scores: the sum of the two largest sb of the group.
  float group_score[kNumGroups];
  for (int g = 0; g < kNumGroups; ++g) {
    int best = -1;
    for (int e = g * kGroupSize; e < (g + 1) * kGroupSize; ++e) {
      if (best < 0 || sb[e] > sb[best]) {
        best = e;
      }
    }
    int second = -1;
    for (int e = g * kGroupSize; e < (g + 1) * kGroupSize; ++e) {
      if (e != best && (second < 0 || sb[e] > sb[second])) {
        second = e;
      }
    }
    group_score[g] = sb[best] + sb[second];
  }

  // The 4 best groups, by repeated argmax.
  bool group_kept[kNumGroups];
  for (int g = 0; g < kNumGroups; ++g) {
    group_kept[g] = false;
  }
  for (int pick = 0; pick < kTopkGroups; ++pick) {
    int best = -1;
    for (int g = 0; g < kNumGroups; ++g) {
      if (!group_kept[g] && (best < 0 || group_score[g] > group_score[best])) {
        best = g;
      }
    }
    group_kept[best] = true;
  }

  // The 8 best experts of the kept groups, by repeated argmax.
  bool chosen[kNumExperts];
  for (int e = 0; e < kNumExperts; ++e) {
    chosen[e] = false;
  }
  float weight_sum = 0.0f;
  for (int pick = 0; pick < kTopk; ++pick) {
    int best = -1;
    for (int e = 0; e < kNumExperts; ++e) {
      if (group_kept[e / kGroupSize] && !chosen[e] && (best < 0 || sb[e] > sb[best])) {
        best = e;
      }
    }
    chosen[best] = true;
    weight_sum += s[best];
  }

  // Local picks, ascending local expert id.
  int slot = 0;
  for (int le = 0; le < kNumLocalExperts; ++le) {
    const int ge = local_expert_offset + le;
    if (ge >= 0 && ge < kNumExperts && chosen[ge]) {
      slot_expert[t * kTopk + slot] = le;
      slot_weight[t * kTopk + slot] = s[ge] / (weight_sum + 1e-20f) * routed_scaling_factor;
      ++slot;
    }
  }
  for (; slot < kTopk; ++slot) {
    slot_expert[t * kTopk + slot] = -1;
    slot_weight[t * kTopk + slot] = 0.0f;
  }
}

// Sums a double over the 32 lanes of a warp (every lane gets the total).
__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    v += __shfl_xor_sync(0xffffffffu, v, offset);
  }
  return v;
}

// Four consecutive e4m3 values (4-byte aligned) as floats.
__device__ __forceinline__ void load_fp8x4(const __nv_fp8_e4m3* p, float out[4]) {
  const unsigned bits = *reinterpret_cast<const unsigned*>(p);
  for (int j = 0; j < 4; ++j) {
    __nv_fp8_e4m3 v;
    v.__x = static_cast<__nv_fp8_storage_t>((bits >> (8 * j)) & 0xffu);
    out[j] = static_cast<float>(v);
  }
}

// grid [seq_len * 8, intermediate_size / 8], block [256]: one warp per (t, slot, i); lane l
// takes elements 4l..4l+3 of every 128-block, so the warp reads each weight row contiguously.
extern "C" __global__ void moe_ref_gemm1_kernel(const __nv_fp8_e4m3* hidden_states, // [T, H]
                                                const float* hidden_states_scale,   // [56, T]
                                                const __nv_fp8_e4m3* gemm1_weights, // [32, 2I, H]
                                                const float* gemm1_weights_scale,   // [32, 32, 56]
                                                const int* slot_expert,             // [T, 8]
                                                float* act,                         // [T * 8, I]
                                                int seq_len) {
  const int row = blockIdx.x; // t * 8 + slot
  const int lane = threadIdx.x % 32;
  const int i = blockIdx.y * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= seq_len * kTopk || i >= kInter) {
    return;
  }
  const int e = slot_expert[row];
  if (e < 0) {
    return; // empty slot: act is never read
  }
  const int t = row / kTopk;
  const __nv_fp8_e4m3* a_row = hidden_states + static_cast<long long>(t) * kHidden;
  const __nv_fp8_e4m3* up_row =
      gemm1_weights + (static_cast<long long>(e) * 2 * kInter + i) * kHidden;
  const __nv_fp8_e4m3* gate_row =
      gemm1_weights + (static_cast<long long>(e) * 2 * kInter + kInter + i) * kHidden;
  const float* w_scale =
      gemm1_weights_scale + static_cast<long long>(e) * kGemm1OutBlocks * kHiddenBlocks;

  double x1 = 0.0;
  double gate = 0.0;
  for (int kb = 0; kb < kHiddenBlocks; ++kb) {
    const int k = kb * kBlock + 4 * lane;
    float a[4], up[4], g[4];
    load_fp8x4(a_row + k, a);
    load_fp8x4(up_row + k, up);
    load_fp8x4(gate_row + k, g);
    float part_up = 0.0f;
    float part_gate = 0.0f;
    for (int j = 0; j < 4; ++j) {
      part_up += a[j] * up[j];
      part_gate += a[j] * g[j];
    }
    const double a_scale = hidden_states_scale[static_cast<long long>(kb) * seq_len + t];
    x1 += a_scale * w_scale[(i / kBlock) * kHiddenBlocks + kb] * part_up;
    gate += a_scale * w_scale[((kInter + i) / kBlock) * kHiddenBlocks + kb] * part_gate;
  }
  x1 = warp_sum(x1);
  gate = warp_sum(gate);
  if (lane == 0) {
    const double silu_gate = gate / (1.0 + exp(-gate));
    act[static_cast<long long>(row) * kInter + i] = static_cast<float>(silu_gate * x1);
  }
}

// grid [seq_len, hidden_size / 8], block [256]: one warp per output element (t, h); lane l takes
// elements 4l..4l+3 of every 128-block of the intermediate dimension.
extern "C" __global__ void moe_ref_gemm2_kernel(const __nv_fp8_e4m3* gemm2_weights, // [32, H, I]
                                                const float* gemm2_weights_scale,   // [32, 56, 16]
                                                const int* slot_expert,             // [T, 8]
                                                const float* slot_weight,           // [T, 8]
                                                const float* act,                   // [T * 8, I]
                                                __nv_bfloat16* output,              // [T, H]
                                                int seq_len) {
  const int t = blockIdx.x;
  const int lane = threadIdx.x % 32;
  const int h = blockIdx.y * (blockDim.x / 32) + threadIdx.x / 32;
  if (t >= seq_len || h >= kHidden) {
    return;
  }
  double total = 0.0;
  for (int slot = 0; slot < kTopk; ++slot) {
    const int e = slot_expert[t * kTopk + slot];
    if (e < 0) {
      continue;
    }
    const float* c = act + (static_cast<long long>(t) * kTopk + slot) * kInter;
    const __nv_fp8_e4m3* w_row = gemm2_weights + (static_cast<long long>(e) * kHidden + h) * kInter;
    const float* w_scale = gemm2_weights_scale +
                           (static_cast<long long>(e) * kHiddenBlocks + h / kBlock) * kInterBlocks;
    double o = 0.0;
    for (int ib = 0; ib < kInterBlocks; ++ib) {
      const int i = ib * kBlock + 4 * lane;
      float w[4];
      load_fp8x4(w_row + i, w);
      const float4 cv = *reinterpret_cast<const float4*>(c + i);
      const float part = cv.x * w[0] + cv.y * w[1] + cv.z * w[2] + cv.w * w[3];
      o += static_cast<double>(w_scale[ib]) * part;
    }
    total += static_cast<double>(slot_weight[t * kTopk + slot]) * o;
  }
  total = warp_sum(total);
  if (lane == 0) {
    output[static_cast<long long>(t) * kHidden + h] =
        __float2bfloat16_rn(static_cast<float>(total));
  }
}
