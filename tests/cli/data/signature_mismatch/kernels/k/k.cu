#include "fibkit.cuh"

extern "C" __global__ void k(const fibkit::bf16* q, float* output, float* new_state) {}
