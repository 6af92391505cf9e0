#include "fibkit/util/json_reader.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace fibkit::util {

std::string JsonOrigin::where() const {
  return line > 0 ? fmt::format("{}:{}", file, line) : file;
}

std::string json_path_member(const std::string& path, std::string_view name) {
  bool identifier = !name.empty() && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    identifier = identifier && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  }
  if (identifier) {
    return fmt::format("{}.{}", path, name);
  }
  std::string quoted = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
    }
    quoted += c;
  }
  return fmt::format("{}[{}\"]", path, quoted);
}

std::string json_path_index(const std::string& path, std::size_t index) {
  return fmt::format("{}[{}]", path, index);
}

std::string JsonValue::location() const {
  return fmt::format("{}: {}", m_origin->where(), m_path);
}

void JsonValue::fail(std::string_view message) const {
  throw Error(fmt::format("{}: {}", location(), message));
}

std::string_view JsonValue::type_name() const {
  switch (m_element.type()) {
  case simdjson::dom::element_type::ARRAY:
    return "array";
  case simdjson::dom::element_type::OBJECT:
    return "object";
  case simdjson::dom::element_type::INT64:
  case simdjson::dom::element_type::UINT64:
    return "integer";
  case simdjson::dom::element_type::DOUBLE:
    return "number";
  case simdjson::dom::element_type::STRING:
    return "string";
  case simdjson::dom::element_type::BOOL:
    return "boolean";
  case simdjson::dom::element_type::NULL_VALUE:
    return "null";
  }
  return "unknown";
}

void JsonValue::expect(bool ok, std::string_view expected) const {
  if (!ok) {
    fail(fmt::format("expected {}, got {}", expected, type_name()));
  }
}

std::string JsonValue::as_string() const {
  expect(is_string(), "a string");
  return std::string(m_element.get_string().value_unsafe());
}

std::string JsonValue::as_nonempty_string() const {
  std::string text = as_string();
  if (text.empty()) {
    fail("must be a non-empty string");
  }
  return text;
}

std::int64_t JsonValue::as_int() const {
  if (m_element.is_int64()) {
    return m_element.get_int64().value_unsafe();
  }
  if (m_element.is_uint64()) {
    fail("integer out of range");
  }
  if (m_element.is_double()) {
    const double v = m_element.get_double().value_unsafe();
    if (std::trunc(v) == v && std::abs(v) < 9.2e18) {
      return static_cast<std::int64_t>(v);
    }
    fail(fmt::format("expected an integer, got the fraction {}", v));
  }
  expect(false, "an integer");
  return 0;
}

std::int64_t JsonValue::as_int_lax() const {
  if (is_bool()) {
    return as_bool() ? 1 : 0;
  }
  if (is_string()) {
    const std::string text = as_string();
    std::int64_t value = 0;
    const char* end = text.data() + text.size();
    auto result = std::from_chars(text.data(), end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end) {
      fail(fmt::format("expected an integer, got the string \"{}\"", text));
    }
    return value;
  }
  return as_int();
}

double JsonValue::as_double() const {
  expect(is_number(), "a number");
  if (m_element.is_int64()) {
    return static_cast<double>(m_element.get_int64().value_unsafe());
  }
  if (m_element.is_uint64()) {
    return static_cast<double>(m_element.get_uint64().value_unsafe());
  }
  return m_element.get_double().value_unsafe();
}

bool JsonValue::as_bool() const {
  expect(is_bool(), "a boolean");
  return m_element.get_bool().value_unsafe();
}

std::optional<JsonValue> JsonValue::find(std::string_view name) const {
  expect(is_object(), "an object");
  std::optional<JsonValue> found;
  // A named copy: ranging over value_unsafe() of a temporary result would dangle.
  const simdjson::dom::object object = m_element.get_object().value_unsafe();
  for (auto field : object) {
    if (field.key == name) {
      found.emplace(field.value, json_path_member(m_path, name), m_origin);
    }
  }
  return found;
}

JsonValue JsonValue::at(std::string_view name) const {
  std::optional<JsonValue> found = find(name);
  if (!found) {
    fail(fmt::format("missing required key \"{}\"", name));
  }
  return *found;
}

bool JsonValue::has_non_null(std::string_view name) const {
  std::optional<JsonValue> found = find(name);
  return found && !found->is_null();
}

std::vector<std::pair<std::string, JsonValue>> JsonValue::members() const {
  expect(is_object(), "an object");
  std::vector<std::pair<std::string, JsonValue>> out;
  // A named copy: ranging over value_unsafe() of a temporary result would dangle.
  const simdjson::dom::object object = m_element.get_object().value_unsafe();
  for (auto field : object) {
    JsonValue v(field.value, json_path_member(m_path, field.key), m_origin);
    bool replaced = false;
    for (auto& [k, existing] : out) {
      if (k == field.key) {
        existing = v;
        replaced = true;
      }
    }
    if (!replaced) {
      out.emplace_back(std::string(field.key), v);
    }
  }
  return out;
}

std::vector<JsonValue> JsonValue::items() const {
  expect(is_array(), "an array");
  std::vector<JsonValue> out;
  std::size_t index = 0;
  const simdjson::dom::array array = m_element.get_array().value_unsafe();
  for (auto item : array) {
    out.emplace_back(item, json_path_index(m_path, index++), m_origin);
  }
  return out;
}

std::string JsonValue::minified() const {
  return simdjson::minify(m_element);
}

namespace {

// pydantic (serde_json with inf/nan allowed) reads the bare tokens NaN, Infinity and -Infinity;
// strict JSON parsers do not. Quote them outside strings so that float fields, which accept the
// strings "NaN"/"Infinity", read them. Returns an empty string when there is nothing to rewrite.
std::string quote_bare_nonfinite(std::string_view text) {
  std::string out;
  bool changed = false;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    bool matched = false;
    for (std::string_view token : {"-Infinity", "Infinity", "NaN"}) {
      if (text.compare(i, token.size(), token) == 0) {
        out += "\"\\u0001nonfinite:";
        out += token;
        out += '"';
        i += token.size() - 1;
        matched = changed = true;
        break;
      }
    }
    if (!matched) {
      out += c;
    }
  }
  return changed ? out : std::string();
}

} // namespace

JsonValue parse_json(simdjson::dom::parser& parser, std::string_view text, JsonOrigin origin) {
  auto shared = std::make_shared<const JsonOrigin>(std::move(origin));
  simdjson::dom::element root;
  // simdjson needs SIMDJSON_PADDING readable bytes after the text; padded_string copies.
  simdjson::padded_string padded(text);
  auto error = parser.parse(padded).get(root);
  if (error) {
    if (const std::string rewritten = quote_bare_nonfinite(text); !rewritten.empty()) {
      simdjson::padded_string again(rewritten);
      if (!parser.parse(again).get(root)) {
        return JsonValue(root, "$", shared);
      }
    }
    throw Error(
        fmt::format("{}: invalid JSON: {}", shared->where(), simdjson::error_message(error)));
  }
  return JsonValue(root, "$", shared);
}

} // namespace fibkit::util
