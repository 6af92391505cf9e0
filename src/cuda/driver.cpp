#include "fibkit/cuda/driver.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <dlfcn.h>

namespace fibkit::cuda {

namespace {

// The few driver entry points `detect_arch` needs; their C ABI is stable across driver versions.
using CUresult = int;
using PfnInit = CUresult (*)(unsigned int);
using PfnDeviceGetCount = CUresult (*)(int*);
using PfnDeviceGet = CUresult (*)(int*, int);
using PfnDeviceGetAttribute = CUresult (*)(int*, int, int);
constexpr int k_attr_cc_major = 75; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int k_attr_cc_minor = 76; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

[[noreturn]] void no_device(const std::string& why) {
  throw NoDeviceError(fmt::format("--arch auto needs a GPU: {}; pass --arch sm_90a (H100/H200) "
                                  "or --arch sm_100a (B200)",
                                  why));
}

template <typename Fn> Fn symbol(void* lib, const char* name) {
  void* p = ::dlsym(lib, name);
  if (!p) {
    no_device(fmt::format("the CUDA driver has no {}", name));
  }
  return reinterpret_cast<Fn>(p);
}

} // namespace

std::string detect_arch() {
  void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    no_device("the CUDA driver (libcuda.so.1) is not installed");
  }
  const auto init = symbol<PfnInit>(lib, "cuInit");
  const auto count = symbol<PfnDeviceGetCount>(lib, "cuDeviceGetCount");
  const auto get = symbol<PfnDeviceGet>(lib, "cuDeviceGet");
  const auto attr = symbol<PfnDeviceGetAttribute>(lib, "cuDeviceGetAttribute");
  if (const CUresult rc = init(0); rc != 0) {
    no_device(fmt::format("cuInit(0) failed with CUDA error {}", rc));
  }
  int n = 0;
  if (count(&n) != 0 || n == 0) {
    no_device("no CUDA device is visible");
  }
  int dev = 0;
  int major = 0;
  int minor = 0;
  if (get(&dev, 0) != 0 || attr(&major, k_attr_cc_major, dev) != 0 ||
      attr(&minor, k_attr_cc_minor, dev) != 0) {
    no_device("cannot read the compute capability of device 0");
  }
  // Hopper and later have arch-specific features (wgmma, tcgen05) behind the "a" targets.
  return fmt::format("sm_{}{}{}", major, minor, major >= 9 ? "a" : "");
}

} // namespace fibkit::cuda
