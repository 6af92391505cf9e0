// Launch 1 of the pack test project: y = x * f + bias + i32 + i64 + flag, and each row's sum
// accumulated into a zeroed workspace. A template kernel that stages its rows in 64 KiB of
// dynamic shared memory (more than the 48 KiB a launch gets without opting in).
#include "feat_common.cuh"

using namespace fibkit;

template <int kCols>
__global__ void scale_kernel(const float* x, const bf16* bias, int i32, long long i64, float f,
                             bool flag, float* y, float* row_sums, int rows) {
  extern __shared__ float staged[]; // 64 KiB: FEAT_ROWS_PER_BLOCK rows at its far end
  constexpr int kStagedFloats = 64 * 1024 / 4;
  float* tile = staged + kStagedFloats - FEAT_ROWS_PER_BLOCK * kCols;
  const int c = threadIdx.x;
  const float add = static_cast<float>(i32) + static_cast<float>(i64) + (flag ? 1.0f : 0.0f);
  for (int r = 0; r < FEAT_ROWS_PER_BLOCK; ++r) {
    const int row = blockIdx.x * FEAT_ROWS_PER_BLOCK + r;
    if (row >= rows) {
      break; // the same for every thread of the block
    }
    tile[r * kCols + c] =
        feat::combine(x[static_cast<long long>(row) * kCols + c], f, to_float(bias[c]), add);
    __syncthreads();
    const float v = tile[r * kCols + c];
    y[static_cast<long long>(row) * kCols + c] = v;
    const float sum = block_sum(v);
    if (c == 0) {
      atomicAdd(&row_sums[row], sum);
    }
  }
}
