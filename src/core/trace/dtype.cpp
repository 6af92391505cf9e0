#include "fibkit/core/trace/dtype.hpp"

#include <array>
#include <utility>

namespace fibkit::core {

namespace {
constexpr std::array<std::pair<DType, std::string_view>, 11> k_names{{
    {DType::float32, "float32"},
    {DType::float16, "float16"},
    {DType::bfloat16, "bfloat16"},
    {DType::float8_e4m3fn, "float8_e4m3fn"},
    {DType::float8_e5m2, "float8_e5m2"},
    {DType::float4_e2m1, "float4_e2m1"},
    {DType::int64, "int64"},
    {DType::int32, "int32"},
    {DType::int16, "int16"},
    {DType::int8, "int8"},
    {DType::boolean, "bool"},
}};
} // namespace

std::string_view dtype_name(DType dtype) {
  for (const auto& [d, name] : k_names) {
    if (d == dtype) {
      return name;
    }
  }
  return "?";
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& [d, n] : k_names) {
    if (n == name) {
      return d;
    }
  }
  return std::nullopt;
}

std::string_view dtype_names() {
  return "float32, float16, bfloat16, float8_e4m3fn, float8_e5m2, float4_e2m1, int64, int32, "
         "int16, int8, bool";
}

std::size_t dtype_size(DType dtype) {
  switch (dtype) {
  case DType::float32:
  case DType::int32:
    return 4;
  case DType::float16:
  case DType::bfloat16:
  case DType::int16:
    return 2;
  case DType::int64:
    return 8;
  default:
    return 1;
  }
}

bool dtype_is_integer(DType dtype) {
  return dtype == DType::int64 || dtype == DType::int32 || dtype == DType::int16 ||
         dtype == DType::int8 || dtype == DType::boolean;
}

DLPackType dlpack_type(DType dtype) {
  switch (dtype) {
  case DType::float32:
    return {2, 32};
  case DType::float16:
    return {2, 16};
  case DType::bfloat16:
    return {4, 16};
  case DType::float8_e4m3fn:
    return {10, 8};
  case DType::float8_e5m2:
    return {12, 8};
  case DType::float4_e2m1:
    return {17, 4};
  case DType::int64:
    return {0, 64};
  case DType::int32:
    return {0, 32};
  case DType::int16:
    return {0, 16};
  case DType::int8:
    return {0, 8};
  case DType::boolean:
    return {6, 8};
  }
  return {};
}

} // namespace fibkit::core
