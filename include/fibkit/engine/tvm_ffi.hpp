// An official solution's shared library (official_build.hpp) as a Runnable: its exported
// TVM-FFI function called through the TVM-FFI C ABI, as the official evaluator calls it from
// Python: the definition's inputs in order (tensors as DLTensor, scalars as int / float / bool
// by their workload value), then the outputs (destination-passing style), with the environment
// stream set to the stream of the call. libtvm_ffi and the library are loaded with dlopen.
#pragma once

#include "fibkit/core/trace/definition.hpp"
#include "fibkit/engine/executor.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace fibkit::engine {

/// An official solution's library, loaded in this process.
struct TvmFfiLibrary {
  std::filesystem::path library;              ///< the solution's shared library
  std::string symbol;                         ///< export name (the entry point's symbol)
  std::vector<std::filesystem::path> preload; ///< libtvm_ffi and what the library links
};

class TvmFfiFunction : public Runnable {
public:
  /// Loads the libraries (RTLD_GLOBAL for the preloads) and finds `__tvm_ffi_<symbol>`. Throws
  /// fibkit::Error naming the library and dlerror(). `definition` must outlive the object.
  TvmFfiFunction(const TvmFfiLibrary& library, const core::Definition& definition);
  ~TvmFfiFunction() override;
  TvmFfiFunction(const TvmFfiFunction&) = delete;
  TvmFfiFunction& operator=(const TvmFfiFunction&) = delete;

  /// The shapes of every tensor for these var axes.
  void prepare(const std::map<std::string, std::int64_t>& var_axes) override;
  /// Calls the function on `stream` (device 0, fibkit's primary context). Throws fibkit::Error
  /// with the TVM-FFI error's kind and message when the function raises.
  void run(const CallArgs& args, CUstream stream) const override;

private:
  const core::Definition& m_definition;
  std::vector<void*> m_handles;
  using SafeCall = int (*)(void*, const void*, std::int32_t, void*);
  SafeCall m_function = nullptr;
  std::string m_symbol;
  std::vector<std::vector<std::int64_t>> m_shapes;  ///< inputs then outputs (scalars: empty)
  std::vector<std::vector<std::int64_t>> m_strides; ///< row-major
};

} // namespace fibkit::engine
