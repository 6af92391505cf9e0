// gdn_prefill_qk4_v8_d128_k_last: Gated DeltaNet over variable-length sequences packed by
// cu_seqlens (int64, monotone, cu_seqlens[num_seqs] == total_seq_len).
//
// Math: the decode recurrence (see gdn_decode.cu) applied token by token within each sequence
// i, tokens [cu_seqlens[i], cu_seqlens[i+1]), starting from state[i] (zeros when state is null).
// Per token t and value head h (q/k head h / 2), with g = exp(-exp(A_log[h]) * softplus(a[t,h] +
// dt_bias[h])) and beta = sigmoid(b[t,h]), every row v of the 128x128 fp32 state S[v][:] does
//   old_v = g * (k . S[v]),   delta = beta * (v[t,h,v] - old_v)      (= new_v - old_v)
//   S[v]  = g * S[v] + delta * k
//   out[t,h,v] = scale * (q . S[v]) = scale * (g * (q . S_old[v]) + (q . k) * delta)
// The last form needs both dot products of the OLD row, so a token costs one reduction, not two,
// and q . k does not depend on the state: it is computed once per token and head. Going one
// token further back, k_t . S_{t-1} = g_{t-1} (k_t . S_{t-2}) + delta_{t-1} (k_t . k_{t-1}) (and
// likewise for q_t), so the reduction over S can start a token early, beside the previous
// token's scalar chain (see the main loop); k_t . k_{t-1} and q_t . k_{t-1} are per token and
// head too. new_state[i] is the final state, and 0 for an empty sequence. Tokens outside every
// sequence (only when cu_seqlens[0] > 0 or cu_seqlens[num_seqs] < total_seq_len) get output 0,
// as in the reference. scale == 0 means 1 / sqrt(128).
//
// Decomposition: rows evolve independently, so a block of 128 threads owns kRowsPerBlock rows of
// one (sequence, head) for the whole sequence. kLanesPerRow (8) consecutive lanes share a row,
// each keeping kLanesPerRow-strided float4 groups of it in registers (lane j: columns
// 4j + 32m .. 4j + 32m + 3, m = 0..3), so a dot product is 16 FMAs and a 3-step shuffle sum.
// The sequence is processed in chunks of kChunk tokens: the block stages q and k (as fp32), the
// gates, the three per-token dot products and its rows' v in shared memory with coalesced
// 16-byte loads; the loads of the next chunk are issued before the current chunk's recurrence
// runs. Outputs are collected in shared memory and stored per chunk. Blocks are handed out
// longest sequence first, so the long sequential chains start early.
//
// Launch: grid [num_seqs, num_v_heads, head_size / kRowsPerBlock], block [kThreads].
// Cost (H100, contest timing): sequential along a sequence, about 0.33 us per token (525 tokens
// in one sequence: 174 us); the 8192-token workloads take 0.72-1.2 ms. See
// docs/kernels/gdn.md (Prefill): the pipelining above measured slower than the plain loop, and a
// chunked tensor-core form is the way to the issue's targets.
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumQHeads = 4;                             // num_q_heads
constexpr int kNumKHeads = 4;                             // num_k_heads
constexpr int kNumVHeads = 8;                             // num_v_heads
constexpr int kHeadSize = 128;                            // head_size (K = V)
constexpr int kVHeadsPerQKHead = kNumVHeads / kNumQHeads; // v head h uses q/k head h / 2
static_assert(kNumQHeads == kNumKHeads, "GVA with as many k heads as q heads");

constexpr int kThreads = 128;                               // threads per block
constexpr int kLanesPerRow = 8;                             // lanes sharing one state row
constexpr int kElemsPerLane = kHeadSize / kLanesPerRow;     // 16 state elements per lane
constexpr int kGroupsPerLane = kElemsPerLane / 4;           // as float4 groups
constexpr int kRowsPerBlock = kThreads / kLanesPerRow;      // 16
constexpr int kChunk = 32;                                  // tokens staged at a time
constexpr int kQKItems = kChunk * kHeadSize / 8 / kThreads; // 8-column q/k pieces per thread: 4
constexpr int kVItems = kChunk * kRowsPerBlock / kThreads;  // v values per thread: 4
constexpr int kMaxRankedSeqs = 1024; // longest-first ordering up to this many sequences
static_assert(kGroupsPerLane * 4 * kLanesPerRow == kHeadSize, "lanes tile a row");
static_assert(kQKItems * kThreads * 8 == kChunk * kHeadSize, "q/k staging tiles a chunk");
static_assert(kVItems * kThreads == kChunk * kRowsPerBlock, "v staging tiles a chunk");
static_assert(kChunk <= kThreads, "one thread per token computes the gates");

// Per token t of a chunk: its gates and the state-independent dot products the recurrence needs.
struct Gates {
  float g;    // decay
  float beta; // update gate
  float qk;   // q_t . k_t
  float kk;   // k_t . k_{t-1}  (0 for the first token of a sequence)
  float qkp;  // q_t . k_{t-1}  (likewise)
  float pad[3];
};

struct Staging {
  float q[kChunk][kHeadSize];
  float k[kChunk + 1][kHeadSize]; // k[0] is the token before the chunk (zeros at the start)
  float v[kChunk][kRowsPerBlock];
  Gates gates[kChunk];
  bf16 out[kChunk][kRowsPerBlock];
};

// What one thread loads from global memory for one chunk, before it goes to shared memory.
struct ChunkLoads {
  uint4 q[kQKItems]; // 8 bf16 of q at (token, column piece) item
  uint4 k[kQKItems];
  uint4 k_before; // 8 bf16 of k[c0 - 1] (threads < 16)
  bf16 v[kVItems];
  bf16 a; // gate inputs of token threadIdx.x (threads < kChunk)
  bf16 b;
};

__device__ __forceinline__ float4 bf16x4_to_float4(unsigned lo, unsigned hi) {
  const float2 x = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&lo));
  const float2 y = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&hi));
  return make_float4(x.x, x.y, y.x, y.y);
}

__device__ __forceinline__ float dot4(float4 a, float4 b) {
  return a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
}

// Issues the loads of tokens [c0, min(c0 + kChunk, end)); tokens past end read as zero.
__device__ __forceinline__ ChunkLoads load_chunk(const bf16* q, const bf16* k, const bf16* v,
                                                 const bf16* a, const bf16* b, long long start,
                                                 long long c0, long long end, int h, int row0) {
  ChunkLoads l;
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < kQKItems; ++i) {
    const int item = tid + i * kThreads;
    const long long t = c0 + item / (kHeadSize / 8);
    const long long offset =
        (t * kNumQHeads + h / kVHeadsPerQKHead) * kHeadSize + (item % (kHeadSize / 8)) * 8;
    l.q[i] = t < end ? *reinterpret_cast<const uint4*>(q + offset) : make_uint4(0, 0, 0, 0);
    l.k[i] = t < end ? *reinterpret_cast<const uint4*>(k + offset) : make_uint4(0, 0, 0, 0);
  }
  const long long before = (c0 - 1) * kNumQHeads + h / kVHeadsPerQKHead;
  l.k_before = tid < kHeadSize / 8 && c0 > start
                   ? *reinterpret_cast<const uint4*>(k + before * kHeadSize + tid * 8)
                   : make_uint4(0, 0, 0, 0);
#pragma unroll
  for (int i = 0; i < kVItems; ++i) {
    const int item = tid + i * kThreads;
    const long long t = c0 + item / kRowsPerBlock;
    l.v[i] = t < end ? v[(t * kNumVHeads + h) * kHeadSize + row0 + item % kRowsPerBlock]
                     : from_float<bf16>(0.0f);
  }
  const long long t = c0 + tid;
  l.a = tid < kChunk && t < end ? a[t * kNumVHeads + h] : from_float<bf16>(0.0f);
  l.b = tid < kChunk && t < end ? b[t * kNumVHeads + h] : from_float<bf16>(0.0f);
  return l;
}

// Writes a chunk's loads to shared memory as fp32, with the gates of every token.
__device__ __forceinline__ void stage_chunk(Staging& st, const ChunkLoads& l, float neg_exp_a_log,
                                            float dt_bias_h) {
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < kQKItems; ++i) {
    const int item = tid + i * kThreads;
    const int t = item / (kHeadSize / 8);
    const int col = (item % (kHeadSize / 8)) * 8;
    const float4 q0 = bf16x4_to_float4(l.q[i].x, l.q[i].y);
    const float4 q1 = bf16x4_to_float4(l.q[i].z, l.q[i].w);
    const float4 k0 = bf16x4_to_float4(l.k[i].x, l.k[i].y);
    const float4 k1 = bf16x4_to_float4(l.k[i].z, l.k[i].w);
    *reinterpret_cast<float4*>(&st.q[t][col]) = q0;
    *reinterpret_cast<float4*>(&st.q[t][col + 4]) = q1;
    *reinterpret_cast<float4*>(&st.k[t + 1][col]) = k0;
    *reinterpret_cast<float4*>(&st.k[t + 1][col + 4]) = k1;
  }
  if (tid < kHeadSize / 8) {
    *reinterpret_cast<float4*>(&st.k[0][tid * 8]) = bf16x4_to_float4(l.k_before.x, l.k_before.y);
    *reinterpret_cast<float4*>(&st.k[0][tid * 8 + 4]) =
        bf16x4_to_float4(l.k_before.z, l.k_before.w);
  }
#pragma unroll
  for (int i = 0; i < kVItems; ++i) {
    const int item = tid + i * kThreads;
    st.v[item / kRowsPerBlock][item % kRowsPerBlock] = to_float(l.v[i]);
  }
  if (tid < kChunk) {
    st.gates[tid].g = expf(neg_exp_a_log * softplus(to_float(l.a) + dt_bias_h));
    st.gates[tid].beta = sigmoid(to_float(l.b));
  }
}

// q_t . k_t, k_t . k_{t-1} and q_t . k_{t-1} of every token of the staged chunk (a warp per
// token, 4 columns per lane).
__device__ __forceinline__ void token_dots(Staging& st) {
  const int lane = threadIdx.x % kWarpSize;
#pragma unroll 2
  for (int t = threadIdx.x / kWarpSize; t < kChunk; t += kThreads / kWarpSize) {
    const float4 qv = *reinterpret_cast<const float4*>(&st.q[t][4 * lane]);
    const float4 kv = *reinterpret_cast<const float4*>(&st.k[t + 1][4 * lane]);
    const float4 kb = *reinterpret_cast<const float4*>(&st.k[t][4 * lane]);
    const float qk = warp_sum(dot4(qv, kv));
    const float kk = warp_sum(dot4(kv, kb));
    const float qkp = warp_sum(dot4(qv, kb));
    if (lane == 0) {
      st.gates[t].qk = qk, st.gates[t].kk = kk, st.gates[t].qkp = qkp;
    }
  }
}

// Stores the outputs of tokens [c0, min(c0 + kChunk, end)) of the block's rows.
__device__ __forceinline__ void store_outputs(const Staging& st, bf16* output, long long c0,
                                              long long end, int h, int row0) {
  for (int item = threadIdx.x; item < kChunk * kRowsPerBlock; item += kThreads) {
    const long long t = c0 + item / kRowsPerBlock;
    if (t < end) {
      output[(t * kNumVHeads + h) * kHeadSize + row0 + item % kRowsPerBlock] =
          st.out[item / kRowsPerBlock][item % kRowsPerBlock];
    }
  }
}

// (k . s, q . s) over one state row: this lane's 16 columns in independent partial sums, then
// a sum over the row's kLanesPerRow lanes (every lane gets both).
__device__ __forceinline__ float2 row_dots(const float4 (&kv)[kGroupsPerLane],
                                           const float4 (&qv)[kGroupsPerLane],
                                           const float4 (&s)[kGroupsPerLane]) {
  float kp[kGroupsPerLane], qp[kGroupsPerLane];
#pragma unroll
  for (int m = 0; m < kGroupsPerLane; ++m) {
    kp[m] = dot4(kv[m], s[m]);
    qp[m] = dot4(qv[m], s[m]);
  }
#pragma unroll
  for (int width = kGroupsPerLane / 2; width > 0; width /= 2) {
#pragma unroll
    for (int m = 0; m < width; ++m) {
      kp[m] += kp[m + width];
      qp[m] += qp[m + width];
    }
  }
#pragma unroll
  for (int offset = kLanesPerRow / 2; offset > 0; offset /= 2) {
    kp[0] += __shfl_xor_sync(kFullMask, kp[0], offset);
    qp[0] += __shfl_xor_sync(kFullMask, qp[0], offset);
  }
  return make_float2(kp[0], qp[0]);
}

// The sequence this block works on: sequences ranked by length, longest first (ties by index),
// so that blocks are dispatched longest sequence first. Returns the block's work item
// (sequence, head, row block) through the references.
__device__ __forceinline__ void pick_work(const long long* cu_seqlens, int num_seqs,
                                          long long total, int& seq, int& h, int& row_block) {
  __shared__ int lengths[kMaxRankedSeqs];
  __shared__ int picked;
  const int per_seq = kNumVHeads * gridDim.z;
  const int linear = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int rank = linear / per_seq;
  h = linear % per_seq % kNumVHeads;
  row_block = linear % per_seq / kNumVHeads;
  seq = rank;
  if (num_seqs <= 1 || num_seqs > kMaxRankedSeqs || gridDim.x != num_seqs ||
      gridDim.y != kNumVHeads) {
    seq = blockIdx.x, h = blockIdx.y, row_block = blockIdx.z; // plain order
    return;
  }
  for (int i = threadIdx.x; i < num_seqs; i += kThreads) {
    const long long start = min(max(cu_seqlens[i], 0LL), total);
    lengths[i] = static_cast<int>(min(max(cu_seqlens[i + 1], start), total) - start);
  }
  __syncthreads();
  for (int i = threadIdx.x; i < num_seqs; i += kThreads) {
    int r = 0;
    const int len = lengths[i];
    for (int j = 0; j < num_seqs; ++j) {
      r += lengths[j] > len || (lengths[j] == len && j < i);
    }
    if (r == rank) {
      picked = i;
    }
  }
  __syncthreads();
  seq = picked;
}

extern "C" __global__ void __launch_bounds__(kThreads)
    gdn_prefill_kernel(const bf16* q,               // [T, 4, 128]
                       const bf16* k,               // [T, 4, 128]
                       const bf16* v,               // [T, 8, 128]
                       const float* state,          // [N, 8, 128, 128] or null
                       const float* A_log,          // [8]
                       const bf16* a,               // [T, 8]
                       const float* dt_bias,        // [8]
                       const bf16* b,               // [T, 8]
                       const long long* cu_seqlens, // [N + 1]
                       float scale,
                       bf16* output,      // [T, 8, 128]
                       float* new_state,  // [N, 8, 128, 128]
                       int total_seq_len, // T
                       int num_seqs) {    // N
  __shared__ __align__(16) Staging st;
  const long long total = total_seq_len;
  int seq, h, row_block;
  pick_work(cu_seqlens, num_seqs, total, seq, h, row_block);
  const int row0 = row_block * kRowsPerBlock;
  if (row0 >= kHeadSize) {
    return; // a grid wider than the rows (whole block)
  }
  const int lane = threadIdx.x % kWarpSize;
  const int j = lane % kLanesPerRow;                // position in the row's lanes
  const int row_local = threadIdx.x / kLanesPerRow; // row within the block
  if (scale == 0.0f) {
    scale = rsqrtf(static_cast<float>(kHeadSize)); // the definition's default
  }
  const float neg_exp_a_log = -expf(A_log[h]);
  const float dt_bias_h = dt_bias[h];
  const long long start = min(max(cu_seqlens[seq], 0LL), total);
  const long long end = min(max(cu_seqlens[seq + 1], start), total);
  const long long head = static_cast<long long>(seq) * kNumVHeads + h; // (seq, h) in [N, 8]
  const long long row_offset = (head * kHeadSize + row0 + row_local) * kHeadSize;

  // The recurrence is software-pipelined over tokens: when token t is finished, the update of
  // token t-1 is still pending (s holds S_{t-2}), so the dot products of token t+1 with
  // S_{t-1} (a 3-step shuffle sum) overlap token t's short scalar chain:
  //   k_{t+1} . S_t = g_t (k_{t+1} . S_{t-1}) + delta_t (k_{t+1} . k_t), likewise for q.
  float4 s[kGroupsPerLane];      // S_{t-2}: columns 4j + 4 * kLanesPerRow * m .. + 3
  float4 k_prev[kGroupsPerLane]; // k_{t-1}, same columns
  float delta_prev = 0.0f;       // delta_{t-1}; 0, 1 and zeros make the first update a no-op
  float g_prev = 1.0f;           // g_{t-1}
#pragma unroll
  for (int m = 0; m < kGroupsPerLane; ++m) {
    s[m] = make_float4(0.0f, 0.0f, 0.0f, 0.0f); // absent state or empty sequence: zeros
    if (state != nullptr && end > start) {
      s[m] = *reinterpret_cast<const float4*>(state + row_offset + 4 * (j + kLanesPerRow * m));
    }
    k_prev[m] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }

  ChunkLoads next{};
  if (start < end) {
    next = load_chunk(q, k, v, a, b, start, start, end, h, row0);
  }
  for (long long c0 = start; c0 < end; c0 += kChunk) {
    __syncthreads(); // the previous chunk's recurrence is done with the staging buffers
    if (c0 > start) {
      store_outputs(st, output, c0 - kChunk, end, h, row0);
    }
    stage_chunk(st, next, neg_exp_a_log, dt_bias_h);
    __syncthreads();
    token_dots(st);
    if (c0 + kChunk < end) {
      next = load_chunk(q, k, v, a, b, start, c0 + kChunk, end, h, row0); // in flight meanwhile
    }
    __syncthreads();

    // (k_t . S_{t-2}, q_t . S_{t-2}) summed over the row's lanes, for the chunk's first token.
    float4 k_cur[kGroupsPerLane], q_cur[kGroupsPerLane];
#pragma unroll
    for (int m = 0; m < kGroupsPerLane; ++m) {
      k_cur[m] = *reinterpret_cast<const float4*>(&st.k[1][4 * (j + kLanesPerRow * m)]);
      q_cur[m] = *reinterpret_cast<const float4*>(&st.q[0][4 * (j + kLanesPerRow * m)]);
    }
    float2 dots = row_dots(k_cur, q_cur, s);

    const int n = static_cast<int>(min(static_cast<long long>(kChunk), end - c0));
    for (int t = 0; t < n; ++t) {
      const Gates gt = st.gates[t];
      // k_t . S_{t-1} and q_t . S_{t-1}, then token t's update and output.
      const float ks = fmaf(g_prev, dots.x, delta_prev * gt.kk);
      const float qs = fmaf(g_prev, dots.y, delta_prev * gt.qkp);
      const float delta = gt.beta * (st.v[t][row_local] - gt.g * ks);
      if (j == 0) {
        st.out[t][row_local] = from_float<bf16>(scale * fmaf(gt.g, qs, gt.qk * delta));
      }
// Apply token t-1's update (S_{t-2} -> S_{t-1}) and start token t+1's dot products.
#pragma unroll
      for (int m = 0; m < kGroupsPerLane; ++m) {
        s[m].x = fmaf(g_prev, s[m].x, k_prev[m].x * delta_prev);
        s[m].y = fmaf(g_prev, s[m].y, k_prev[m].y * delta_prev);
        s[m].z = fmaf(g_prev, s[m].z, k_prev[m].z * delta_prev);
        s[m].w = fmaf(g_prev, s[m].w, k_prev[m].w * delta_prev);
        k_prev[m] = k_cur[m];
      }
      if (t + 1 < n) {
#pragma unroll
        for (int m = 0; m < kGroupsPerLane; ++m) {
          k_cur[m] = *reinterpret_cast<const float4*>(&st.k[t + 2][4 * (j + kLanesPerRow * m)]);
          q_cur[m] = *reinterpret_cast<const float4*>(&st.q[t + 1][4 * (j + kLanesPerRow * m)]);
        }
        dots = row_dots(k_cur, q_cur, s);
      }
      delta_prev = delta;
      g_prev = gt.g;
    }
  }
  if (start < end) {
    __syncthreads();
    store_outputs(st, output, end - 1 - (end - 1 - start) % kChunk, end, h, row0);
  }
#pragma unroll
  for (int m = 0; m < kGroupsPerLane; ++m) { // the last token's pending update
    s[m].x = fmaf(g_prev, s[m].x, k_prev[m].x * delta_prev);
    s[m].y = fmaf(g_prev, s[m].y, k_prev[m].y * delta_prev);
    s[m].z = fmaf(g_prev, s[m].z, k_prev[m].z * delta_prev);
    s[m].w = fmaf(g_prev, s[m].w, k_prev[m].w * delta_prev);
    *reinterpret_cast<float4*>(new_state + row_offset + 4 * (j + kLanesPerRow * m)) = s[m];
  }

  // Tokens before the first sequence or after the last one belong to no sequence: output 0.
  // (Never with well-formed cu_seqlens: cu_seqlens[0] == 0 and cu_seqlens[N] == T.)
  if (j == 0) {
    const long long first = min(max(cu_seqlens[0], 0LL), total);
    const long long last = min(max(cu_seqlens[num_seqs], first), total);
    const int row = row0 + row_local;
    for (long long t = 0; seq == 0 && t < first; ++t) {
      output[(t * kNumVHeads + h) * kHeadSize + row] = from_float<bf16>(0.0f);
    }
    for (long long t = last; seq == num_seqs - 1 && t < total; ++t) {
      output[(t * kNumVHeads + h) * kHeadSize + row] = from_float<bf16>(0.0f);
    }
  }
}
