// The tensor element types of FlashInfer-Trace definitions.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace fibkit::core {

enum class DType {
  float32,
  float16,
  bfloat16,
  float8_e4m3fn,
  float8_e5m2,
  float4_e2m1,
  int64,
  int32,
  int16,
  int8,
  boolean,
};

/// The JSON spelling ("float32", "bool", ...).
std::string_view dtype_name(DType dtype);
/// Parses a JSON dtype string; nullopt when unknown.
std::optional<DType> parse_dtype(std::string_view name);
/// All dtype names, comma-separated (for error messages).
std::string_view dtype_names();
/// Bytes per element; float4_e2m1 (two values per byte) reports 1 for a packed pair.
std::size_t dtype_size(DType dtype);
/// True for the integer and bool types.
bool dtype_is_integer(DType dtype);

/// The DLPack type of a dtype, as torch exports it: {code, bits} with kDLInt 0, kDLFloat 2,
/// kDLBfloat 4, kDLBool 6, kDLFloat8_e4m3fn 10, kDLFloat8_e5m2 12, kDLFloat4_e2m1fn 17.
struct DLPackType {
  int code = 0;
  int bits = 0;
};
DLPackType dlpack_type(DType dtype);

} // namespace fibkit::core
