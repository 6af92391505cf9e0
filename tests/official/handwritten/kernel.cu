// A hand-written official CUDA solution of gdn_decode_qk4_v8_d128_k_last, written the way the
// contest's starter kit asks for one (a .cu with its own TVM-FFI host code), to check that
// fibkit verifies and benches official solutions (`--solution-json`) as the official evaluator
// runs them. Deliberately plain: one block per (sequence, value head), one thread per state row.
//
// For sequence b, value head h (q/k head h / 2), state S = state[b, h] stored k-last as S[v][k]:
//   g = exp(-exp(A_log[h]) * softplus(a[b, h] + dt_bias[h])),  beta = sigmoid(b[b, h])
//   per row v: s = g * S[v][:]; old = k . s; new = beta * v[v] + (1 - beta) * old
//              S'[v][:] = s + k * (new - old);  out[v] = scale * (q . S'[v][:])
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <tvm/ffi/container/tensor.h>
#include <tvm/ffi/error.h>
#include <tvm/ffi/extra/c_env_api.h>
#include <tvm/ffi/function.h>

#include <cmath>

namespace {

constexpr int kHeads = 8;
constexpr int kDim = 128;

__device__ float softplus(float x) {
  return x > 20.0f ? x : log1pf(expf(x));
}

__global__ void gdn_decode(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                           const float* state, const float* A_log, const __nv_bfloat16* a,
                           const float* dt_bias, const __nv_bfloat16* b, float scale,
                           __nv_bfloat16* out, float* new_state) {
  const int seq = blockIdx.x;
  const int h = blockIdx.y;
  const int row = threadIdx.x;
  const int qk = (seq * 4 + h / 2) * kDim;
  __shared__ float q_s[kDim], k_s[kDim];
  q_s[row] = __bfloat162float(q[qk + row]);
  k_s[row] = __bfloat162float(k[qk + row]);
  __syncthreads();
  const int gate = seq * kHeads + h;
  const float g = expf(-expf(A_log[h]) * softplus(__bfloat162float(a[gate]) + dt_bias[h]));
  const float beta = 1.0f / (1.0f + expf(-__bfloat162float(b[gate])));
  const long long base = (static_cast<long long>(gate) * kDim + row) * kDim;
  float old = 0.0f;
  for (int i = 0; i < kDim; ++i) {
    old += k_s[i] * g * state[base + i];
  }
  const float delta = beta * __bfloat162float(v[gate * kDim + row]) + (1.0f - beta) * old - old;
  float o = 0.0f;
  for (int i = 0; i < kDim; ++i) {
    const float s = g * state[base + i] + k_s[i] * delta;
    new_state[base + i] = s;
    o += q_s[i] * s;
  }
  out[gate * kDim + row] = __float2bfloat16(scale * o);
}

void check(const tvm::ffi::TensorView& t, int ndim, const char* name) {
  if (t.ndim() != ndim || !t.IsContiguous()) {
    TVM_FFI_THROW(ValueError) << name << ": expected a contiguous " << ndim << "-D tensor";
  }
}

} // namespace

void run(tvm::ffi::TensorView q, tvm::ffi::TensorView k, tvm::ffi::TensorView v,
         tvm::ffi::TensorView state, tvm::ffi::TensorView A_log, tvm::ffi::TensorView a,
         tvm::ffi::TensorView dt_bias, tvm::ffi::TensorView b, double scale,
         tvm::ffi::TensorView output, tvm::ffi::TensorView new_state) {
  check(q, 4, "q");
  check(state, 4, "state");
  check(output, 4, "output");
  const int batch = static_cast<int>(q.size(0));
  if (scale == 0.0)
    scale = 1.0 / std::sqrt(static_cast<double>(kDim));
  auto stream =
      static_cast<cudaStream_t>(TVMFFIEnvGetStream(q.device().device_type, q.device().device_id));
  if (batch == 0)
    return;
  gdn_decode<<<dim3(batch, kHeads), kDim, 0, stream>>>(
      static_cast<const __nv_bfloat16*>(q.data_ptr()),
      static_cast<const __nv_bfloat16*>(k.data_ptr()),
      static_cast<const __nv_bfloat16*>(v.data_ptr()), static_cast<const float*>(state.data_ptr()),
      static_cast<const float*>(A_log.data_ptr()), static_cast<const __nv_bfloat16*>(a.data_ptr()),
      static_cast<const float*>(dt_bias.data_ptr()),
      static_cast<const __nv_bfloat16*>(b.data_ptr()), static_cast<float>(scale),
      static_cast<__nv_bfloat16*>(output.data_ptr()), static_cast<float*>(new_state.data_ptr()));
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    TVM_FFI_THROW(RuntimeError) << cudaGetErrorString(err);
}

TVM_FFI_DLL_EXPORT_TYPED_FUNC(run, run);
