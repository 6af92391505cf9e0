// The CUDA driver, loaded at run time with dlopen (never linked), so fibkit starts and its
// GPU-free commands work on machines without a GPU or driver.
#pragma once

#include <string>

namespace fibkit::cuda {

/// The NVRTC target of GPU 0 with the arch-specific suffix where the GPU has one
/// ("sm_90a" on H100/H200, "sm_100a" on B200, "sm_89" on an L4). Throws fibkit::NoDeviceError
/// saying why (no driver, no GPU) and to pass --arch.
std::string detect_arch();

} // namespace fibkit::cuda
