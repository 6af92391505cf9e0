// An official CUDA/C++ Solution (TVM-FFI binding) built the way the official TVM-FFI builder
// builds it: sources written to a folder, every .cu compiled by nvcc and every .cpp/.cc/.cxx/.c
// by the C++ compiler with tvm-ffi's flags (-std=c++17 -O2, -gencode for the plain arch), then
// linked into one shared library against libtvm_ffi, cudart, cuda and cublas. Cached by the
// solution's content and the arch; no GPU needed. `run` in tvm_ffi.hpp calls the result.
#pragma once

#include "fibkit/core/trace/solution.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace fibkit::engine {

/// Where tvm-ffi is: found from the Python package `apache-tvm-ffi` (FIBKIT_PYTHON, else
/// python3) or from TVM_FFI_INCLUDE_DIR + TVM_FFI_LIBRARY.
struct TvmFfiInstall {
  std::filesystem::path include_dir;
  std::filesystem::path dlpack_include_dir;
  std::filesystem::path library; ///< libtvm_ffi.so
};

/// Finds tvm-ffi; throws fibkit::Error saying what to install when it is missing.
TvmFfiInstall find_tvm_ffi();

/// The CUDA toolkit official builds use: the one whose nvcc is on the PATH, else $CUDA_HOME,
/// $CUDA_PATH, /usr/local/cuda; `from` says which. Throws fibkit::Error when none has nvcc.
struct CudaToolkit {
  std::filesystem::path home;
  std::string from;
};
CudaToolkit find_cuda_toolkit();

struct OfficialBuild {
  std::filesystem::path library; ///< the solution's shared library
  std::string symbol;            ///< the entry point's symbol (export name)
  TvmFfiInstall tvm_ffi;
  /// What to load before the library: libtvm_ffi, then cudart and cublas of the toolkit it was
  /// linked against (the library carries no RPATH, as the official builder's does not).
  std::vector<std::filesystem::path> preload;
  bool cached = false;
  std::string log; ///< the compiler commands and their output
};

/// Builds `solution` for `arch` ("sm_90", "sm_100": plain, as the official builder's
/// nvidia-smi rule gives; TVM_FFI_CUDA_ARCH_LIST overrides it as it does there) under
/// `cache_dir`/official/<package>. Throws fibkit::Error for a solution the TVM-FFI builder does
/// not take (language, binding), a missing nvcc or tvm-ffi, and a failed compile or link (the
/// COMPILE_ERROR of the official evaluator), with the compiler's output.
OfficialBuild build_official(const core::Solution& solution, const std::string& arch,
                             const std::filesystem::path& cache_dir);

} // namespace fibkit::engine
