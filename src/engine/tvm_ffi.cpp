#include "fibkit/engine/tvm_ffi.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <dlfcn.h>

namespace fibkit::engine {

namespace {

// The TVM-FFI C ABI (tvm/ffi/c_api.h, stable across tvm-ffi 0.1.x) and DLPack's DLTensor,
// declared here so that fibkit builds without tvm-ffi's headers.
constexpr std::int32_t k_none = 0;
constexpr std::int32_t k_int = 1;
constexpr std::int32_t k_bool = 2;
constexpr std::int32_t k_float = 3;
constexpr std::int32_t k_dltensor_ptr = 7;
constexpr std::int32_t k_first_object = 64;
constexpr std::int32_t k_dl_cuda = 2;

struct FfiAny {
  std::int32_t type_index = k_none;
  std::uint32_t zero_padding = 0;
  union {
    std::int64_t v_int64;
    double v_float64;
    void* v_ptr;
  };
  FfiAny() : v_int64(0) {}
};
static_assert(sizeof(FfiAny) == 16, "TVMFFIAny is 16 bytes");

struct DLDevice {
  std::int32_t device_type;
  std::int32_t device_id;
};
struct DLDataType {
  std::uint8_t code;
  std::uint8_t bits;
  std::uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  std::int32_t ndim;
  DLDataType dtype;
  std::int64_t* shape;
  std::int64_t* strides;
  std::uint64_t byte_offset;
};

struct ByteArray {
  const char* data;
  std::size_t size;
};
// An error object: the TVMFFIObject header (24 bytes), then the TVMFFIErrorCell.
struct ErrorObject {
  std::uint64_t combined_ref_count;
  std::int32_t type_index;
  std::uint32_t padding;
  void* deleter;
  ByteArray kind;
  ByteArray message;
};

using MoveFromRaised = void (*)(void**);
using ObjectDecRef = int (*)(void*);
using EnvSetStream = int (*)(std::int32_t, std::int32_t, void*, void**);

template <typename F> F lookup(void* handle, const char* name, const std::string& where) {
  void* p = ::dlsym(handle, name);
  if (p == nullptr) {
    throw Error(fmt::format("{}: no symbol {}", where, name));
  }
  return reinterpret_cast<F>(p);
}

} // namespace

TvmFfiFunction::TvmFfiFunction(const TvmFfiLibrary& lib, const core::Definition& definition)
    : m_definition(definition), m_symbol(lib.symbol) {
  for (const std::filesystem::path& p : lib.preload) {
    void* h = ::dlopen(p.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (h == nullptr) {
      throw Error(fmt::format("cannot load {}: {}", p.string(), ::dlerror()));
    }
    m_handles.push_back(h);
  }
  void* h = ::dlopen(lib.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    throw Error(fmt::format("cannot load {} (the official evaluator's COMPILE_ERROR): {}",
                            lib.library.string(), ::dlerror()));
  }
  m_handles.push_back(h);
  const std::string name = "__tvm_ffi_" + lib.symbol;
  void* f = ::dlsym(h, name.c_str());
  if (f == nullptr) {
    throw Error(fmt::format("{}: entry point '{}' not found (no exported symbol {}; export it "
                            "with TVM_FFI_DLL_EXPORT_TYPED_FUNC({}, ...))",
                            lib.library.string(), lib.symbol, name, lib.symbol));
  }
  m_function = reinterpret_cast<SafeCall>(f);
}

TvmFfiFunction::~TvmFfiFunction() {
  // The libraries stay loaded: a CUDA library's static destructors at dlclose can run after the
  // context is gone. The process (a worker child) ends soon after.
}

void TvmFfiFunction::prepare(const std::map<std::string, std::int64_t>& var_axes) {
  m_shapes.clear();
  m_strides.clear();
  for (const auto* list : {&m_definition.inputs, &m_definition.outputs}) {
    for (const core::TensorSpec& t : *list) {
      std::vector<std::int64_t> shape;
      if (!t.is_scalar()) {
        shape = m_definition.concrete_shape(t, var_axes);
      }
      std::vector<std::int64_t> strides(shape.size(), 1);
      for (std::size_t i = shape.size(); i-- > 1;) {
        strides[i - 1] = strides[i] * shape[i];
      }
      m_shapes.push_back(std::move(shape));
      m_strides.push_back(std::move(strides));
    }
  }
}

void TvmFfiFunction::run(const CallArgs& args, CUstream stream) const {
  const std::size_t n = m_definition.inputs.size() + m_definition.outputs.size();
  if (m_shapes.size() != n) {
    throw Error("internal: TvmFfiFunction::run before prepare");
  }
  void* const base = m_handles.front();
  const auto set_stream = lookup<EnvSetStream>(base, "TVMFFIEnvSetStream", "libtvm_ffi");
  std::vector<DLTensor> tensors(n);
  std::vector<FfiAny> any(n);
  std::vector<std::vector<std::int64_t>> shapes = m_shapes; // DLTensor takes non-const pointers
  std::vector<std::vector<std::int64_t>> strides = m_strides;
  for (std::size_t i = 0; i < n; ++i) {
    const bool is_input = i < m_definition.inputs.size();
    const core::TensorSpec& t =
        is_input ? m_definition.inputs[i] : m_definition.outputs[i - m_definition.inputs.size()];
    if (t.is_scalar()) {
      const core::ScalarValue& v = args.scalars.at(i);
      switch (v.kind) {
      case core::ScalarValue::Kind::integer:
        any[i].type_index = k_int;
        any[i].v_int64 = v.integer;
        break;
      case core::ScalarValue::Kind::floating:
        any[i].type_index = k_float;
        any[i].v_float64 = v.floating;
        break;
      case core::ScalarValue::Kind::boolean:
        any[i].type_index = k_bool;
        any[i].v_int64 = v.boolean ? 1 : 0;
        break;
      }
      continue;
    }
    const core::DLPackType type = core::dlpack_type(t.dtype);
    DLTensor& d = tensors[i];
    d.data = reinterpret_cast<void*>(is_input ? args.inputs.at(i)
                                              : args.outputs.at(i - m_definition.inputs.size()));
    d.device = {k_dl_cuda, 0};
    d.ndim = static_cast<std::int32_t>(shapes[i].size());
    d.dtype = {static_cast<std::uint8_t>(type.code), static_cast<std::uint8_t>(type.bits), 1};
    d.shape = shapes[i].data();
    d.strides = strides[i].data();
    d.byte_offset = 0;
    any[i].type_index = k_dltensor_ptr;
    any[i].v_ptr = &d;
  }
  void* previous = nullptr;
  if (set_stream(k_dl_cuda, 0, stream, &previous) != 0) {
    throw Error("TVMFFIEnvSetStream failed");
  }
  FfiAny result;
  const int rc = m_function(nullptr, any.data(), static_cast<std::int32_t>(n), &result);
  set_stream(k_dl_cuda, 0, previous, nullptr);
  if (rc != 0) {
    void* error = nullptr;
    lookup<MoveFromRaised>(base, "TVMFFIErrorMoveFromRaised", "libtvm_ffi")(&error);
    std::string what = fmt::format("{} raised an error", m_symbol);
    if (error != nullptr) {
      const auto* e = static_cast<const ErrorObject*>(error);
      what = fmt::format("{}: {}: {}", m_symbol, std::string(e->kind.data, e->kind.size),
                         std::string(e->message.data, e->message.size));
      lookup<ObjectDecRef>(base, "TVMFFIObjectDecRef", "libtvm_ffi")(error);
    }
    throw Error(what);
  }
  if (result.type_index >= k_first_object) {
    lookup<ObjectDecRef>(base, "TVMFFIObjectDecRef", "libtvm_ffi")(result.v_ptr);
  }
}

} // namespace fibkit::engine
