// Launch 2 of the pack test project, in a second .cu file: each row's sum added to its last
// column.
#include "feat_common.cuh"

extern "C" __global__ void add_row_sums_kernel(const float* row_sums, float* y, int rows,
                                               int cols) {
  const int row = blockIdx.x * blockDim.x + threadIdx.x;
  if (row < rows) {
    y[static_cast<long long>(row) * cols + cols - 1] += row_sums[row];
  }
}
