#include "fibkit.cuh"

extern "C" __global__ void k(fibkit::bf16* output) {
  int x = 1 + ;
}
