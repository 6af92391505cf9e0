// Kernel parameter types: read from the lowered name of the signature probe (nvrtc.hpp) or of a
// C++ kernel, demangled on the host (abi::__cxa_demangle), and matched against definition dtypes.
// Checking a launch plan against them is the caller's job; these are the primitives.
//
// Types are canonical: typedefs are resolved by the mangling (fibkit::bf16 -> __nv_bfloat16,
// int64_t -> long long under NVRTC, half -> __half), top-level qualifiers of parameters (const,
// __restrict__) are not part of a function type, and the demangler's east const
// (`__nv_bfloat16 const*`) is rewritten west const (`const __nv_bfloat16*`) in ParamType::text.
#pragma once

#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/cuda/nvrtc.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::cuda {

/// One kernel parameter.
struct ParamType {
  /// The type as a user writes it: "const __nv_bfloat16*", "float*", "int", "Box<Box<float> >".
  std::string text;
  /// For a pointer the pointee without its own const/volatile ("__nv_bfloat16"; for a pointer to
  /// pointer "float*"); otherwise the type without const/volatile ("int", "long long").
  std::string base;
  bool is_pointer = false;
  /// For pointers: the pointee is const (an input; outputs must not be).
  bool is_const_pointee = false;
  /// Bytes the parameter takes by value: 8 for pointers; from the probe for every type, else
  /// (parse_signature of plain text) from a table of builtin and CUDA types; 0 when unknown.
  std::size_t size = 0;
};

/// Parses the parameters of a demangled function type or declaration: "void (float const*, int)",
/// "void t<128>(__nv_bfloat16 const*, float*, int)", "(int, float)". The parameter list is the
/// last top-level parenthesised group; "()" and "(void)" give none. Spellings are normalised
/// ("unsigned" -> "unsigned int", "long int" -> "long", "half" -> "__half", "fibkit::bf16" ->
/// "__nv_bfloat16", "int64_t" -> "long long"). Throws fibkit::Error when there is no
/// parameter list or the brackets do not balance.
std::vector<ParamType> parse_signature(const std::string& demangled_function_type);

/// Demangles an Itanium C++ ABI name ("_Z1tILi128EEvPK13__nv_bfloat16Pfi" ->
/// "void t<128>(__nv_bfloat16 const*, float*, int)"). Throws fibkit::Error when it is not one.
std::string demangle(const std::string& mangled);

/// The parameter types from a lowered name: a probe's (`_ZN12fibkit_probe5probeI...`: the types
/// and their exact sizes) or a C++ kernel's own mangled name (sizes from the table). Throws
/// fibkit::Error for a name that does not demangle, in particular the plain name of an
/// `extern "C"` kernel (its types need the probe).
std::vector<ParamType> signature_from_lowered(const std::string& lowered_probe_name);

/// The parameters of `kernel` (a name expression given to add_signature_probes()) from a
/// successful compile. Throws fibkit::Error when the compile has no probe for it.
std::vector<ParamType> kernel_signature(const CompileOutput& output, std::string_view kernel);

/// True when a pointer parameter may carry a tensor of `dtype`. The pointee (its const ignored;
/// check ParamType::is_const_pointee separately) must be:
///   float32 float | float16 __half | bfloat16 __nv_bfloat16
///   float8_e4m3fn __nv_fp8_e4m3 or raw bytes | float8_e5m2 __nv_fp8_e5m2 or raw bytes
///   float4_e2m1 __nv_fp4x2_e2m1 or raw bytes (two values per byte)
///   int64 long long or long | int32 int | int16 short | int8 signed char, char, unsigned char
///   bool bool
/// where raw bytes are unsigned char, signed char and char. `void` (an untyped pointer) matches
/// every dtype: the kernel opted out of the check. Vector types (float4*, __half2*) do not match:
/// take the element type and reinterpret_cast in the kernel.
bool type_matches_dtype(const ParamType& param, core::DType dtype);

/// True when a by-value parameter may carry a scalar input of `dtype` (a definition input without
/// a shape): the same types as type_matches_dtype() without the raw-byte and void alternatives,
/// i.e. float32 float, int32 int, int64 long long or long, bool bool, ... A float32 scalar does
/// NOT match double: the definition says the value is float32, and fibkit passes it as such
/// (dtype_size bytes, no conversion); a kernel that wants a double takes a float64 literal.
bool type_matches_scalar(const ParamType& param, core::DType dtype);

/// True when a by-value parameter may carry an axis value: int, unsigned int, long long, unsigned
/// long long, long or unsigned long.
bool type_matches_axis(const ParamType& param);

/// True when a by-value parameter may carry a literal of the launch plan's `type`: int32 int,
/// int64 long long or long, uint32 unsigned int, uint64 unsigned long long or unsigned long,
/// float32 float, float64 double. False for an unknown type name.
bool type_matches_literal(const ParamType& param, std::string_view literal_type);

/// The parameter type fibkit.cuh suggests for a tensor of `dtype` (its pointee), for messages:
/// "float", "__half", "__nv_bfloat16", "__nv_fp8_e4m3", "long long", "int", ...
std::string_view dtype_cpp_type(core::DType dtype);

} // namespace fibkit::cuda
