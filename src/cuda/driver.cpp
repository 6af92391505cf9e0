#include "fibkit/cuda/driver.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <dlfcn.h>

#include <algorithm>
#include <mutex>

namespace fibkit::cuda {

namespace {

// Entry points are requested for the CUDA version of the headers (13.0), which selects the
// versioned symbol (e.g. cuMemAlloc_v2) those headers declare.
constexpr int k_cuda_version = CUDA_VERSION;

using GetProcAddress = CUresult (*)(const char*, void**, int, cuuint64_t,
                                    CUdriverProcAddressQueryResult*);

[[noreturn]] void no_device(const std::string& why) {
  throw NoDeviceError(fmt::format("no usable CUDA device: {}", why));
}

Driver load() {
  void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    no_device("the CUDA driver (libcuda.so.1) is not installed");
  }
  auto get_proc = reinterpret_cast<GetProcAddress>(::dlsym(lib, "cuGetProcAddress_v2"));
  if (!get_proc) {
    no_device("the CUDA driver is too old (no cuGetProcAddress_v2); driver 525 or newer is needed");
  }
  Driver d{};
  const auto resolve = [&](const char* name, auto& fn) {
    void* p = nullptr;
    CUdriverProcAddressQueryResult found{};
    if (get_proc(name, &p, k_cuda_version, CU_GET_PROC_ADDRESS_DEFAULT, &found) != CUDA_SUCCESS ||
        !p) {
      no_device(fmt::format("the CUDA driver has no {} for CUDA {}.{}", name, k_cuda_version / 1000,
                            k_cuda_version % 1000 / 10));
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  // The names are string literals: cuda.h's renaming macros do not touch them.
  resolve("cuInit", d.cuInit);
  resolve("cuGetErrorName", d.cuGetErrorName);
  resolve("cuGetErrorString", d.cuGetErrorString);
  resolve("cuDeviceGetCount", d.cuDeviceGetCount);
  resolve("cuDeviceGet", d.cuDeviceGet);
  resolve("cuDeviceGetName", d.cuDeviceGetName);
  resolve("cuDeviceGetAttribute", d.cuDeviceGetAttribute);
  resolve("cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain);
  resolve("cuDevicePrimaryCtxRelease", d.cuDevicePrimaryCtxRelease);
  resolve("cuCtxSetCurrent", d.cuCtxSetCurrent);
  resolve("cuStreamCreate", d.cuStreamCreate);
  resolve("cuStreamDestroy", d.cuStreamDestroy);
  resolve("cuStreamSynchronize", d.cuStreamSynchronize);
  resolve("cuMemAlloc", d.cuMemAlloc);
  resolve("cuMemFree", d.cuMemFree);
  resolve("cuMemcpyHtoD", d.cuMemcpyHtoD);
  resolve("cuMemcpyDtoH", d.cuMemcpyDtoH);
  resolve("cuMemsetD8Async", d.cuMemsetD8Async);
  resolve("cuModuleLoadData", d.cuModuleLoadData);
  resolve("cuModuleUnload", d.cuModuleUnload);
  resolve("cuModuleGetFunction", d.cuModuleGetFunction);
  resolve("cuFuncSetAttribute", d.cuFuncSetAttribute);
  resolve("cuFuncGetAttribute", d.cuFuncGetAttribute);
  resolve("cuLaunchKernelEx", d.cuLaunchKernelEx);
  resolve("cuMemcpyDtoDAsync", d.cuMemcpyDtoDAsync);
  resolve("cuEventCreate", d.cuEventCreate);
  resolve("cuEventDestroy", d.cuEventDestroy);
  resolve("cuEventRecord", d.cuEventRecord);
  resolve("cuEventSynchronize", d.cuEventSynchronize);
  // The _v2 entry point under CUDA 13's name (cuda.h maps cuEventElapsedTime to it).
  resolve("cuEventElapsedTime", d.cuEventElapsedTime);
  if (const CUresult rc = d.cuInit(0); rc != CUDA_SUCCESS) {
    const char* name = "?";
    d.cuGetErrorName(rc, &name);
    no_device(fmt::format("cuInit(0) failed: {}", name));
  }
  int count = 0;
  if (d.cuDeviceGetCount(&count) != CUDA_SUCCESS || count == 0) {
    no_device("no CUDA device is visible");
  }
  return d;
}

} // namespace

const Driver& Driver::get() {
  static std::once_flag once;
  static Driver driver;
  static std::string failure;
  std::call_once(once, [] {
    try {
      driver = load();
    } catch (const NoDeviceError& e) {
      failure = e.what();
    }
  });
  if (!failure.empty()) {
    throw NoDeviceError(failure);
  }
  return driver;
}

void check(CUresult result, const char* call, const char* file, int line) {
  if (result == CUDA_SUCCESS) {
    return;
  }
  const Driver& d = Driver::get();
  const char* name = "CUDA_ERROR_UNKNOWN";
  const char* text = "unknown error";
  d.cuGetErrorName(result, &name);
  d.cuGetErrorString(result, &text);
  throw Error(fmt::format("{}: {}: {} ({}:{})", call, name, text, file, line));
}

std::string detect_arch() {
  try {
    Driver::get();
  } catch (const NoDeviceError& e) {
    throw NoDeviceError(fmt::format("--arch auto needs a GPU ({}); pass --arch sm_90a "
                                    "(H100/H200) or --arch sm_100a (B200)",
                                    e.what()));
  }
  CUdevice dev = 0;
  int major = 0;
  int minor = 0;
  FIBKIT_CU(cuDeviceGet(&dev, 0));
  FIBKIT_CU(cuDeviceGetAttribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
  FIBKIT_CU(cuDeviceGetAttribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
  // Hopper and later have arch-specific features (wgmma, tcgen05) behind the "a" targets.
  return fmt::format("sm_{}{}{}", major, minor, major >= 9 ? "a" : "");
}

Context::Context(int ordinal) {
  FIBKIT_CU(cuDeviceGet(&m_device, ordinal));
  FIBKIT_CU(cuDevicePrimaryCtxRetain(&m_context, m_device));
  FIBKIT_CU(cuCtxSetCurrent(m_context));
  FIBKIT_CU(cuStreamCreate(&m_stream, CU_STREAM_NON_BLOCKING));
  m_info.ordinal = ordinal;
  char name[256] = {};
  FIBKIT_CU(cuDeviceGetName(name, sizeof name, m_device));
  m_info.name = name;
  const auto attr = [&](CUdevice_attribute a) {
    int v = 0;
    FIBKIT_CU(cuDeviceGetAttribute(&v, a, m_device));
    return v;
  };
  m_info.cc_major = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  m_info.cc_minor = attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  m_info.num_sms = attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  m_info.l2_bytes = attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
  m_info.max_smem_optin = attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
}

Context::~Context() {
  const Driver& d = Driver::get();
  if (m_stream) {
    d.cuStreamDestroy(m_stream);
  }
  if (m_context) {
    d.cuDevicePrimaryCtxRelease(m_device);
  }
}

void Context::synchronize() const {
  FIBKIT_CU(cuStreamSynchronize(m_stream));
}

DeviceBuffer::DeviceBuffer(std::size_t bytes) : m_size(bytes) {
  if (bytes > 0) {
    FIBKIT_CU(cuMemAlloc(&m_ptr, bytes));
  }
}

DeviceBuffer::~DeviceBuffer() {
  if (m_ptr) {
    Driver::get().cuMemFree(m_ptr);
  }
}

DeviceBuffer::DeviceBuffer(DeviceBuffer&& other) noexcept
    : m_ptr(other.m_ptr), m_size(other.m_size) {
  other.m_ptr = 0;
  other.m_size = 0;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& other) noexcept {
  if (this != &other) {
    if (m_ptr) {
      Driver::get().cuMemFree(m_ptr);
    }
    m_ptr = other.m_ptr;
    m_size = other.m_size;
    other.m_ptr = 0;
    other.m_size = 0;
  }
  return *this;
}

void DeviceBuffer::upload(const void* host, std::size_t bytes) const {
  if (bytes > m_size) {
    throw Error(fmt::format("upload of {} bytes into a {}-byte buffer", bytes, m_size));
  }
  if (bytes > 0) {
    FIBKIT_CU(cuMemcpyHtoD(m_ptr, host, bytes));
  }
}

void DeviceBuffer::download(void* host, std::size_t bytes) const {
  if (bytes > m_size) {
    throw Error(fmt::format("download of {} bytes from a {}-byte buffer", bytes, m_size));
  }
  if (bytes > 0) {
    FIBKIT_CU(cuMemcpyDtoH(host, m_ptr, bytes));
  }
}

void DeviceBuffer::fill(unsigned char value, CUstream stream) const {
  if (m_size > 0) {
    FIBKIT_CU(cuMemsetD8Async(m_ptr, value, m_size, stream));
  }
}

Module::Module(const std::string& cubin) {
  FIBKIT_CU(cuModuleLoadData(&m_module, cubin.data()));
}

Module::~Module() {
  if (m_module) {
    Driver::get().cuModuleUnload(m_module);
  }
}

CUfunction Module::function(const std::string& name) const {
  CUfunction fn = nullptr;
  const CUresult rc = Driver::get().cuModuleGetFunction(&fn, m_module, name.c_str());
  if (rc != CUDA_SUCCESS) {
    check(rc, fmt::format("cuModuleGetFunction(\"{}\")", name).c_str(), __FILE__, __LINE__);
  }
  return fn;
}

void launch(CUfunction function, const LaunchDims& dims, CUstream stream, void** args) {
  constexpr unsigned k_default_smem = 48 * 1024;
  if (dims.shared_memory > k_default_smem) {
    FIBKIT_CU(cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                 static_cast<int>(dims.shared_memory)));
  }
  CUlaunchAttribute attrs[2] = {};
  unsigned num_attrs = 0;
  if (dims.cluster[0] != 0) {
    attrs[num_attrs].id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
    attrs[num_attrs].value.clusterDim.x = dims.cluster[0];
    attrs[num_attrs].value.clusterDim.y = std::max(1u, dims.cluster[1]);
    attrs[num_attrs].value.clusterDim.z = std::max(1u, dims.cluster[2]);
    ++num_attrs;
  }
  if (dims.cooperative) {
    attrs[num_attrs].id = CU_LAUNCH_ATTRIBUTE_COOPERATIVE;
    attrs[num_attrs].value.cooperative = 1;
    ++num_attrs;
  }
  CUlaunchConfig config{};
  config.gridDimX = dims.grid[0];
  config.gridDimY = dims.grid[1];
  config.gridDimZ = dims.grid[2];
  config.blockDimX = dims.block[0];
  config.blockDimY = dims.block[1];
  config.blockDimZ = dims.block[2];
  config.sharedMemBytes = dims.shared_memory;
  config.hStream = stream;
  config.attrs = num_attrs ? attrs : nullptr;
  config.numAttrs = num_attrs;
  FIBKIT_CU(cuLaunchKernelEx(&config, function, args, nullptr));
}

} // namespace fibkit::cuda
