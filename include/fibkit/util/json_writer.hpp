// A small streaming JSON writer that reproduces the serialisation of pydantic v2
// (`model_dump_json`): compact (`{"a":1}`) or indented (`indent=2`, `"a": 1`), keys in
// insertion order, strings escaped like serde_json (non-ASCII kept as UTF-8).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::util {

/// Formats a finite double exactly as pydantic-core does: the shortest round-trip digits,
/// fixed notation for decimal exponents -5..15 (always with a fraction, `1.0`), otherwise
/// scientific with an explicit sign on positive exponents (`1e-7`, `1.5e+16`).
/// Throws std::invalid_argument for inf/NaN (callers decide how to spell those).
std::string format_json_double(double value);

/// Escapes `text` as a JSON string literal, quotes included.
std::string quote_json_string(std::string_view text);

class JsonWriter {
public:
  /// indent = 0 writes compact JSON (no spaces at all); indent > 0 pretty-prints.
  explicit JsonWriter(int indent = 0) : m_indent(indent) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  /// Writes an object key; the next call writes its value.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool flag);
  JsonWriter& value(std::int64_t number);
  JsonWriter& value(int number) { return value(static_cast<std::int64_t>(number)); }
  JsonWriter& value(std::uint64_t number);
  /// A finite double in pydantic's format; inf/NaN throw std::invalid_argument.
  JsonWriter& value(double number);
  /// A double where inf/NaN become the strings "Infinity", "-Infinity", "NaN"
  /// (pydantic's `ser_json_inf_nan="strings"`).
  JsonWriter& value_inf_nan_strings(double number);
  /// A double where inf/NaN become null (pydantic's default `ser_json_inf_nan="null"`).
  JsonWriter& value_inf_nan_null(double number);
  JsonWriter& null();
  /// Splices an already serialised JSON value (must be valid JSON, compact form).
  JsonWriter& raw(std::string_view json);

  /// The text written so far.
  const std::string& str() const { return m_out; }
  std::string take() { return std::move(m_out); }

private:
  void before_value();
  void newline();

  struct Frame {
    bool is_object;
    bool empty = true;
  };
  std::string m_out;
  std::vector<Frame> m_stack;
  int m_indent;
  bool m_after_key = false;
};

} // namespace fibkit::util
