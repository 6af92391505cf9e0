// gdn_decode_qk4_v8_d128_k_last: Gated DeltaNet, one decode token per sequence.
//
// Math. For sequence b and value head h (q/k head h / 2), with the state S = state[b, h] stored
// k-last as S[v][k] (row v holds 128 contiguous fp32 values of k):
//   g    = exp(-exp(A_log[h]) * softplus(a[b, h] + dt_bias[h]))        (decay)
//   beta = sigmoid(b[b, h])                                             (write strength)
//   for every row v:  old_v    = g * (k . S[v][:])
//                     new_v    = beta * v[v] + (1 - beta) * old_v
//                     delta    = new_v - old_v = beta * (v[v] - old_v)
//                     S'[v][:] = g * S[v][:] + k * delta               (= g S - k old_v + k new_v)
//                     out[v]   = scale * (q . S'[v][:])
//                              = scale * (g * (q . S[v][:]) + (q . k) * delta)
// The last form needs only dot products with the *old* row: both are reduced together as soon as
// the row arrives, and q . k (the same for every row) while it is still in flight. `scale == 0`
// means the definition's default 1/sqrt(128); a null `state` means a zero state.
//
// Layout: q, k [B, 1, 4, 128] bf16; v, output [B, 1, 8, 128] bf16; a, b [B, 1, 8] bf16;
// A_log, dt_bias [8] fp32; state, new_state [B, 8, 128 (v), 128 (k)] fp32, k contiguous.
//
// Decomposition. Rows are independent. A row is 512 B = 32 float4; 8 lanes share a row and lane p
// of the 8 holds the float4s at k = 32 j + 4 p (j = 0..3), so each load or store instruction of a
// warp covers whole 128-byte lines of 4 rows, and a row's dot product is a sum over 8 lanes (three
// shuffles). A warp owns 8 or 16 consecutive rows of one (b, h) (2 or 4 rows per lane group,
// 32 or 64 state values per lane, all in registers). Every state load is issued first, then the
// small inputs; the gates and q . k are computed while the state is in flight; each row is
// written once. State loads and stores are streaming (.cs: touched once; measured neutral in the
// contest's timing). No shared memory, no second pass.
//
// Launch (config.toml): grid [blocks per head, batch_size * num_v_heads], block [32 * warps];
// block x of (b, h) = blockIdx.y owns rows [x, x + 1) * rows_per_warp * warps, where
// rows_per_warp = 128 / (gridDim.x * warps) must be 8 or 16. The plan takes 1-warp blocks below
// batch 4 (batch 1 runs 128 blocks, so every SM gets work) and 4-warp blocks from batch 4 on;
// 8 rows per warp below batch 32 and 16 from batch 32 on (then all the blocks of batch 32 are
// resident at once, at 4 blocks of 124 registers per thread per SM).
//
// Cost: 1,054,752 B per sequence (+ 64 B): the state read and written (1 MiB) plus q, k, v,
// output and gates; about 0.9 FLOP per byte, so memory-bound. Measured on an H200 (contest mode:
// CUPTI, L2 flushed before each call): 2.2 us at batch 1, 9.7 us at batch 32 and 19.2 us at batch
// 64 (3.5 TB/s, 83 % of a 4 GiB device copy's 4.2 TB/s); 8.2 us mean over the 54 workloads, 1.24x
// the previous one-warp-per-row kernel. Per batch size and design notes: docs/kernels/gdn.md.
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumQHeads = 4;                             // num_q_heads
constexpr int kNumKHeads = 4;                             // num_k_heads
constexpr int kNumVHeads = 8;                             // num_v_heads
constexpr int kHeadSize = 128;                            // head_size (K = V)
constexpr int kVHeadsPerQKHead = kNumVHeads / kNumQHeads; // v head h uses q/k head h / 2
constexpr int kLanesPerRow = 8;                           // lanes sharing one state row
constexpr int kRowsPerStep = kWarpSize / kLanesPerRow;    // 4 rows per warp-wide access
constexpr int kVecsPerRow = kHeadSize / 4 / kLanesPerRow; // 4 float4 of a row per lane
static_assert(kNumQHeads == kNumKHeads, "GVA with as many k heads as q heads");

/// Sum over the 8 lanes that share a row (an aligned group of 8); all 32 lanes must call it.
__device__ __forceinline__ float row_sum(float x) {
  x += __shfl_xor_sync(kFullMask, x, 4);
  x += __shfl_xor_sync(kFullMask, x, 2);
  x += __shfl_xor_sync(kFullMask, x, 1);
  return x;
}

/// The dot product of 16 values with a float4 x 4 register tile.
__device__ __forceinline__ float dot16(const float (&x)[kVecsPerRow * 4],
                                       const float4 (&s)[kVecsPerRow]) {
  float acc = 0.0f;
  for (int j = 0; j < kVecsPerRow; ++j) {
    acc = fmaf(x[4 * j + 0], s[j].x, acc);
    acc = fmaf(x[4 * j + 1], s[j].y, acc);
    acc = fmaf(x[4 * j + 2], s[j].z, acc);
    acc = fmaf(x[4 * j + 3], s[j].w, acc);
  }
  return acc;
}

/// Rows [warp_row, warp_row + 4 * kRowsPerLane) of head (seq, h) = `head`: this lane holds rows
/// warp_row + lane / 8 + 4 t (t < kRowsPerLane), float4s 32 j + 4 (lane % 8) of each.
template <int kRowsPerLane>
__device__ __forceinline__ void
decode_rows(const bf16* q, const bf16* k, const bf16* v, const float* state, const float* A_log,
            const bf16* a, const float* dt_bias, const bf16* b, float scale, bf16* output,
            float* new_state, int head, int warp_row, int lane) {
  const int seq = head / kNumVHeads;
  const int h = head % kNumVHeads;
  const int part = lane % kLanesPerRow;           // which float4s of its rows this lane holds
  const int row = warp_row + lane / kLanesPerRow; // this lane's rows: row + t * kRowsPerStep
  const int col = 4 * part;                       // + 32 j

  // 1. The state rows, before anything else: all of this lane's loads in flight at once.
  const long long row_offset = (static_cast<long long>(head) * kHeadSize + row) * kHeadSize;
  float4 s[kRowsPerLane][kVecsPerRow];
  for (int t = 0; t < kRowsPerLane; ++t) {
    for (int j = 0; j < kVecsPerRow; ++j) {
      s[t][j] = make_float4(0.0f, 0.0f, 0.0f, 0.0f); // an absent state means zeros
    }
  }
  if (state != nullptr) {
    for (int t = 0; t < kRowsPerLane; ++t) {
      for (int j = 0; j < kVecsPerRow; ++j) {
        s[t][j] = __ldcs(reinterpret_cast<const float4*>(
            state + row_offset + t * kRowsPerStep * kHeadSize + 32 * j + col));
      }
    }
  }

  // 2. The small inputs: q and k of q/k head h / 2 (this lane's 16 values), v of its rows, gates.
  const long long qk_offset =
      (static_cast<long long>(seq) * kNumQHeads + h / kVHeadsPerQKHead) * kHeadSize + col;
  float qs[4 * kVecsPerRow];
  float ks[4 * kVecsPerRow];
  for (int j = 0; j < kVecsPerRow; ++j) {
    const float4 q4 = load_bf16x4(q + qk_offset + 32 * j);
    const float4 k4 = load_bf16x4(k + qk_offset + 32 * j);
    qs[4 * j + 0] = q4.x, qs[4 * j + 1] = q4.y, qs[4 * j + 2] = q4.z, qs[4 * j + 3] = q4.w;
    ks[4 * j + 0] = k4.x, ks[4 * j + 1] = k4.y, ks[4 * j + 2] = k4.z, ks[4 * j + 3] = k4.w;
  }
  const long long v_offset = static_cast<long long>(head) * kHeadSize + row; // v, output
  float v_in[kRowsPerLane];
  for (int t = 0; t < kRowsPerLane; ++t) {
    v_in[t] = to_float(v[v_offset + t * kRowsPerStep]);
  }
  const float a_in = to_float(a[head]);
  const float b_in = to_float(b[head]);
  const float a_log = A_log[h];
  const float bias = dt_bias[h];

  // 3. While the state is in flight: q . k and the gates.
  float qk = 0.0f;
  for (int i = 0; i < 4 * kVecsPerRow; ++i) {
    qk = fmaf(qs[i], ks[i], qk);
  }
  qk = row_sum(qk);
  const float g = expf(-expf(a_log) * softplus(a_in + bias));
  const float beta = sigmoid(b_in);
  if (scale == 0.0f) {
    scale = rsqrtf(static_cast<float>(kHeadSize)); // the definition's default
  }

  // 4. The rows: both dot products with the old row, then the update and the output.
  float k_s[kRowsPerLane];
  float q_s[kRowsPerLane];
  for (int t = 0; t < kRowsPerLane; ++t) {
    k_s[t] = dot16(ks, s[t]);
    q_s[t] = dot16(qs, s[t]);
  }
  for (int t = 0; t < kRowsPerLane; ++t) {
    k_s[t] = row_sum(k_s[t]);
    q_s[t] = row_sum(q_s[t]);
  }
  for (int t = 0; t < kRowsPerLane; ++t) {
    const float old_v = g * k_s[t];
    const float delta = beta * (v_in[t] - old_v);
    float* dst = new_state + row_offset + t * kRowsPerStep * kHeadSize + col;
    for (int j = 0; j < kVecsPerRow; ++j) {
      const float4 o = s[t][j];
      const float4 n =
          make_float4(fmaf(ks[4 * j + 0], delta, g * o.x), fmaf(ks[4 * j + 1], delta, g * o.y),
                      fmaf(ks[4 * j + 2], delta, g * o.z), fmaf(ks[4 * j + 3], delta, g * o.w));
      __stcs(reinterpret_cast<float4*>(dst + 32 * j), n);
    }
    if (part == 0) {
      output[v_offset + t * kRowsPerStep] = from_float<bf16>(scale * (g * q_s[t] + qk * delta));
    }
  }
}

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
  const int lane = threadIdx.x % kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  const int rows_per_warp = kHeadSize / (gridDim.x * warps); // 8 or 16, set by the launch plan
  const int warp_row = (blockIdx.x * warps + threadIdx.x / kWarpSize) * rows_per_warp;
  if (rows_per_warp == 4 * kRowsPerStep) {
    decode_rows<4>(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state, blockIdx.y,
                   warp_row, lane);
  } else if (rows_per_warp == 2 * kRowsPerStep) {
    decode_rows<2>(q, k, v, state, A_log, a, dt_bias, b, scale, output, new_state, blockIdx.y,
                   warp_row, lane);
  }
  // Any other geometry is a launch plan error: nothing is written, so verification fails.
}
