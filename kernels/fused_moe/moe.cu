// moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048: DeepSeek-V3 MoE layer on one
// expert-parallel rank (32 local experts of 256), fp8 block-scale weights and activations.
//
// Simple fp32 reference kernels. Every fp8 value is dequantised with its 128x128 block scale
// before it is multiplied, as the definition does:
//   A[t, k]      = hidden_states[t, k] * hidden_states_scale[k / 128, t]     (scale transposed)
//   W13[e, n, k] = gemm1_weights[e, n, k] * gemm1_weights_scale[e, n / 128, k / 128]
//   W2[e, h, i]  = gemm2_weights[e, h, i] * gemm2_weights_scale[e, h / 128, i / 128]
// Routing (DeepSeek-V3 no-aux): s = sigmoid(logits), sb = s + bias; the 8 groups of 32 experts
// score the sum of their 2 best sb; keep the 4 best groups; the 8 best sb of their experts are
// selected; weight w_e = s_e / (sum of the 8 selected s + 1e-20) * routed_scaling_factor.
// For each selected expert that is local (le = ge - local_expert_offset in [0, 32)):
//   G = A[t] . W13[le]^T [4096];  C = silu(G[2048:]) * G[:2048] [2048];  O = C . W2[le]^T [7168]
//   output[t] = sum over the token's local experts, ascending, of w * O    (0 if none), in bf16.
//
// Launch plan (three kernels, workspaces named as in config.toml):
//   1. moe_routing_kernel        one thread per token. Writes the token's local experts in
//      ascending order (route_expert [T, 8], -1 after the last) with their weights
//      (route_weight [T, 8]), and appends row id t * 8 + k to the list of expert le
//      (expert_rows [32, T], expert_count [32], which must start at zero). The order inside a
//      list depends on atomics, but every row is computed on its own, so results do not.
//   2. moe_gemm1_swiglu_kernel   grouped GEMM per local expert: a block computes a 64-row x
//      32-column tile of C for one expert (64 up and 64 gate rows of W13 share the tile, so the
//      SwiGLU is done in registers), fp32 FMA on the CUDA cores from shared memory.
//      grid [intermediate_size / 32, any]: blockIdx.y strides over the (expert, 64-row tile)
//      items; writes swiglu_out [T * 8, 2048] fp32 rows t * 8 + k.
//   3. moe_gemm2_combine_kernel  per token: a block owns 64 hidden columns of one token, loads
//      each of its C rows into shared memory and a warp per column takes the dot products with
//      the W2 rows (coalesced), accumulating w * O in ascending expert order; writes the bf16
//      output once (every token, every column). grid [seq_len, hidden_size / 64], block [256].
//      Consecutive blocks are consecutive tokens on the same 64 columns, so those W2 rows (4 MiB
//      for the 32 experts) are served from L2.
// Memory: swiglu_out is the big workspace: 64 KiB per token (8 rows of 2048 fp32, the worst case
// of 8 local experts per token), 924 MB at seq_len = 14107, next to the 1.41 GB of weights;
// the other workspaces are 164 B per token + 128 B.
// Cost: 6 * P * 7168 * 2048 FLOP on fp32 CUDA cores, P = number of (token, local expert) pairs
// (about seq_len with uniform routing, up to 8 * seq_len). Measured on an H100 with random
// routing: 0.9 ms (seq_len 1), 2.4 ms (16), 6 ms (901), 74 ms (14107), 89 ms (4000 tokens with
// the local group favoured).
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumExperts = 256;           // num_experts (global)
constexpr int kNumLocalExperts = 32;       // num_local_experts
constexpr int kHiddenSize = 7168;          // hidden_size
constexpr int kIntermediateSize = 2048;    // intermediate_size
constexpr int kGemm1OutSize = 4096;        // gemm1_out_size = 2 * intermediate_size: [up; gate]
constexpr int kNumHiddenBlocks = 56;       // num_hidden_blocks = hidden_size / 128
constexpr int kNumIntermediateBlocks = 16; // num_intermediate_blocks = intermediate_size / 128
constexpr int kNumGemm1OutBlocks = 32;     // num_gemm1_out_blocks = gemm1_out_size / 128
constexpr int kQuantBlock = 128;           // fp8 scale block edge
constexpr int kTopK = 8;                   // experts selected per token
constexpr int kNumGroups = 8;              // expert groups
constexpr int kTopKGroups = 4;             // groups kept per token
constexpr int kGroupSize = kNumExperts / kNumGroups; // 32
constexpr float kWeightEpsilon = 1e-20f;
static_assert(kGemm1OutSize == 2 * kIntermediateSize, "W13 stacks the up and gate halves");
static_assert(kNumHiddenBlocks * kQuantBlock == kHiddenSize, "hidden blocks");
static_assert(kNumIntermediateBlocks * kQuantBlock == kIntermediateSize, "intermediate blocks");
static_assert(kNumGemm1OutBlocks * kQuantBlock == kGemm1OutSize, "gemm1 output blocks");

// ------------------------------------------------------------------------------------------------
// 1. Routing: one thread per token.
// ------------------------------------------------------------------------------------------------
extern "C" __global__ void moe_routing_kernel(const float* routing_logits, // [T, 256]
                                              const bf16* routing_bias,    // [256]
                                              int local_expert_offset, float routed_scaling_factor,
                                              int* route_expert,   // [T, 8] local expert or -1
                                              float* route_weight, // [T, 8]
                                              int* expert_count,   // [32], zero on entry
                                              int* expert_rows,    // [32, T] row ids t * 8 + k
                                              int seq_len) {
  const int t = blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= seq_len) {
    return;
  }
  const float* logits = routing_logits + static_cast<long long>(t) * kNumExperts;
  float s[kNumExperts];      // sigmoid(logit)
  float biased[kNumExperts]; // s + bias: used for the choice only
  for (int e = 0; e < kNumExperts; ++e) {
    s[e] = sigmoid(logits[e]);
    biased[e] = s[e] + to_float(routing_bias[e]);
  }

  // Group score: the sum of the 2 largest biased scores of the group.
  float group_score[kNumGroups];
  for (int g = 0; g < kNumGroups; ++g) {
    float best = neg_inf();
    float second = neg_inf();
    for (int e = g * kGroupSize; e < (g + 1) * kGroupSize; ++e) {
      if (biased[e] > best) {
        second = best;
        best = biased[e];
      } else if (biased[e] > second) {
        second = biased[e];
      }
    }
    group_score[g] = best + second;
  }
  // Keep the 4 best groups (ties: the lower index).
  bool group_kept[kNumGroups] = {};
  for (int n = 0; n < kTopKGroups; ++n) {
    int best = -1;
    for (int g = 0; g < kNumGroups; ++g) {
      if (!group_kept[g] && (best < 0 || group_score[g] > group_score[best])) {
        best = g;
      }
    }
    group_kept[best] = true;
  }
  // Select the 8 best experts of the kept groups by biased score (ties: the lower index).
  bool selected[kNumExperts] = {};
  float s_sum = 0.0f;
  for (int n = 0; n < kTopK; ++n) {
    int best = -1;
    for (int e = 0; e < kNumExperts; ++e) {
      if (group_kept[e / kGroupSize] && !selected[e] && (best < 0 || biased[e] > biased[best])) {
        best = e;
      }
    }
    selected[best] = true;
    s_sum += s[best];
  }
  s_sum += kWeightEpsilon;

  // The token's local experts, ascending.
  int k = 0;
  for (int le = 0; le < kNumLocalExperts; ++le) {
    const int ge = local_expert_offset + le;
    if (ge < 0 || ge >= kNumExperts || !selected[ge]) {
      continue;
    }
    const int row = t * kTopK + k;
    route_expert[row] = le;
    route_weight[row] = (s[ge] / s_sum) * routed_scaling_factor;
    const int position = atomicAdd(&expert_count[le], 1);
    expert_rows[static_cast<long long>(le) * seq_len + position] = row;
    ++k;
  }
  for (; k < kTopK; ++k) {
    route_expert[t * kTopK + k] = -1;
    route_weight[t * kTopK + k] = 0.0f;
  }
}

// ------------------------------------------------------------------------------------------------
// 2. GEMM1 + SwiGLU, grouped by local expert.
// ------------------------------------------------------------------------------------------------
constexpr int kG1Threads = 256; // 16 x 16 threads, 4 rows x 2 columns each
constexpr int kG1TileRows = 64; // rows (token, k) of one expert
constexpr int kG1TileCols = 32; // columns of C: W13 rows n0.. (up) and 2048 + n0.. (gate)
constexpr int kG1TileK = 32;    // hidden elements per step
constexpr int kG1RowsPerThread = 4;
constexpr int kG1ColsPerThread = 2;
constexpr int kG1BytesPerLoad = 8; // each thread stages 8 fp8 of A and 8 of W13 per step
static_assert(kG1TileRows * kG1TileK == kG1Threads * kG1BytesPerLoad,
              "A tile = one 8-byte load per thread");
static_assert(2 * kG1TileCols * kG1TileK == kG1Threads * kG1BytesPerLoad,
              "W tile = one 8-byte load per thread");
static_assert(kQuantBlock % kG1TileK == 0, "a k step stays inside one scale block");
static_assert(kIntermediateSize % kG1TileCols == 0 && kHiddenSize % kG1TileK == 0, "tiles divide");

// Eight consecutive fp8 (8-byte aligned) as floats, each times `scale`.
__device__ __forceinline__ void load_fp8x8_scaled(const fp8_e4m3* p, float scale, float* out) {
  const uint2 raw = *reinterpret_cast<const uint2*>(p);
  const float4 lo = fp8x4_e4m3_to_float4(raw.x);
  const float4 hi = fp8x4_e4m3_to_float4(raw.y);
  out[0] = lo.x * scale, out[1] = lo.y * scale, out[2] = lo.z * scale, out[3] = lo.w * scale;
  out[4] = hi.x * scale, out[5] = hi.y * scale, out[6] = hi.z * scale, out[7] = hi.w * scale;
}

extern "C" __global__ void __launch_bounds__(kG1Threads)
    moe_gemm1_swiglu_kernel(const fp8_e4m3* hidden_states,    // [T, 7168]
                            const float* hidden_states_scale, // [56, T]
                            const fp8_e4m3* gemm1_weights,    // [32, 4096, 7168]
                            const float* gemm1_weights_scale, // [32, 32, 56]
                            int* expert_count,                // [32] (read only here)
                            int* expert_rows,                 // [32, T] (read only here)
                            float* swiglu_out,                // [T * 8, 2048]
                            int seq_len) {
  // Tiles in k-major order: a_s[k][row] of A, w_s[k][column] of W13 (up columns, then gate).
  __shared__ __align__(16) float a_s[kG1TileK][kG1TileRows];
  __shared__ __align__(16) float w_s[kG1TileK][2 * kG1TileCols];
  __shared__ int row_s[kG1TileRows]; // row id t * 8 + k, or -1

  if (blockDim.x != kG1Threads) {
    __trap(); // the tile mapping below needs exactly 256 threads
  }
  const int tid = threadIdx.x;
  const int ty = tid / 16; // rows ty * 4 ..
  const int tx = tid % 16; // columns tx * 2 ..
  const int n0 = blockIdx.x * kG1TileCols;
  if (n0 >= kIntermediateSize) {
    return; // a grid wider than intermediate_size / 32
  }
  // Staging: thread -> (tile row or W13 row, 8 consecutive k).
  const int load_row = tid / (kG1TileK / kG1BytesPerLoad);
  const int load_k = (tid % (kG1TileK / kG1BytesPerLoad)) * kG1BytesPerLoad;
  const int w_row =
      load_row < kG1TileCols ? n0 + load_row : kIntermediateSize + n0 + (load_row - kG1TileCols);

  int item = 0; // (expert, 64-row tile) items in a fixed order; block y takes every gridDim.y-th
  for (int e = 0; e < kNumLocalExperts; ++e) {
    const int count = expert_count[e];
    for (int m0 = 0; m0 < count; m0 += kG1TileRows, ++item) {
      if (item % gridDim.y != blockIdx.y) {
        continue;
      }
      __syncthreads(); // the previous item's readers of row_s are done
      if (tid < kG1TileRows) {
        row_s[tid] =
            m0 + tid < count ? expert_rows[static_cast<long long>(e) * seq_len + m0 + tid] : -1;
      }
      __syncthreads();

      const int a_row_id = row_s[load_row];
      const int a_token = a_row_id >= 0 ? a_row_id / kTopK : -1;
      const fp8_e4m3* w_ptr =
          gemm1_weights + (static_cast<long long>(e) * kGemm1OutSize + w_row) * kHiddenSize;
      const float* w_scale =
          gemm1_weights_scale +
          (static_cast<long long>(e) * kNumGemm1OutBlocks + w_row / kQuantBlock) * kNumHiddenBlocks;

      float up[kG1RowsPerThread][kG1ColsPerThread] = {};
      float gate[kG1RowsPerThread][kG1ColsPerThread] = {};
      for (int k0 = 0; k0 < kHiddenSize; k0 += kG1TileK) {
        const int kb = k0 / kQuantBlock;
        float a_val[kG1BytesPerLoad] = {};
        if (a_token >= 0) {
          load_fp8x8_scaled(
              hidden_states + static_cast<long long>(a_token) * kHiddenSize + k0 + load_k,
              hidden_states_scale[static_cast<long long>(kb) * seq_len + a_token], a_val);
        }
        float w_val[kG1BytesPerLoad];
        load_fp8x8_scaled(w_ptr + k0 + load_k, w_scale[kb], w_val);

        __syncthreads(); // the previous step's readers of a_s / w_s are done
        for (int i = 0; i < kG1BytesPerLoad; ++i) {
          a_s[load_k + i][load_row] = a_val[i];
          w_s[load_k + i][load_row] = w_val[i];
        }
        __syncthreads();

        for (int kk = 0; kk < kG1TileK; ++kk) {
          const float4 a4 = *reinterpret_cast<const float4*>(&a_s[kk][ty * kG1RowsPerThread]);
          const float2 u2 = *reinterpret_cast<const float2*>(&w_s[kk][tx * kG1ColsPerThread]);
          const float2 g2 =
              *reinterpret_cast<const float2*>(&w_s[kk][kG1TileCols + tx * kG1ColsPerThread]);
          const float a[kG1RowsPerThread] = {a4.x, a4.y, a4.z, a4.w};
          for (int r = 0; r < kG1RowsPerThread; ++r) {
            up[r][0] += a[r] * u2.x;
            up[r][1] += a[r] * u2.y;
            gate[r][0] += a[r] * g2.x;
            gate[r][1] += a[r] * g2.y;
          }
        }
      }

      for (int r = 0; r < kG1RowsPerThread; ++r) {
        const int row_id = row_s[ty * kG1RowsPerThread + r];
        if (row_id < 0) {
          continue;
        }
        float* out = swiglu_out + static_cast<long long>(row_id) * kIntermediateSize + n0 +
                     tx * kG1ColsPerThread;
        for (int c = 0; c < kG1ColsPerThread; ++c) {
          out[c] = silu(gate[r][c]) * up[r][c];
        }
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 3. GEMM2 + weighted combination, per token.
// ------------------------------------------------------------------------------------------------
constexpr int kG2Columns = 64; // hidden columns per block (grid y = hidden_size / 64)
constexpr int kG2BytesPerLane = 4;
constexpr int kG2Steps = kIntermediateSize / (kWarpSize * kG2BytesPerLane); // 16 x 128 elements
static_assert(kWarpSize * kG2BytesPerLane == kQuantBlock, "a warp step spans one scale block");
static_assert(kHiddenSize % kG2Columns == 0, "column blocks divide hidden_size");

extern "C" __global__ void
moe_gemm2_combine_kernel(const fp8_e4m3* gemm2_weights,    // [32, 7168, 2048]
                         const float* gemm2_weights_scale, // [32, 56, 16]
                         int* route_expert,                // [T, 8] (read only here)
                         float* route_weight,              // [T, 8] (read only here)
                         float* swiglu_out,                // [T * 8, 2048] (read only here)
                         bf16* output) {                   // [T, 7168]
  // Shared: one C row at a time, and the running sum of w * O for the block's 64 columns.
  __shared__ __align__(16) float c_s[kIntermediateSize];
  __shared__ float acc_s[kG2Columns];

  const long long t = blockIdx.x;
  const int h0 = blockIdx.y * kG2Columns;
  const int tid = threadIdx.x;
  const int lane = tid % kWarpSize;
  const int warp = tid / kWarpSize;
  const int num_warps = blockDim.x / kWarpSize;
  if (h0 >= kHiddenSize) {
    return; // a grid taller than hidden_size / 64
  }

  for (int c = tid; c < kG2Columns; c += blockDim.x) {
    acc_s[c] = 0.0f;
  }
  for (int k = 0; k < kTopK; ++k) {
    const int le = route_expert[t * kTopK + k];
    if (le < 0) {
      break; // the local experts come first, ascending; -1 ends the list
    }
    const float weight = route_weight[t * kTopK + k];
    const float* c_row = swiglu_out + (t * kTopK + k) * kIntermediateSize;
    __syncthreads(); // the previous row's readers of c_s are done (and acc_s is initialised)
    for (int i = tid; i < kIntermediateSize; i += blockDim.x) {
      c_s[i] = c_row[i];
    }
    __syncthreads();

    for (int c = warp; c < kG2Columns; c += num_warps) {
      const int h = h0 + c;
      const fp8_e4m3* w_row =
          gemm2_weights + (static_cast<long long>(le) * kHiddenSize + h) * kIntermediateSize;
      const float* w_scale =
          gemm2_weights_scale + (static_cast<long long>(le) * kNumHiddenBlocks + h / kQuantBlock) *
                                    kNumIntermediateBlocks;
      float dot = 0.0f;
      for (int step = 0; step < kG2Steps; ++step) { // step == i / 128: the scale block
        const int i = step * kQuantBlock + lane * kG2BytesPerLane;
        float4 wf = fp8x4_e4m3_to_float4(*reinterpret_cast<const unsigned*>(w_row + i));
        const float scale = w_scale[step];
        wf.x *= scale, wf.y *= scale, wf.z *= scale, wf.w *= scale;
        const float4 cf = *reinterpret_cast<const float4*>(&c_s[i]);
        dot += wf.x * cf.x + wf.y * cf.y + wf.z * cf.z + wf.w * cf.w;
      }
      dot = warp_sum(dot);
      if (lane == 0) {
        acc_s[c] += weight * dot;
      }
    }
  }
  __syncthreads();
  for (int c = tid; c < kG2Columns; c += blockDim.x) {
    output[t * kHiddenSize + h0 + c] = from_float<bf16>(acc_s[c]);
  }
}
