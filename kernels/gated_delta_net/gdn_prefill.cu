// gdn_prefill_qk4_v8_d128_k_last: Gated DeltaNet prefill, two paths picked per workload by the
// launch plan (config.toml) from the total token count T:
//  - T >= 60, the chunked (WY / UT-transform) form on tensor cores, two launches: a fully
//    parallel kernel that prepares every 64-token chunk of every sequence
//    (gdn_chunk_prepare_kernel), then a sequential scan over the chunks that carries the state
//    (gdn_chunk_scan_kernel);
//  - T < 60, the direct recurrent path, one launch: the recurrence token by token with the state
//    in registers (gdn_recurrent_kernel, the last section), faster where the chunked form's
//    fixed cost (~19 us) exceeds the whole recurrence.
// Each launch's `when` in the plan turns the other path's launches off. Both paths implement
// the same semantics (the end of this comment).
//
// ---- Math (checked against the token recurrence in float64 before it was written) ----------
// Per sequence, value head h (q/k head h / 2) and token t, with g_t = exp(-exp(A_log) *
// softplus(a_t + dt_bias)), beta_t = sigmoid(b_t) and the state S [V=128][K=128] (k-last):
//   S_t = g_t S_{t-1} + beta_t (v_t - g_t S_{t-1} k_t) k_t^T,    o_t = scale S_t q_t.
// A chunk of C = 64 tokens (the last one padded: k = q = v = 0, log g = 0, beta = 0) with
// initial state S0 and L_t = sum_{s<=t} log g_s (inclusive), gamma_t = exp(L_t):
//   A[t][s] = beta_t (k_t . k_s) exp(L_t - L_s) for s < t (else 0),   T = (I + A)^-1,
//   W = T diag(beta gamma) K,   U = T diag(beta) V,                      (rows = tokens)
//   D = U - W S0^T             (row t = beta_t (v_t - old_v_t): the delta rule's correction)
//   P[i][j] = scale (q_i . k_j) exp(L_i - L_j) for j <= i (else 0)
//   O = scale diag(gamma) Q S0^T + P D
//   S_C = gamma_last S0 + sum_j exp(L_last - L_j) D_j k_j^T.
// Every exponential is of a non-positive difference, so nothing overflows however strong the
// decay (a chunk's sum of log g can be far below fp32's exponent range).
//
// ---- Precision -----------------------------------------------------------------------------
// Tensor-core operands are fp16 (10-bit mantissa), accumulation fp32; the state stays fp32 in
// registers. A host study (4096 tokens, slowest decay) put the worst
// state error at 0.09 of the contest tolerance (atol = rtol = 1e-2) with fp16 operands and at
// 0.88 with bf16 operands, hence fp16: the bf16 inputs q, k, v convert exactly (|x| >= 6e-5;
// smaller values lose relative precision but are negligible in absolute terms). Values above
// 65504 would overflow, far from what the gates and unit-norm q / k produce.
//
// ---- Kernel 1, gdn_chunk_prepare_kernel: grid [slots, 8 value heads], 128 threads -----------
// One block per (chunk, value head); it does not depend on the state, so all chunks of all
// sequences run in parallel. Chunk c of sequence i lives in slot i + start_i / 64 + c, which
// needs no scan over cu_seqlens and stays below num_seqs + ceil(T / 64) slots. Steps:
//   1. q, k, v of the chunk to shared memory as fp16 (and q, k to the workspace, once per q/k
//      head); the gates, L by a warp scan.
//   2. K K^T and Q K^T (fp16 mma; warp w does row tile w of one and 3 - w of the other, lower
//      triangle only) -> A (shared memory) and P (workspace).
//   3. T = (I + A)^-1: the 16x16 diagonal blocks by fp32 forward substitution (a lane per
//      column), then the off-diagonal blocks by a blocked solve, warp j computing block column j
//      in transposed form, T_ij^T = -(sum_{m=j}^{i-1} T_mj^T A_im^T) T_ii^T (fp16 mma).
//   4. W = (T diag(beta gamma)) K and U = (T diag(beta)) V (fp16 mma, lower block triangle).
// Workspace per (slot, value head): W, U [64][128] fp16, P [64][64] fp16 and ChunkGates; per
// (slot, q/k head): q, k [64][128] fp16.
//
// ---- Kernel 2, gdn_chunk_scan_kernel: grid [num_seqs, 8, 2], 128 threads ---------------------
// One block per (sequence, value head, 64 value rows), longest sequence first; warp w keeps
// rows 16w..16w+15 of the state, all 128 keys, in fp32 registers for the whole sequence, in
// the accumulator layout of mma.m16n8k16 (64 floats per thread). The trick that keeps the state
// in registers: every product is arranged with the value rows as its M dimension, so that an
// accumulator is the next product's A operand without leaving the thread (the flash-attention
// C -> A trick); per chunk and warp:
//   D^T = U^T + (-S) W^T                        A = -S as fp16,             B = W     64 mma
//   S  <- gamma_last S + (D^T diag(exp(L_last - L))) K
//                                               A = scaled D^T,             B = K     64 mma
//   O^T = S Q^T diag(scale gamma) + D^T P^T     A = -S (sign folded), D^T;  B = q, P  64 + 20
// (P^T's upper blocks are zero and skipped). The next chunk's workspace tiles arrive by cp.async
// in the other half of a double buffer; the output tile is staged in shared memory and stored
// with 16-byte stores.
//
// ---- Cost (H200, contest timing; docs/kernels/gdn.md has the table) --------------------------
// Kernel 2, per chunk and warp: 212 mma.m16n8k16 and 110 ldmatrix.x4; each of the block's 4
// warps reads all of W, q, k (16 KB each) and P (8 KB), ~300 KB of shared-memory traffic per
// chunk per SM with the 71 KB of cp.async writes. Blocks: 1 per SM (151 KB of shared memory,
// 239 registers). Kernel 1: ~160 mma per warp, 94 KB of shared memory (2 blocks per SM).
// Workspace: 56 KB per (chunk, value head), written once, read twice (two row tiles).
// Measured (H200, contest preset): mean 64.7 us over the 100 workloads (the recurrent kernel
// alone: 270 us), 160-243 us at T = 8192 (730-1367 us), 19-22 us for the shortest ones (two
// launches and the prepare pass: the recurrent kernel takes 6-19 us there, hence the direct path
// below 60 tokens: 12.5 us mean on those 27 workloads, ~62.6 us over the 100).
//
// ---- Semantics (both paths) -------------------------------------------------------------------
// cu_seqlens (int64) is clamped to [0, T] and each end to >= its start; an empty sequence leaves
// new_state 0 and reads no state; state == nullptr means zeros; scale == 0 means 1 / sqrt(128);
// tokens outside every sequence get output 0. (A cu_seqlens that decreases gives unspecified
// results, but no access out of bounds.)
#include "fibkit.cuh"

using namespace fibkit;

constexpr int kNumQKHeads = 4; // num_q_heads == num_k_heads
constexpr int kNumVHeads = 8;  // num_v_heads
constexpr int kVHeadsPerQKHead = kNumVHeads / kNumQKHeads;
constexpr int kHeadSize = 128;       // head_size (K = V)
constexpr int kChunk = 64;           // tokens per chunk
constexpr int kSub = 16;             // diagonal block of T; mma tile height
constexpr int kSubs = kChunk / kSub; // 4
constexpr int kThreads = 128;        // every kernel: 4 warps
constexpr int kWarps = kThreads / kWarpSize;
constexpr int kTileRows = 64;        // value rows per scan block
constexpr int kRowD = kHeadSize + 8; // fp16 rows padded by 16 B, so that the
constexpr int kRowC = kChunk + 8;    // 8 rows of an ldmatrix hit distinct banks
constexpr int kMaxRankedSeqs = 1024; // longest-first ordering up to this many
static_assert(kWarps == kSubs, "kernel 1: a warp per row tile / block column");
static_assert(kTileRows == kWarps * kSub, "kernel 2: a warp per 16 value rows");

// Per (slot, value head): the decay factors the scan needs, written by kernel 1.
struct ChunkGates {
  float q_scale[kChunk]; // scale * gamma_i               (inter-chunk part of O)
  float k_decay[kChunk]; // exp(L_last - L_j)              (state update)
  float state_decay;     // gamma_last = exp(L_last)
  float pad[3];
};
constexpr int kGateFloats = sizeof(ChunkGates) / sizeof(float); // 132: the workspace's last dim

// ---- PTX: fp16 tensor-core mma, ldmatrix, cp.async ----------------------------------------
// Fragment layouts (PTX ISA, mma.m16n8k16 with .f16 inputs), lane = 4 * g + q4:
//   A (16x16, row): reg0 = (row g, cols 2q4, 2q4+1), reg1 = row g + 8, reg2 = cols + 8,
//                   reg3 = row g + 8 and cols + 8 (two fp16 per register, lower index low);
//   B (16x8, col):  reg0 = (rows 2q4, 2q4+1, col g), reg1 = rows + 8;
//   C/D (16x8):     d0, d1 = (row g, cols 2q4, 2q4+1), d2, d3 = row g + 8.
// ldmatrix.x4: lane l gives the address of row l % 8 of matrix l / 8; register m of lane l holds
// (row l / 4, cols 2(l % 4), +1) of matrix m, or with .trans (rows 2(l % 4), +1, col l / 4).
__device__ __forceinline__ void mma_f16(float (&d)[4], const unsigned (&a)[4], unsigned b0,
                                        unsigned b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, "
               "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void ldsm_x4(unsigned (&r)[4], const __half* row) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_trans(unsigned (&r)[4], const __half* row) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void cp_async_16(void* smem, const void* gmem) {
  const unsigned addr = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(addr), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int kPending> __device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}
// The block's dynamic shared memory and its size (the launch plan's shared_memory).
__device__ __forceinline__ unsigned char* dynamic_smem() {
  extern __shared__ __align__(16) unsigned char smem[];
  return smem;
}
__device__ __forceinline__ unsigned dynamic_smem_size() {
  unsigned size;
  asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(size));
  return size;
}

// Two floats as one register of two fp16 (lo in the low half), and back.
__device__ __forceinline__ unsigned pack_half2(float lo, float hi) {
  const __half2 h = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<const unsigned*>(&h);
}
__device__ __forceinline__ float2 unpack_half2(unsigned u) {
  return __half22float2(*reinterpret_cast<const __half2*>(&u));
}
// 8 bf16 (16 bytes) as 8 fp16.
__device__ __forceinline__ uint4 bf16x8_to_half8(uint4 x) {
  unsigned w[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&w[i]));
    w[i] = pack_half2(f.x, f.y);
  }
  return make_uint4(w[0], w[1], w[2], w[3]);
}

// The tokens [start, end) of sequence i: cu_seqlens clamped to [0, T], end >= start.
__device__ __forceinline__ void sequence_bounds(const long long* cu_seqlens, int i, long long total,
                                                long long& start, long long& end) {
  start = min(max(cu_seqlens[i], 0LL), total);
  end = min(max(cu_seqlens[i + 1], start), total);
}
// The workspace slot of a sequence's first chunk (see the header).
__device__ __forceinline__ long long first_slot(int seq, long long start) {
  return seq + start / kChunk;
}

// The sequence of this block: ranked by length, longest first (ties by index), so the blocks
// of the longest sequences are dispatched first. Returns (sequence, head, row block).
__device__ __forceinline__ void pick_work(const long long* cu_seqlens, int num_seqs,
                                          long long total, int& seq, int& h, int& row_block) {
  __shared__ int lengths[kMaxRankedSeqs];
  __shared__ int picked;
  const int per_seq = kNumVHeads * gridDim.z;
  const int linear = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const int rank = linear / per_seq;
  h = linear % per_seq % kNumVHeads;
  row_block = linear % per_seq / kNumVHeads;
  if (num_seqs <= 1 || num_seqs > kMaxRankedSeqs || gridDim.x != num_seqs ||
      gridDim.y != kNumVHeads) {
    seq = blockIdx.x, h = blockIdx.y, row_block = blockIdx.z; // plain order
    return;
  }
  for (int i = threadIdx.x; i < num_seqs; i += kThreads) {
    long long start, end;
    sequence_bounds(cu_seqlens, i, total, start, end);
    lengths[i] = static_cast<int>(end - start);
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

// =============================================================================================
// Kernel 1: per (slot, value head), everything about a chunk that does not need the state.
// =============================================================================================
struct PrepSmem {
  __half k[kChunk][kRowD];
  __half q[kChunk][kRowD];
  __half v[kChunk][kRowD];
  __half a[kChunk][kRowC];             // A (strictly lower; blocks below the diagonal are read)
  __half t_diag[kChunk][kRowC];        // T's diagonal 16x16 blocks, unscaled
  __half t_w[kChunk][kRowC];           // T diag(beta gamma), lower block triangle
  __half t_u[kChunk][kRowC];           // T diag(beta)
  float a_diag[kSubs][kSub][kSub + 1]; // A's diagonal blocks in fp32, for the substitution
  float log_g[kChunk];
  float L[kChunk];
  float beta[kChunk];
  long long c0; // the chunk's first token
  int seq;      // -1: the slot holds no chunk
  int n;        // tokens in the chunk (1..64)
};
static_assert(sizeof(PrepSmem) == 94224, "config.toml: shared_memory of the prepare launch");

extern "C" __global__ void __launch_bounds__(kThreads)
    gdn_chunk_prepare_kernel(const bf16* q,               // [T, 4, 128]
                             const bf16* k,               // [T, 4, 128]
                             const bf16* v,               // [T, 8, 128]
                             const float* A_log,          // [8]
                             const bf16* a,               // [T, 8]
                             const float* dt_bias,        // [8]
                             const bf16* b,               // [T, 8]
                             const long long* cu_seqlens, // [N + 1]
                             float scale,
                             __half* chunk_qk,   // [slots, 4, 2, 64, 128]: q, k
                             __half* chunk_w,    // [slots, 8, 64, 128]
                             __half* chunk_u,    // [slots, 8, 64, 128]
                             __half* chunk_p,    // [slots, 8, 64, 64]
                             float* chunk_gates, // [slots, 8, kGateFloats]
                             int total_seq_len, int num_seqs) {
  PrepSmem& sm = *reinterpret_cast<PrepSmem*>(dynamic_smem());
  const int tid = threadIdx.x;
  const int lane = tid % kWarpSize;
  const int warp = tid / kWarpSize;
  const int g = lane / 4, q4 = lane % 4; // mma fragment coordinates
  const long long slot = blockIdx.x;
  const int h = blockIdx.y;
  const int kh = h / kVHeadsPerQKHead;
  const long long total = total_seq_len;
  if (tid == 0 && dynamic_smem_size() < sizeof(PrepSmem)) {
    __trap(); // the launch plan's shared_memory is smaller than sizeof(PrepSmem)
  }
  if (scale == 0.0f) {
    scale = rsqrtf(static_cast<float>(kHeadSize));
  }

  // ---- Which chunk: the sequence whose slots [base, base + chunks) hold this one. ----------
  if (tid == 0) {
    sm.seq = -1;
  }
  __syncthreads();
  for (int i = tid; i < num_seqs; i += kThreads) {
    long long start, end;
    sequence_bounds(cu_seqlens, i, total, start, end);
    const long long base = first_slot(i, start);
    if (slot >= base && slot < base + (end - start + kChunk - 1) / kChunk) {
      sm.seq = i;
      sm.c0 = start + (slot - base) * kChunk;
      sm.n = static_cast<int>(min(static_cast<long long>(kChunk), end - sm.c0));
    }
  }
  __syncthreads();
  if (sm.seq < 0) {
    return; // spare slot (whole block)
  }
  const long long c0 = sm.c0;
  const int n = sm.n;

  // ---- 1. The gate inputs (first, so their loads overlap those of q, k, v); q, k, v as fp16
  //         (zeros past the sequence), q and k also to the workspace; L by a warp scan. --------
  float a_t = 0.0f, b_t = 0.0f; // thread t < n: token t's gate inputs
  if (tid < n) {
    const long long idx = (c0 + tid) * kNumVHeads + h;
    a_t = to_float(a[idx]);
    b_t = to_float(b[idx]);
  }
  const float neg_exp_a_log = -expf(A_log[h]);
  const float dt_bias_h = dt_bias[h];
  {
    constexpr int kPieces = kChunk * kHeadSize / 8; // 16-byte pieces per tensor
    __half* ws_q = chunk_qk + ((slot * kNumQKHeads + kh) * 2 + 0) * kChunk * kHeadSize;
    __half* ws_k = ws_q + kChunk * kHeadSize;
    const bool write_qk = h % kVHeadsPerQKHead == 0; // once per q/k head
#pragma unroll 4
    for (int i = tid; i < kPieces; i += kThreads) {
      const int t = i / (kHeadSize / 8);
      const int col = (i % (kHeadSize / 8)) * 8;
      uint4 qx = make_uint4(0, 0, 0, 0), kx = qx, vx = qx;
      if (t < n) {
        const long long tok = c0 + t;
        qx = *reinterpret_cast<const uint4*>(q + (tok * kNumQKHeads + kh) * kHeadSize + col);
        kx = *reinterpret_cast<const uint4*>(k + (tok * kNumQKHeads + kh) * kHeadSize + col);
        vx = *reinterpret_cast<const uint4*>(v + (tok * kNumVHeads + h) * kHeadSize + col);
      }
      qx = bf16x8_to_half8(qx);
      kx = bf16x8_to_half8(kx);
      vx = bf16x8_to_half8(vx);
      *reinterpret_cast<uint4*>(&sm.q[t][col]) = qx;
      *reinterpret_cast<uint4*>(&sm.k[t][col]) = kx;
      *reinterpret_cast<uint4*>(&sm.v[t][col]) = vx;
      if (write_qk) {
        *reinterpret_cast<uint4*>(ws_q + t * kHeadSize + col) = qx;
        *reinterpret_cast<uint4*>(ws_k + t * kHeadSize + col) = kx;
      }
    }
  }
  if (tid < kChunk) { // a padded token has log g = 0 and beta = 0
    sm.log_g[tid] = tid < n ? neg_exp_a_log * softplus(a_t + dt_bias_h) : 0.0f;
    sm.beta[tid] = tid < n ? sigmoid(b_t) : 0.0f;
  }
  __syncthreads();
  if (warp == 0) { // L = inclusive prefix sum of log g: two tokens per lane, then a warp scan
    const float x0 = sm.log_g[2 * lane], x1 = sm.log_g[2 * lane + 1];
    float sum = x0 + x1;
#pragma unroll
    for (int offset = 1; offset < kWarpSize; offset *= 2) {
      const float y = __shfl_up_sync(kFullMask, sum, offset);
      if (lane >= offset) {
        sum += y;
      }
    }
    sm.L[2 * lane] = sum - x1;
    sm.L[2 * lane + 1] = sum;
  }
  __syncthreads();
  if (tid < kChunk) {
    const float l_last = sm.L[kChunk - 1];
    ChunkGates& gates =
        *reinterpret_cast<ChunkGates*>(chunk_gates + (slot * kNumVHeads + h) * kGateFloats);
    gates.q_scale[tid] = scale * expf(sm.L[tid]);
    gates.k_decay[tid] = expf(l_last - sm.L[tid]);
    if (tid == 0) {
      gates.state_decay = expf(l_last);
    }
  }

  // ---- 2. K K^T -> A (row tile warp), Q K^T -> P (row tile 3 - warp), lower triangle. ------
  {
    const int mt_k = warp, mt_q = kSubs - 1 - warp;
    float kk[8][4], qk[8][4];
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        kk[nt][e] = 0.0f, qk[nt][e] = 0.0f;
      }
    }
#pragma unroll
    for (int ks = 0; ks < kHeadSize / 16; ++ks) {
      unsigned ak[4], aq[4];
      ldsm_x4(ak, &sm.k[kSub * mt_k + lane % 16][16 * ks + 8 * (lane / 16)]);
      ldsm_x4(aq, &sm.q[kSub * mt_q + lane % 16][16 * ks + 8 * (lane / 16)]);
#pragma unroll
      for (int np = 0; np < kSubs; ++np) { // n tiles 2np, 2np + 1 = keys of tokens 16np..+15
        if (np > mt_k && np > mt_q) {
          continue;
        }
        unsigned bk[4];
        ldsm_x4(bk, &sm.k[16 * np + 8 * (lane / 16) + lane % 8][16 * ks + 8 * ((lane / 8) % 2)]);
        if (np <= mt_k) {
          mma_f16(kk[2 * np], ak, bk[0], bk[1]);
          mma_f16(kk[2 * np + 1], ak, bk[2], bk[3]);
        }
        if (np <= mt_q) {
          mma_f16(qk[2 * np], aq, bk[0], bk[1]);
          mma_f16(qk[2 * np + 1], aq, bk[2], bk[3]);
        }
      }
    }
    __half* ws_p = chunk_p + (slot * kNumVHeads + h) * kChunk * kChunk;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) { // rows g and g + 8 of the tile
        const int s = 8 * nt + 2 * q4;
        {
          const int t = kSub * mt_k + g + 8 * half;
          if (nt / 2 <= mt_k) {
            float x[2];
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              x[e] = s + e < t ? sm.beta[t] * kk[nt][2 * half + e] * expf(sm.L[t] - sm.L[s + e])
                               : 0.0f;
            }
            *reinterpret_cast<unsigned*>(&sm.a[t][s]) = pack_half2(x[0], x[1]);
            if (nt / 2 == mt_k) {
              sm.a_diag[mt_k][t % kSub][s % kSub] = x[0];
              sm.a_diag[mt_k][t % kSub][s % kSub + 1] = x[1];
            }
          }
        }
        {
          const int t = kSub * mt_q + g + 8 * half;
          float x[2] = {0.0f, 0.0f};
          if (nt / 2 <= mt_q) {
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              x[e] = s + e <= t ? scale * qk[nt][2 * half + e] * expf(sm.L[t] - sm.L[s + e]) : 0.0f;
            }
          }
          *reinterpret_cast<unsigned*>(ws_p + t * kChunk + s) = pack_half2(x[0], x[1]);
        }
      }
    }
  }
  __syncthreads();

  // ---- 3a. Diagonal blocks of T = (I + A)^-1: warp w inverts block w, lane j column j. -------
  {
    const int j = lane % kSub;
    float col[kSub];
#pragma unroll
    for (int i = 0; i < kSub; ++i) {
      col[i] = i == j ? 1.0f : 0.0f;
    }
#pragma unroll
    for (int i = 1; i < kSub; ++i) { // T[i][j] = -sum_{s<i} A[i][s] T[s][j]   (i > j)
      float acc = 0.0f;
#pragma unroll
      for (int s = 0; s < i; ++s) {
        acc = fmaf(sm.a_diag[warp][i][s], col[s], acc);
      }
      if (i > j) {
        col[i] = -acc;
      }
    }
    if (lane < kSub) {
      const int s = kSub * warp + j; // the column's token
      const float bg = sm.beta[s] * expf(sm.L[s]);
      const float bb = sm.beta[s];
#pragma unroll
      for (int i = 0; i < kSub; ++i) {
        const int t = kSub * warp + i;
        sm.t_diag[t][s] = __float2half_rn(col[i]);
        sm.t_w[t][s] = __float2half_rn(col[i] * bg);
        sm.t_u[t][s] = __float2half_rn(col[i] * bb);
      }
    }
  }
  __syncthreads();

  // ---- 3b. Off-diagonal blocks: warp j does block column j, rows i = j+1..3, transposed:
  //          X_i = T_ij^T = -(sum_{m=j}^{i-1} X_m A_im^T) T_ii^T, X_j = T_jj^T. --------------
  {
    const int j = warp;
    // xa[dm]: A fragments of X_{j+dm} (rows = T's columns of block j), indexed relative to j
    // so that the register array is indexed by compile-time constants only.
    unsigned xa[kSubs][4] = {};
    ldsm_x4_trans(
        xa[0], &sm.t_diag[kSub * j + 8 * (lane / 16) + lane % 8][kSub * j + 8 * ((lane / 8) % 2)]);
#pragma unroll
    for (int di = 1; di < kSubs; ++di) { // i = j + di
      const int i = j + di;
      if (i >= kSubs) {
        break; // warp-uniform
      }
      float y[2][4] = {};
#pragma unroll
      for (int dm = 0; dm < di; ++dm) { // m = j + dm
        unsigned bm[4];
        ldsm_x4(
            bm,
            &sm.a[kSub * i + 8 * (lane / 16) + lane % 8][kSub * (j + dm) + 8 * ((lane / 8) % 2)]);
        mma_f16(y[0], xa[dm], bm[0], bm[1]);
        mma_f16(y[1], xa[dm], bm[2], bm[3]);
      }
      const unsigned ya[4] = {pack_half2(-y[0][0], -y[0][1]), pack_half2(-y[0][2], -y[0][3]),
                              pack_half2(-y[1][0], -y[1][1]), pack_half2(-y[1][2], -y[1][3])};
      unsigned bt[4];
      ldsm_x4(bt,
              &sm.t_diag[kSub * i + 8 * (lane / 16) + lane % 8][kSub * i + 8 * ((lane / 8) % 2)]);
      float x[2][4] = {};
      mma_f16(x[0], ya, bt[0], bt[1]);
      mma_f16(x[1], ya, bt[2], bt[3]);
      xa[di][0] = pack_half2(x[0][0], x[0][1]);
      xa[di][1] = pack_half2(x[0][2], x[0][3]);
      xa[di][2] = pack_half2(x[1][0], x[1][1]);
      xa[di][3] = pack_half2(x[1][2], x[1][3]);
      // x[nt][e] = T[16i + 8nt + 2q4 + e % 2][16j + g + 8(e / 2)]
#pragma unroll
      for (int e2 = 0; e2 < 2; ++e2) {
        const int s = kSub * j + g + 8 * e2; // column of T
        const float bg = sm.beta[s] * expf(sm.L[s]);
        const float bb = sm.beta[s];
#pragma unroll
        for (int nt = 0; nt < 2; ++nt) {
#pragma unroll
          for (int e1 = 0; e1 < 2; ++e1) {
            const int t = kSub * i + 8 * nt + 2 * q4 + e1;
            const float val = x[nt][2 * e2 + e1];
            sm.t_w[t][s] = __float2half_rn(val * bg);
            sm.t_u[t][s] = __float2half_rn(val * bb);
          }
        }
      }
    }
  }
  __syncthreads();

  // ---- 4. W = T_w K, U = T_u V: warp w does columns 32w..32w+31, lower block triangle. ------
  {
    __half* ws_w = chunk_w + (slot * kNumVHeads + h) * kChunk * kHeadSize;
    __half* ws_u = chunk_u + (slot * kNumVHeads + h) * kChunk * kHeadSize;
#pragma unroll
    for (int mt = 0; mt < kSubs; ++mt) {
      float w_acc[4][4] = {}, u_acc[4][4] = {};
#pragma unroll
      for (int ks = 0; ks <= mt; ++ks) {
        unsigned aw[4], au[4];
        ldsm_x4(aw, &sm.t_w[kSub * mt + lane % 16][16 * ks + 8 * (lane / 16)]);
        ldsm_x4(au, &sm.t_u[kSub * mt + lane % 16][16 * ks + 8 * (lane / 16)]);
#pragma unroll
        for (int np = 0; np < 2; ++np) {
          const int col = 8 * (4 * warp + 2 * np + lane / 16);
          const int row = 16 * ks + 8 * ((lane / 8) % 2) + lane % 8;
          unsigned bk[4], bv[4];
          ldsm_x4_trans(bk, &sm.k[row][col]);
          ldsm_x4_trans(bv, &sm.v[row][col]);
          mma_f16(w_acc[2 * np], aw, bk[0], bk[1]);
          mma_f16(w_acc[2 * np + 1], aw, bk[2], bk[3]);
          mma_f16(u_acc[2 * np], au, bv[0], bv[1]);
          mma_f16(u_acc[2 * np + 1], au, bv[2], bv[3]);
        }
      }
#pragma unroll
      for (int nt = 0; nt < 4; ++nt) {
        const int col = 8 * (4 * warp + nt) + 2 * q4;
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int t = kSub * mt + g + 8 * half;
          *reinterpret_cast<unsigned*>(ws_w + t * kHeadSize + col) =
              pack_half2(w_acc[nt][2 * half], w_acc[nt][2 * half + 1]);
          *reinterpret_cast<unsigned*>(ws_u + t * kHeadSize + col) =
              pack_half2(u_acc[nt][2 * half], u_acc[nt][2 * half + 1]);
        }
      }
    }
  }
}

// =============================================================================================
// Kernel 2: per (sequence, value head, 64 value rows), the scan over the chunks.
// =============================================================================================
struct ScanStage { // one chunk's workspace tiles
  __half w[kChunk][kRowD];
  __half q[kChunk][kRowD];
  __half k[kChunk][kRowD];
  __half p[kChunk][kRowC];
  __half u[kChunk][kRowC]; // U[t][v] for the block's 64 value rows
  ChunkGates gates;
};
struct ScanSmem {
  ScanStage stage[2];
  bf16 out[kChunk][kRowC]; // the chunk's outputs [token][value row]
};
static_assert(sizeof(ScanSmem) == 151584, "config.toml: shared_memory of the scan launch");
static_assert(sizeof(ScanStage) % 16 == 0 && sizeof(ChunkGates) % 16 == 0, "16-byte cp.async");

// Issues the cp.async loads of slot's tiles into st (all threads; one commit group).
__device__ __forceinline__ void load_stage(ScanStage& st, long long slot, int h, int row0,
                                           const __half* chunk_qk, const __half* chunk_w,
                                           const __half* chunk_u, const __half* chunk_p,
                                           const float* chunk_gates) {
  const int tid = threadIdx.x;
  const int kh = h / kVHeadsPerQKHead;
  const __half* w = chunk_w + (slot * kNumVHeads + h) * kChunk * kHeadSize;
  const __half* q = chunk_qk + (slot * kNumQKHeads + kh) * 2 * kChunk * kHeadSize;
  const __half* k = q + kChunk * kHeadSize;
  const __half* u = chunk_u + (slot * kNumVHeads + h) * kChunk * kHeadSize + row0;
  const __half* p = chunk_p + (slot * kNumVHeads + h) * kChunk * kChunk;
  const float* gates = chunk_gates + (slot * kNumVHeads + h) * kGateFloats;
#pragma unroll
  for (int i = tid; i < kChunk * kHeadSize / 8; i += kThreads) {
    const int t = i / (kHeadSize / 8), col = (i % (kHeadSize / 8)) * 8;
    cp_async_16(&st.w[t][col], w + t * kHeadSize + col);
    cp_async_16(&st.q[t][col], q + t * kHeadSize + col);
    cp_async_16(&st.k[t][col], k + t * kHeadSize + col);
  }
#pragma unroll
  for (int i = tid; i < kChunk * kChunk / 8; i += kThreads) {
    const int t = i / (kChunk / 8), col = (i % (kChunk / 8)) * 8;
    cp_async_16(&st.p[t][col], p + t * kChunk + col);
    cp_async_16(&st.u[t][col], u + t * kHeadSize + col);
  }
  if (tid < kGateFloats / 4) {
    cp_async_16(reinterpret_cast<float*>(&st.gates) + 4 * tid, gates + 4 * tid);
  }
  cp_async_commit();
}

extern "C" __global__ void __launch_bounds__(kThreads)
    gdn_chunk_scan_kernel(const float* state,          // [N, 8, 128, 128] or null
                          const long long* cu_seqlens, // [N + 1]
                          const __half* chunk_qk,      // kernel 1's workspace
                          const __half* chunk_w, const __half* chunk_u, const __half* chunk_p,
                          const float* chunk_gates,
                          bf16* output,      // [T, 8, 128]
                          float* new_state,  // [N, 8, 128, 128]
                          int total_seq_len, // T
                          int num_seqs) {    // N
  ScanSmem& sm = *reinterpret_cast<ScanSmem*>(dynamic_smem());
  const int tid = threadIdx.x;
  const int lane = tid % kWarpSize;
  const int warp = tid / kWarpSize;
  const int g = lane / 4, q4 = lane % 4; // mma fragment coordinates
  const long long total = total_seq_len;
  if (tid == 0 && dynamic_smem_size() < sizeof(ScanSmem)) {
    __trap(); // the launch plan's shared_memory is smaller than sizeof(ScanSmem)
  }
  int seq, h, row_block;
  pick_work(cu_seqlens, num_seqs, total, seq, h, row_block);
  const int row0 = row_block * kTileRows; // the block's first value row
  if (row0 >= kHeadSize) {
    return; // a grid wider than the rows (whole block)
  }
  long long start, end;
  sequence_bounds(cu_seqlens, seq, total, start, end);
  const long long slot0 = first_slot(seq, start);
  const int chunks = static_cast<int>((end - start + kChunk - 1) / kChunk);

  // The warp's 16 state rows: s[nt][e] = S[row0 + 16 warp + g + 8 (e / 2)][8 nt + 2 q4 + e % 2],
  // the accumulator layout of 16 n tiles of 8 keys.
  const long long state_rows =
      (static_cast<long long>(seq) * kNumVHeads + h) * kHeadSize + row0 + kSub * warp + g;
  float s[kHeadSize / 8][4];
#pragma unroll
  for (int nt = 0; nt < kHeadSize / 8; ++nt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float2 x = make_float2(0.0f, 0.0f); // absent state or empty sequence: zeros
      if (state != nullptr && chunks > 0) {
        x = *reinterpret_cast<const float2*>(state + (state_rows + 8 * half) * kHeadSize + 8 * nt +
                                             2 * q4);
      }
      s[nt][2 * half] = x.x, s[nt][2 * half + 1] = x.y;
    }
  }

  if (chunks > 0) {
    load_stage(sm.stage[0], slot0, h, row0, chunk_qk, chunk_w, chunk_u, chunk_p, chunk_gates);
  }
  for (int c = 0; c < chunks; ++c) {
    if (c + 1 < chunks) { // prefetch the next chunk into the other buffer
      load_stage(sm.stage[(c + 1) % 2], slot0 + c + 1, h, row0, chunk_qk, chunk_w, chunk_u, chunk_p,
                 chunk_gates);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads(); // this chunk's tiles are visible to every warp
    const ScanStage& st = sm.stage[c % 2];

    // -S as A fragments (k = keys): sa[ks] covers keys 16ks..16ks+15.
    unsigned sa[kHeadSize / 16][4];
#pragma unroll
    for (int ks = 0; ks < kHeadSize / 16; ++ks) {
      sa[ks][0] = pack_half2(-s[2 * ks][0], -s[2 * ks][1]);
      sa[ks][1] = pack_half2(-s[2 * ks][2], -s[2 * ks][3]);
      sa[ks][2] = pack_half2(-s[2 * ks + 1][0], -s[2 * ks + 1][1]);
      sa[ks][3] = pack_half2(-s[2 * ks + 1][2], -s[2 * ks + 1][3]);
    }

    // D^T = U^T - S W^T: d[nt][e] = D[token 8nt + 2q4 + e % 2][row g + 8 (e / 2)].
    float d[kChunk / 8][4];
#pragma unroll
    for (int np = 0; np < kChunk / 16; ++np) {
      unsigned r[4];
      ldsm_x4_trans(
          r, &st.u[16 * np + 8 * (lane / 16) + lane % 8][kSub * warp + 8 * ((lane / 8) % 2)]);
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const float2 f = unpack_half2(r[i]);
        d[2 * np + i / 2][2 * (i % 2)] = f.x;
        d[2 * np + i / 2][2 * (i % 2) + 1] = f.y;
      }
    }
#pragma unroll
    for (int ks = 0; ks < kHeadSize / 16; ++ks) {
#pragma unroll
      for (int np = 0; np < kChunk / 16; ++np) {
        unsigned bw[4];
        ldsm_x4(bw, &st.w[16 * np + 8 * (lane / 16) + lane % 8][16 * ks + 8 * ((lane / 8) % 2)]);
        mma_f16(d[2 * np], sa[ks], bw[0], bw[1]);
        mma_f16(d[2 * np + 1], sa[ks], bw[2], bw[3]);
      }
    }

    // D^T as A fragments (k = tokens), plain (for O) and scaled by exp(L_last - L_j) (for S).
    unsigned da[kChunk / 16][4], dk[kChunk / 16][4];
#pragma unroll
    for (int kt = 0; kt < kChunk / 16; ++kt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int nt = 2 * kt + half;
        const float k0 = st.gates.k_decay[8 * nt + 2 * q4];
        const float k1 = st.gates.k_decay[8 * nt + 2 * q4 + 1];
        da[kt][2 * half] = pack_half2(d[nt][0], d[nt][1]);
        da[kt][2 * half + 1] = pack_half2(d[nt][2], d[nt][3]);
        dk[kt][2 * half] = pack_half2(d[nt][0] * k0, d[nt][1] * k1);
        dk[kt][2 * half + 1] = pack_half2(d[nt][2] * k0, d[nt][3] * k1);
      }
    }

    // S = gamma_last S + D^T diag(exp(L_last - L)) K: the next chunk's state.
    const float state_decay = st.gates.state_decay;
#pragma unroll
    for (int nt = 0; nt < kHeadSize / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        s[nt][e] *= state_decay;
      }
    }
#pragma unroll
    for (int kt = 0; kt < kChunk / 16; ++kt) {
#pragma unroll
      for (int np = 0; np < kHeadSize / 16; ++np) {
        unsigned bk[4];
        ldsm_x4_trans(bk,
                      &st.k[16 * kt + 8 * ((lane / 8) % 2) + lane % 8][8 * (2 * np + lane / 16)]);
        mma_f16(s[2 * np], dk[kt], bk[0], bk[1]);
        mma_f16(s[2 * np + 1], dk[kt], bk[2], bk[3]);
      }
    }

    // O^T = S_old Q^T diag(scale gamma) + D^T P^T (sa holds -S_old).
    float o[kChunk / 8][4];
#pragma unroll
    for (int nt = 0; nt < kChunk / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        o[nt][e] = 0.0f;
      }
    }
#pragma unroll
    for (int ks = 0; ks < kHeadSize / 16; ++ks) {
#pragma unroll
      for (int np = 0; np < kChunk / 16; ++np) {
        unsigned bq[4];
        ldsm_x4(bq, &st.q[16 * np + 8 * (lane / 16) + lane % 8][16 * ks + 8 * ((lane / 8) % 2)]);
        mma_f16(o[2 * np], sa[ks], bq[0], bq[1]);
        mma_f16(o[2 * np + 1], sa[ks], bq[2], bq[3]);
      }
    }
#pragma unroll
    for (int nt = 0; nt < kChunk / 8; ++nt) {
      const float m0 = -st.gates.q_scale[8 * nt + 2 * q4];
      const float m1 = -st.gates.q_scale[8 * nt + 2 * q4 + 1];
      o[nt][0] *= m0, o[nt][1] *= m1, o[nt][2] *= m0, o[nt][3] *= m1;
    }
#pragma unroll
    for (int np = 0; np < kChunk / 16; ++np) { // tokens 16np..+15 see tokens 0..16np+15
#pragma unroll
      for (int kt = 0; kt <= np; ++kt) {
        unsigned bp[4];
        ldsm_x4(bp, &st.p[16 * np + 8 * (lane / 16) + lane % 8][16 * kt + 8 * ((lane / 8) % 2)]);
        mma_f16(o[2 * np], da[kt], bp[0], bp[1]);
        mma_f16(o[2 * np + 1], da[kt], bp[2], bp[3]);
      }
    }
#pragma unroll
    for (int nt = 0; nt < kChunk / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sm.out[8 * nt + 2 * q4 + e % 2][kSub * warp + g + 8 * (e / 2)] = from_float<bf16>(o[nt][e]);
      }
    }
    __syncthreads(); // the output tile is complete; every warp is done with this stage
    const long long c0 = start + static_cast<long long>(c) * kChunk;
#pragma unroll
    for (int i = tid; i < kChunk * kTileRows / 8; i += kThreads) {
      const int t = i / (kTileRows / 8), col = (i % (kTileRows / 8)) * 8;
      if (c0 + t < end) {
        *reinterpret_cast<uint4*>(output + ((c0 + t) * kNumVHeads + h) * kHeadSize + row0 + col) =
            *reinterpret_cast<const uint4*>(&sm.out[t][col]);
      }
    }
  }

  // The final state (zeros for an empty sequence).
  const long long out_rows =
      (static_cast<long long>(seq) * kNumVHeads + h) * kHeadSize + row0 + kSub * warp + g;
#pragma unroll
  for (int nt = 0; nt < kHeadSize / 8; ++nt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      *reinterpret_cast<float2*>(new_state + (out_rows + 8 * half) * kHeadSize + 8 * nt + 2 * q4) =
          make_float2(s[nt][2 * half], s[nt][2 * half + 1]);
    }
  }

  // Tokens before the first sequence or after the last one belong to no sequence: output 0.
  // (Never with well-formed cu_seqlens: cu_seqlens[0] == 0 and cu_seqlens[N] == T.)
  const long long first = min(max(cu_seqlens[0], 0LL), total);
  const long long last = min(max(cu_seqlens[num_seqs], first), total);
  constexpr int kPieces = kTileRows / 8; // 16-byte pieces of a token's 64 outputs
  for (long long i = tid; seq == 0 && i < first * kPieces; i += kThreads) {
    *reinterpret_cast<uint4*>(output + (i / kPieces * kNumVHeads + h) * kHeadSize + row0 +
                              i % kPieces * 8) = make_uint4(0, 0, 0, 0);
  }
  for (long long i = tid; seq == num_seqs - 1 && i < (total - last) * kPieces; i += kThreads) {
    *reinterpret_cast<uint4*>(output + ((last + i / kPieces) * kNumVHeads + h) * kHeadSize + row0 +
                              i % kPieces * 8) = make_uint4(0, 0, 0, 0);
  }
}

// =============================================================================================
// The direct path, gdn_recurrent_kernel: the recurrence token by token, for short workloads.
// =============================================================================================
// Below ~60 tokens the two chunked launches cost more than the tokens themselves (their floor
// is ~19 us on an H200: two launches, the prepare pass and one 64-token chunk step), so the
// launch plan runs this kernel alone instead (config.toml says when).
//
// Math: the recurrence of the header, rearranged so that a token needs dot products with the
// OLD state row only. Per token t, every row v of S does
//   old_v = g_t (k_t . S[v]),   delta = beta_t (v_t[v] - old_v)      (= new_v - old_v)
//   S'[v] = g_t S[v] + delta k_t
//   o_t[v] = scale (q_t . S'[v]) = scale (g_t (q_t . S[v]) + (q_t . k_t) delta)
// so one combined reduction per token, and q_t . k_t is per token and head, not per row. One
// token further back, k_t . S_{t-1} = g_{t-1} (k_t . S_{t-2}) + delta_{t-1} (k_t . k_{t-1}) (and
// likewise for q_t): the reduction for token t+1 runs on S_{t-1}, beside token t's scalar chain,
// while token t's own update is still pending. k_t . k_{t-1} and q_t . k_{t-1} are per token and
// head too. (This kernel passed all 100 contest workloads as the starter before the chunked
// form, commit bf7dbd3; its arithmetic is unchanged.)
//
// Layout: a block of 128 threads owns kRowsPerBlock = 16 rows of one (sequence, value head) for
// the whole sequence. kLanesPerRow = 8 consecutive lanes share a row; lane j of the 8 keeps the
// float4 groups at columns 4j + 32m (m = 0..3) in registers, so a dot product is 16 FMAs and a
// 3-step shuffle sum. Tokens go in stages of kStageTokens = 32: the block converts q, k (and the
// k of the token before the stage) to fp32 in shared memory, with its 16 rows of v, the gates
// and the three per-token dot products, using 16-byte coalesced loads; the next stage's global
// loads are issued before the current stage's recurrence runs. Outputs are gathered in shared
// memory and stored once per stage.
//
// Decomposition: grid [num_seqs, num_v_heads, head_size / 16] = 64 blocks per sequence, handed
// out longest sequence first (pick_work). The longest sequence sets the time: on an H200
// (contest timing), one sequence of 6 / 16 / 31 / 49 / 61 tokens took 6.0 / 8.6 / 12.6 / 19.4 /
// 22.4 us (~0.26 us per token, ~2.3 us more per 32-token stage); the chunked path took 19-22 us.
namespace recurrent {

constexpr int kLanesPerRow = 8;                                   // lanes sharing one state row
constexpr int kGroupsPerLane = kHeadSize / kLanesPerRow / 4;      // float4 groups per lane: 4
constexpr int kRowsPerBlock = kThreads / kLanesPerRow;            // 16
constexpr int kStageTokens = 32;                                  // tokens staged at a time
constexpr int kQKItems = kStageTokens * kHeadSize / 8 / kThreads; // 8-column q/k pieces: 4
constexpr int kVItems = kStageTokens * kRowsPerBlock / kThreads;  // v values per thread: 4
static_assert(kGroupsPerLane * 4 * kLanesPerRow == kHeadSize, "lanes tile a row");
static_assert(kQKItems * kThreads * 8 == kStageTokens * kHeadSize, "q/k staging tiles a stage");
static_assert(kVItems * kThreads == kStageTokens * kRowsPerBlock, "v staging tiles a stage");
static_assert(kStageTokens <= kThreads, "one thread per token computes the gates");

// Per token t of a stage: its gates and the state-independent dot products.
struct TokenGates {
  float g;    // decay
  float beta; // update gate
  float qk;   // q_t . k_t
  float kk;   // k_t . k_{t-1}  (0 for the first token of a sequence)
  float qkp;  // q_t . k_{t-1}  (likewise)
  float pad[3];
};

struct Staging {
  float q[kStageTokens][kHeadSize];
  float k[kStageTokens + 1][kHeadSize]; // k[0] is the token before the stage (zeros at the start)
  float v[kStageTokens][kRowsPerBlock];
  TokenGates gates[kStageTokens];
  bf16 out[kStageTokens][kRowsPerBlock];
};

// What one thread loads from global memory for one stage, before it goes to shared memory.
struct StageLoads {
  uint4 q[kQKItems]; // 8 bf16 of q at (token, column piece) item
  uint4 k[kQKItems];
  uint4 k_before; // 8 bf16 of k[c0 - 1] (threads < 16)
  bf16 v[kVItems];
  bf16 a; // gate inputs of token threadIdx.x (threads < kStageTokens)
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

// Issues the loads of tokens [c0, min(c0 + kStageTokens, end)); tokens past end read as zero.
__device__ __forceinline__ StageLoads load_tokens(const bf16* q, const bf16* k, const bf16* v,
                                                  const bf16* a, const bf16* b, long long start,
                                                  long long c0, long long end, int h, int row0) {
  StageLoads l;
  const int tid = threadIdx.x;
#pragma unroll
  for (int i = 0; i < kQKItems; ++i) {
    const int item = tid + i * kThreads;
    const long long t = c0 + item / (kHeadSize / 8);
    const long long offset =
        (t * kNumQKHeads + h / kVHeadsPerQKHead) * kHeadSize + (item % (kHeadSize / 8)) * 8;
    l.q[i] = t < end ? *reinterpret_cast<const uint4*>(q + offset) : make_uint4(0, 0, 0, 0);
    l.k[i] = t < end ? *reinterpret_cast<const uint4*>(k + offset) : make_uint4(0, 0, 0, 0);
  }
  const long long before = (c0 - 1) * kNumQKHeads + h / kVHeadsPerQKHead;
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
  l.a = tid < kStageTokens && t < end ? a[t * kNumVHeads + h] : from_float<bf16>(0.0f);
  l.b = tid < kStageTokens && t < end ? b[t * kNumVHeads + h] : from_float<bf16>(0.0f);
  return l;
}

// Writes a stage's loads to shared memory as fp32, with the gates of every token.
__device__ __forceinline__ void stage_tokens(Staging& st, const StageLoads& l, float neg_exp_a_log,
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
  if (tid < kStageTokens) {
    st.gates[tid].g = expf(neg_exp_a_log * softplus(to_float(l.a) + dt_bias_h));
    st.gates[tid].beta = sigmoid(to_float(l.b));
  }
}

// q_t . k_t, k_t . k_{t-1} and q_t . k_{t-1} of every token of the stage (a warp per token,
// 4 columns per lane).
__device__ __forceinline__ void token_dots(Staging& st) {
  const int lane = threadIdx.x % kWarpSize;
#pragma unroll 2
  for (int t = threadIdx.x / kWarpSize; t < kStageTokens; t += kThreads / kWarpSize) {
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

// Stores the outputs of tokens [c0, min(c0 + kStageTokens, end)) of the block's rows.
__device__ __forceinline__ void store_outputs(const Staging& st, bf16* output, long long c0,
                                              long long end, int h, int row0) {
  for (int item = threadIdx.x; item < kStageTokens * kRowsPerBlock; item += kThreads) {
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

// g s + delta k: a token's update of 4 state values (g = 1, delta = 0 leaves them as they are).
__device__ __forceinline__ float4 updated(float4 s, float4 k, float g, float delta) {
  s.x = fmaf(g, s.x, k.x * delta);
  s.y = fmaf(g, s.y, k.y * delta);
  s.z = fmaf(g, s.z, k.z * delta);
  s.w = fmaf(g, s.w, k.w * delta);
  return s;
}

} // namespace recurrent

extern "C" __global__ void __launch_bounds__(kThreads)
    gdn_recurrent_kernel(const bf16* q,               // [T, 4, 128]
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
  using namespace recurrent;
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
  long long start, end;
  sequence_bounds(cu_seqlens, seq, total, start, end);
  const long long head = static_cast<long long>(seq) * kNumVHeads + h; // (seq, h) in [N, 8]
  const long long row_offset = (head * kHeadSize + row0 + row_local) * kHeadSize;

  // Software-pipelined over tokens: when token t is finished, the update of token t-1 is still
  // pending (s holds S_{t-2}), so the dot products of token t+1 with S_{t-1} overlap token t's
  // short scalar chain (see the section's comment).
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

  StageLoads next{};
  if (start < end) {
    next = load_tokens(q, k, v, a, b, start, start, end, h, row0);
  }
  for (long long c0 = start; c0 < end; c0 += kStageTokens) {
    __syncthreads(); // the previous stage's recurrence is done with the staging buffers
    if (c0 > start) {
      store_outputs(st, output, c0 - kStageTokens, end, h, row0);
    }
    stage_tokens(st, next, neg_exp_a_log, dt_bias_h);
    __syncthreads();
    token_dots(st);
    if (c0 + kStageTokens < end) {
      next = load_tokens(q, k, v, a, b, start, c0 + kStageTokens, end, h, row0); // in flight
    }
    __syncthreads();

    // (k_t . S_{t-2}, q_t . S_{t-2}) summed over the row's lanes, for the stage's first token.
    float4 k_cur[kGroupsPerLane], q_cur[kGroupsPerLane];
#pragma unroll
    for (int m = 0; m < kGroupsPerLane; ++m) {
      k_cur[m] = *reinterpret_cast<const float4*>(&st.k[1][4 * (j + kLanesPerRow * m)]);
      q_cur[m] = *reinterpret_cast<const float4*>(&st.q[0][4 * (j + kLanesPerRow * m)]);
    }
    float2 dots = row_dots(k_cur, q_cur, s);

    const int n = static_cast<int>(min(static_cast<long long>(kStageTokens), end - c0));
    for (int t = 0; t < n; ++t) {
      const TokenGates gt = st.gates[t];
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
        s[m] = updated(s[m], k_prev[m], g_prev, delta_prev);
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
    store_outputs(st, output, end - 1 - (end - 1 - start) % kStageTokens, end, h, row0);
  }
#pragma unroll
  for (int m = 0; m < kGroupsPerLane; ++m) { // the last token's pending update
    s[m] = updated(s[m], k_prev[m], g_prev, delta_prev);
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
