// A starter-kit CUDA solution.
__global__ void k() {}
