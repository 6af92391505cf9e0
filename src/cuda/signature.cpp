#include "fibkit/cuda/signature.hpp"

#include "fibkit/util/error.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <utility>

namespace fibkit::cuda {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool is_identifier_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

/// `text` with runs of white space collapsed to one space and no space at either end.
std::string collapse_spaces(std::string_view text) {
  std::string out;
  bool space = false;
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      space = !out.empty();
      continue;
    }
    if (space) {
      out += ' ';
      space = false;
    }
    out += c;
  }
  return out;
}

void trim(std::string& text) {
  while (!text.empty() && text.back() == ' ') {
    text.pop_back();
  }
  while (!text.empty() && text.front() == ' ') {
    text.erase(text.begin());
  }
}

/// Splits `text` at the commas outside <>, () and [].
std::vector<std::string> split_top_level(std::string_view text) {
  std::vector<std::string> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<' || c == '(' || c == '[') {
      ++depth;
    } else if (c == '>' || c == ')' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.emplace_back(text.substr(start));
  for (auto& part : parts) {
    part = collapse_spaces(part);
  }
  return parts;
}

/// Index of the bracket closing the one at `open` (same kind of nesting as split_top_level), or
/// npos.
std::size_t matching_close(std::string_view text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<' || c == '(' || c == '[') {
      ++depth;
    } else if (c == '>' || c == ')' || c == ']') {
      if (--depth == 0) {
        return i;
      }
    }
  }
  return std::string_view::npos;
}

bool is_qualifier(std::string_view word) {
  return word == "const" || word == "volatile" || word == "__restrict" || word == "__restrict__" ||
         word == "restrict";
}

struct Qualifiers {
  bool is_const = false;
  bool is_volatile = false;
};

void note(Qualifiers& q, std::string_view word) {
  if (word == "const") {
    q.is_const = true;
  } else if (word == "volatile") {
    q.is_volatile = true;
  }
}

/// Removes the qualifiers at the end of `type` ("float const", "float* __restrict__") and
/// returns them.
Qualifiers strip_trailing_qualifiers(std::string& type) {
  Qualifiers q;
  for (;;) {
    trim(type);
    std::size_t start = type.size();
    while (start > 0 && is_identifier_char(type[start - 1])) {
      --start;
    }
    const std::string_view word = std::string_view(type).substr(start);
    if (start == 0 || word.empty() || !is_qualifier(word) ||
        (type[start - 1] != ' ' && type[start - 1] != '*')) {
      return q;
    }
    note(q, word);
    type.erase(start);
  }
}

/// Removes the qualifiers at the start of `type` ("const float") and returns them.
Qualifiers strip_leading_qualifiers(std::string& type) {
  Qualifiers q;
  for (;;) {
    trim(type);
    std::size_t end = 0;
    while (end < type.size() && is_identifier_char(type[end])) {
      ++end;
    }
    const std::string_view word = std::string_view(type).substr(0, end);
    if (end == type.size() || !is_qualifier(word) || type[end] != ' ') {
      return q;
    }
    note(q, word);
    type.erase(0, end);
  }
}

/// "unsigned" -> "unsigned int", "long int" -> "long", "short int" -> "short", ...; other
/// names unchanged.
std::string canonical_builtin(const std::string& name) {
  int longs = 0;
  bool is_unsigned = false;
  bool is_signed = false;
  bool is_short = false;
  bool is_char = false;
  bool is_int = false;
  std::size_t pos = 0;
  while (pos < name.size()) {
    std::size_t end = name.find(' ', pos);
    if (end == std::string::npos) {
      end = name.size();
    }
    const std::string_view word = std::string_view(name).substr(pos, end - pos);
    if (word == "long") {
      ++longs;
    } else if (word == "unsigned") {
      is_unsigned = true;
    } else if (word == "signed") {
      is_signed = true;
    } else if (word == "short") {
      is_short = true;
    } else if (word == "char") {
      is_char = true;
    } else if (word == "int") {
      is_int = true;
    } else {
      return name;
    }
    pos = end + 1;
  }
  const std::string prefix = is_unsigned ? "unsigned " : "";
  if (is_char) {
    if (is_short || longs > 0 || is_int) {
      return name;
    }
    return is_unsigned ? "unsigned char" : is_signed ? "signed char" : "char";
  }
  if (is_short) {
    return longs > 0 ? name : prefix + "short";
  }
  if (longs == 2) {
    return prefix + "long long";
  }
  if (longs == 1) {
    return prefix + "long";
  }
  if (longs > 2 || (!is_int && !is_unsigned && !is_signed)) {
    return name;
  }
  return prefix + "int";
}

/// Canonical name of a non-pointer type without qualifiers: builtin spellings and well-known
/// typedefs (CUDA's, fibkit.cuh's, <cstdint>'s as NVRTC defines them).
std::string canonical_name(const std::string& name) {
  static const std::vector<std::pair<std::string_view, std::string_view>> aliases{
      {"half", "__half"},
      {"half2", "__half2"},
      {"nv_half", "__half"},
      {"nv_bfloat16", "__nv_bfloat16"},
      {"nv_bfloat162", "__nv_bfloat162"},
      {"bf16", "__nv_bfloat16"},
      {"fp16", "__half"},
      {"fp8_e4m3", "__nv_fp8_e4m3"},
      {"fp8_e5m2", "__nv_fp8_e5m2"},
      {"i8", "signed char"},
      {"u8", "unsigned char"},
      {"i32", "int"},
      {"i64", "long long"},
      {"int8_t", "signed char"},
      {"uint8_t", "unsigned char"},
      {"int16_t", "short"},
      {"uint16_t", "unsigned short"},
      {"int32_t", "int"},
      {"uint32_t", "unsigned int"},
      {"int64_t", "long long"},
      {"uint64_t", "unsigned long long"},
      {"size_t", "unsigned long"},
  };
  std::string_view bare = name;
  for (const std::string_view ns : {"cuda::std::", "std::", "fibkit::", "::"}) {
    if (starts_with(bare, ns)) {
      bare.remove_prefix(ns.size());
      break;
    }
  }
  for (const auto& [alias, canonical] : aliases) {
    if (bare == alias) {
      return std::string(canonical);
    }
  }
  return canonical_builtin(name);
}

/// Size by value of the canonical type `base`, 0 when unknown.
std::size_t known_size(std::string_view base) {
  static const std::vector<std::pair<std::string_view, std::size_t>> sizes{
      {"bool", 1},          {"char", 1},           {"signed char", 1},   {"unsigned char", 1},
      {"short", 2},         {"unsigned short", 2}, {"int", 4},           {"unsigned int", 4},
      {"long", 8},          {"unsigned long", 8},  {"long long", 8},     {"unsigned long long", 8},
      {"float", 4},         {"double", 8},         {"__half", 2},        {"__nv_bfloat16", 2},
      {"__nv_fp8_e4m3", 1}, {"__nv_fp8_e5m2", 1},  {"__nv_fp8_e8m0", 1}, {"__nv_fp4x2_e2m1", 1},
      {"__half2", 4},       {"__nv_bfloat162", 4}, {"char2", 2},         {"uchar2", 2},
      {"char4", 4},         {"uchar4", 4},         {"short2", 4},        {"ushort2", 4},
      {"short4", 8},        {"ushort4", 8},        {"int2", 8},          {"uint2", 8},
      {"int3", 12},         {"uint3", 12},         {"int4", 16},         {"uint4", 16},
      {"float2", 8},        {"float3", 12},        {"float4", 16},       {"double2", 16},
      {"longlong2", 16},    {"ulonglong2", 16},
  };
  for (const auto& [name, size] : sizes) {
    if (name == base) {
      return size;
    }
  }
  return 0;
}

/// Parses one parameter type (collapsed spaces).
ParamType parse_param(std::string type) {
  ParamType param;
  strip_trailing_qualifiers(type); // top-level: not part of the parameter's type
  if (type.empty()) {
    throw Error("empty parameter type");
  }
  if (type.back() == '*') {
    std::string pointee = type.substr(0, type.size() - 1);
    Qualifiers q = strip_trailing_qualifiers(pointee);
    if (!pointee.empty() && pointee.back() == '*') {
      // A pointer to pointer: the base is the inner pointer type, written west const.
      param.base = parse_param(pointee).text;
    } else {
      const Qualifiers leading = strip_leading_qualifiers(pointee);
      q.is_const = q.is_const || leading.is_const;
      q.is_volatile = q.is_volatile || leading.is_volatile;
      param.base = canonical_name(pointee);
    }
    if (param.base.empty()) {
      throw Error("pointer parameter without a pointee type");
    }
    param.is_pointer = true;
    param.is_const_pointee = q.is_const;
    if (param.base.back() == '*') {
      param.text =
          param.base + (q.is_const ? " const" : "") + (q.is_volatile ? " volatile" : "") + "*";
    } else {
      param.text = std::string(q.is_const ? "const " : "") + (q.is_volatile ? "volatile " : "") +
                   param.base + "*";
    }
    param.size = 8;
    return param;
  }
  if (type.back() == '&' || type.back() == ')' || type.back() == ']') {
    // A reference, function or array type: not a valid kernel parameter; kept as written.
    param.base = type;
    param.text = type;
    return param;
  }
  strip_leading_qualifiers(type);
  param.base = canonical_name(type);
  param.text = param.base;
  param.size = known_size(param.base);
  return param;
}

/// The unsigned numbers of "fibkit_probe::sizes<8ul, 4ul>", in order.
std::vector<std::size_t> parse_sizes(std::string_view text) {
  const std::size_t open = text.find('<');
  const std::size_t close = text.rfind('>');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    throw Error("malformed size list in signature probe: " + std::string(text));
  }
  std::vector<std::size_t> sizes;
  const std::string_view inner = text.substr(open + 1, close - open - 1);
  if (collapse_spaces(inner).empty()) {
    return sizes;
  }
  for (const auto& part : split_top_level(inner)) {
    std::size_t value = 0;
    std::size_t digits = 0;
    while (digits < part.size() && std::isdigit(static_cast<unsigned char>(part[digits])) != 0) {
      value = value * 10 + static_cast<std::size_t>(part[digits] - '0');
      ++digits;
    }
    if (digits == 0) {
      throw Error("malformed size in signature probe: " + part);
    }
    sizes.push_back(value);
  }
  return sizes;
}

bool is_one_of(std::string_view base, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), base) != names.end();
}

bool is_raw_byte(std::string_view base) {
  return is_one_of(base, {"unsigned char", "signed char", "char"});
}

/// The by-value C++ types of a dtype's elements (no raw-byte alternatives).
bool is_element_type(std::string_view base, core::DType dtype) {
  using core::DType;
  switch (dtype) {
  case DType::float32:
    return base == "float";
  case DType::float16:
    return base == "__half";
  case DType::bfloat16:
    return base == "__nv_bfloat16";
  case DType::float8_e4m3fn:
    return base == "__nv_fp8_e4m3";
  case DType::float8_e5m2:
    return base == "__nv_fp8_e5m2";
  case DType::float4_e2m1:
    return base == "__nv_fp4x2_e2m1";
  case DType::int64:
    return is_one_of(base, {"long long", "long"});
  case DType::int32:
    return base == "int";
  case DType::int16:
    return base == "short";
  case DType::int8:
    return is_one_of(base, {"signed char", "char"});
  case DType::boolean:
    return base == "bool";
  }
  return false;
}

} // namespace

std::vector<ParamType> parse_signature(const std::string& demangled_function_type) {
  const std::string_view text = demangled_function_type;
  // The last top-level parenthesised group is the parameter list.
  std::size_t open = std::string_view::npos;
  std::size_t close = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(' || c == '<' || c == '[') {
      const std::size_t end = matching_close(text, i);
      if (end == std::string_view::npos) {
        throw Error("unbalanced brackets in function type: " + demangled_function_type);
      }
      if (c == '(') {
        open = i;
        close = end;
      }
      i = end;
    } else if (c == ')' || c == '>' || c == ']') {
      throw Error("unbalanced brackets in function type: " + demangled_function_type);
    }
  }
  if (open == std::string_view::npos) {
    throw Error("no parameter list in function type: " + demangled_function_type);
  }
  const std::string inner = collapse_spaces(text.substr(open + 1, close - open - 1));
  std::vector<ParamType> params;
  if (inner.empty() || inner == "void") {
    return params;
  }
  for (const auto& part : split_top_level(inner)) {
    if (part.empty()) {
      throw Error("empty parameter in function type: " + demangled_function_type);
    }
    if (part == "...") {
      throw Error("variadic function type: " + demangled_function_type);
    }
    params.push_back(parse_param(part));
  }
  return params;
}

std::string demangle(const std::string& mangled) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> result(
      abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status), std::free);
  if (status != 0 || result == nullptr) {
    throw Error("'" + mangled + "' is not a mangled C++ name");
  }
  return result.get();
}

std::vector<ParamType> signature_from_lowered(const std::string& lowered_probe_name) {
  if (!starts_with(lowered_probe_name, "_Z")) {
    throw Error("'" + lowered_probe_name +
                "' is not a mangled C++ name: the parameter types of an extern \"C\" kernel "
                "come from its signature probe (" +
                probe_expression(lowered_probe_name) + ")");
  }
  const std::string demangled = demangle(lowered_probe_name);
  if (!is_probe_name(lowered_probe_name)) {
    return parse_signature(demangled);
  }
  constexpr std::string_view k_head = "fibkit_probe::probe<";
  const std::size_t head = demangled.find(k_head);
  if (head == std::string::npos) {
    throw Error("unexpected signature probe name: " + demangled);
  }
  const std::size_t open = head + k_head.size() - 1;
  const std::size_t close = matching_close(demangled, open);
  if (close == std::string::npos) {
    throw Error("unbalanced signature probe name: " + demangled);
  }
  const auto args = split_top_level(std::string_view(demangled).substr(open + 1, close - open - 1));
  std::vector<ParamType> params = parse_signature(args.front());
  if (args.size() >= 2) {
    const std::vector<std::size_t> sizes = parse_sizes(args[1]);
    if (sizes.size() != params.size()) {
      throw Error("signature probe sizes do not match the parameters: " + demangled);
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
      params[i].size = sizes[i];
    }
  }
  return params;
}

std::vector<ParamType> kernel_signature(const CompileOutput& output, std::string_view kernel) {
  const std::string* lowered = find_lowered(output, probe_expression(kernel));
  if (lowered == nullptr) {
    throw Error("no signature probe for kernel '" + std::string(kernel) +
                "' in this compile (add_signature_probes)");
  }
  return signature_from_lowered(*lowered);
}

bool type_matches_dtype(const ParamType& param, core::DType dtype) {
  if (!param.is_pointer) {
    return false;
  }
  const std::string_view base = param.base;
  if (base == "void" || is_element_type(base, dtype)) {
    return true;
  }
  using core::DType;
  switch (dtype) {
  case DType::float8_e4m3fn:
  case DType::float8_e5m2:
  case DType::float4_e2m1:
  case DType::int8:
    return is_raw_byte(base);
  default:
    return false;
  }
}

bool type_matches_scalar(const ParamType& param, core::DType dtype) {
  return !param.is_pointer && is_element_type(param.base, dtype);
}

bool type_matches_axis(const ParamType& param) {
  return !param.is_pointer &&
         is_one_of(param.base, {"int", "unsigned int", "long long", "unsigned long long", "long",
                                "unsigned long"});
}

bool type_matches_literal(const ParamType& param, std::string_view literal_type) {
  if (param.is_pointer) {
    return false;
  }
  const std::string_view base = param.base;
  if (literal_type == "int32") {
    return base == "int";
  }
  if (literal_type == "int64") {
    return is_one_of(base, {"long long", "long"});
  }
  if (literal_type == "uint32") {
    return base == "unsigned int";
  }
  if (literal_type == "uint64") {
    return is_one_of(base, {"unsigned long long", "unsigned long"});
  }
  if (literal_type == "float32") {
    return base == "float";
  }
  if (literal_type == "float64") {
    return base == "double";
  }
  return false;
}

std::string_view dtype_cpp_type(core::DType dtype) {
  using core::DType;
  switch (dtype) {
  case DType::float32:
    return "float";
  case DType::float16:
    return "__half";
  case DType::bfloat16:
    return "__nv_bfloat16";
  case DType::float8_e4m3fn:
    return "__nv_fp8_e4m3";
  case DType::float8_e5m2:
    return "__nv_fp8_e5m2";
  case DType::float4_e2m1:
    return "__nv_fp4x2_e2m1";
  case DType::int64:
    return "long long";
  case DType::int32:
    return "int";
  case DType::int16:
    return "short";
  case DType::int8:
    return "signed char";
  case DType::boolean:
    return "bool";
  }
  return "?";
}

} // namespace fibkit::cuda
