// A user header shared by the two kernel files of the pack test project.
#pragma once

#include "fibkit.cuh"

#ifndef FEAT_ROWS_PER_BLOCK
#error "FEAT_ROWS_PER_BLOCK comes from the config's [build] defines"
#endif
static_assert(FEAT_ROWS_PER_BLOCK == 4, "the launch plan's grid assumes 4 rows per block");

namespace feat {

/// x * f + b + add, in fp32.
__device__ __forceinline__ float combine(float x, float f, float b, float add) {
  return fmaf(x, f, b) + add;
}

} // namespace feat
