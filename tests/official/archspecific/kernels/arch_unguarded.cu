// y = x * f, raising its register budget with setmaxnreg unconditionally: it compiles for the
// arch-specific targets (sm_90a, sm_100a) only, so source mode must refuse it.
extern "C" __global__ void __launch_bounds__(256)
    arch_unguarded_kernel(const float* x, float f, float* y) {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n");
  const long long i = static_cast<long long>(blockIdx.x) * 256 + threadIdx.x;
  y[i] = x[i] * f;
}
