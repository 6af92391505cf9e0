// y = x * f, in a kernel that raises its register budget with setmaxnreg: an instruction of the
// arch-specific targets (sm_90a, sm_100a) that plain sm_100 cannot assemble.
extern "C" __global__ void __launch_bounds__(256)
    arch_specific_kernel(const float* x, float f, float* y) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL) || defined(__CUDA_ARCH_FEAT_SM100_ALL)
  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n");
#endif
  const long long i = static_cast<long long>(blockIdx.x) * 256 + threadIdx.x;
  y[i] = x[i] * f;
}
