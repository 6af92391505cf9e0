// The CUDA driver, loaded at run time with dlopen (never linked), so fibkit starts and its
// GPU-free commands work on machines without a GPU or driver. Entry points come from
// cuGetProcAddress, so the versioned symbols match the headers fibkit was built with.
#pragma once

#include <cuda.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fibkit::cuda {

/// The NVRTC target of GPU 0 with the arch-specific suffix where the GPU has one
/// ("sm_90a" on H100/H200, "sm_100a" on B200, "sm_89" on an L4). Throws fibkit::NoDeviceError
/// saying why (no driver, no GPU) and to pass --arch.
std::string detect_arch();

/// The driver entry points fibkit uses. Load once with Driver::get().
struct Driver {
  CUresult (*cuInit)(unsigned int);
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuGetErrorString)(CUresult, const char**);
  CUresult (*cuDeviceGetCount)(int*);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int*, CUdevice_attribute, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuStreamCreate)(CUstream*, unsigned int);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuMemAlloc)(CUdeviceptr*, std::size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void*, std::size_t);
  CUresult (*cuMemcpyDtoH)(void*, CUdeviceptr, std::size_t);
  CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, std::size_t, CUstream);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuFuncSetAttribute)(CUfunction, CUfunction_attribute, int);
  CUresult (*cuFuncGetAttribute)(int*, CUfunction_attribute, CUfunction);
  CUresult (*cuLaunchKernelEx)(const CUlaunchConfig*, CUfunction, void**, void**);
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, std::size_t, CUstream);
  CUresult (*cuEventCreate)(CUevent*, unsigned int);
  CUresult (*cuEventDestroy)(CUevent);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventSynchronize)(CUevent);
  CUresult (*cuEventElapsedTime)(float*, CUevent, CUevent);

  /// Loads libcuda.so.1 and every entry point, and calls cuInit(0) once. Throws
  /// fibkit::NoDeviceError when the driver is missing or unusable.
  static const Driver& get();
};

/// Throws fibkit::Error("<call>: <CUDA error name>: <description> (<file>:<line>)") unless
/// `result` is CUDA_SUCCESS.
void check(CUresult result, const char* call, const char* file, int line);

} // namespace fibkit::cuda

/// Calls a driver entry point through the dlopen'd table and checks its result, keeping the call
/// text in the error: FIBKIT_CU(cuMemAlloc(&ptr, bytes)).
#define FIBKIT_CU(call)                                                                            \
  ::fibkit::cuda::check(::fibkit::cuda::Driver::get().call, #call, __FILE__, __LINE__)

namespace fibkit::cuda {

/// Facts of the device that launch sizes and checks use.
struct DeviceInfo {
  int ordinal = 0;
  std::string name; ///< e.g. "NVIDIA H100 80GB HBM3"
  int cc_major = 0;
  int cc_minor = 0;
  int num_sms = 0;
  int l2_bytes = 0;
  int max_smem_optin = 0; ///< bytes of shared memory a block may opt in to
};

/// The primary context of one device, current on the calling thread while alive.
class Context {
public:
  /// Retains device `ordinal`'s primary context and makes it current.
  explicit Context(int ordinal = 0);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return m_info; }
  CUstream stream() const { return m_stream; }
  /// Waits for all work on the stream; throws with the failing call on a kernel fault.
  void synchronize() const;

private:
  CUdevice m_device = 0;
  CUcontext m_context = nullptr;
  CUstream m_stream = nullptr;
  DeviceInfo m_info;
};

/// Device memory, freed on destruction.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& other) noexcept;
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  CUdeviceptr ptr() const { return m_ptr; }
  std::size_t size() const { return m_size; }
  void upload(const void* host, std::size_t bytes) const;
  void download(void* host, std::size_t bytes) const;
  /// Fills every byte with `value` on `stream`.
  void fill(unsigned char value, CUstream stream) const;

private:
  CUdeviceptr m_ptr = 0;
  std::size_t m_size = 0;
};

/// A loaded cubin.
class Module {
public:
  explicit Module(const std::string& cubin);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  /// The kernel with lowered name `name`; throws naming it when absent.
  CUfunction function(const std::string& name) const;

private:
  CUmodule m_module = nullptr;
};

/// One launch: grid and block sizes, dynamic shared memory, optional cluster dims and the
/// cooperative flag, as the launch plan gives them.
struct LaunchDims {
  std::array<unsigned, 3> grid{1, 1, 1};
  std::array<unsigned, 3> block{1, 1, 1};
  unsigned shared_memory = 0;
  std::array<unsigned, 3> cluster{0, 0, 0}; ///< all 0: no cluster
  bool cooperative = false;
};

/// Launches `function` on `stream` with cuLaunchKernelEx, raising the dynamic shared memory
/// limit first when the launch needs more than the default 48 KiB. `args` points at each
/// argument's value, in parameter order.
void launch(CUfunction function, const LaunchDims& dims, CUstream stream, void** args);

} // namespace fibkit::cuda
