#include "fibkit/util/json_reader.hpp"

#include "json_dom.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace fibkit::util {

namespace {

simdjson::dom::element element_of(const JsonValue& value) {
  return JsonDom::element(value);
}

} // namespace

JsonParser::JsonParser() : m_impl(std::make_unique<Impl>()) {}
JsonParser::~JsonParser() = default;
JsonParser::JsonParser(JsonParser&&) noexcept = default;
JsonParser& JsonParser::operator=(JsonParser&&) noexcept = default;

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

bool JsonValue::is_null() const {
  return element_of(*this).is_null();
}
bool JsonValue::is_object() const {
  return element_of(*this).is_object();
}
bool JsonValue::is_array() const {
  return element_of(*this).is_array();
}
bool JsonValue::is_string() const {
  return element_of(*this).is_string();
}
bool JsonValue::is_bool() const {
  return element_of(*this).is_bool();
}
bool JsonValue::is_integer() const {
  const simdjson::dom::element e = element_of(*this);
  return e.is_int64() || e.is_uint64();
}
bool JsonValue::is_number() const {
  return element_of(*this).is_number();
}

std::string_view JsonValue::type_name() const {
  switch (element_of(*this).type()) {
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
  return std::string(element_of(*this).get_string().value_unsafe());
}

std::string JsonValue::as_nonempty_string() const {
  std::string text = as_string();
  if (text.empty()) {
    fail("must be a non-empty string");
  }
  return text;
}

std::int64_t JsonValue::as_int() const {
  const simdjson::dom::element e = element_of(*this);
  if (e.is_int64()) {
    return e.get_int64().value_unsafe();
  }
  if (e.is_uint64()) {
    fail("integer out of range");
  }
  if (e.is_double()) {
    const double v = e.get_double().value_unsafe();
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
  const simdjson::dom::element e = element_of(*this);
  if (e.is_int64()) {
    return static_cast<double>(e.get_int64().value_unsafe());
  }
  if (e.is_uint64()) {
    return static_cast<double>(e.get_uint64().value_unsafe());
  }
  return e.get_double().value_unsafe();
}

bool JsonValue::as_bool() const {
  expect(is_bool(), "a boolean");
  return element_of(*this).get_bool().value_unsafe();
}

std::optional<std::int64_t> JsonValue::exact_int64() const {
  const simdjson::dom::element e = element_of(*this);
  return e.is_int64() ? std::optional<std::int64_t>(e.get_int64().value_unsafe()) : std::nullopt;
}

std::optional<std::uint64_t> JsonValue::exact_uint64() const {
  const simdjson::dom::element e = element_of(*this);
  return e.is_uint64() ? std::optional<std::uint64_t>(e.get_uint64().value_unsafe()) : std::nullopt;
}

std::optional<JsonValue> JsonValue::find(std::string_view name) const {
  expect(is_object(), "an object");
  std::optional<JsonValue> found;
  // A named copy: ranging over value_unsafe() of a temporary result would dangle.
  const simdjson::dom::object object = element_of(*this).get_object().value_unsafe();
  for (auto field : object) {
    if (field.key == name) {
      found = JsonDom::value(field.value, json_path_member(m_path, name), m_origin);
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
  const simdjson::dom::object object = element_of(*this).get_object().value_unsafe();
  for (auto field : object) {
    JsonValue v = JsonDom::value(field.value, json_path_member(m_path, field.key), m_origin);
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
  const simdjson::dom::array array = element_of(*this).get_array().value_unsafe();
  for (auto item : array) {
    out.push_back(JsonDom::value(item, json_path_index(m_path, index++), m_origin));
  }
  return out;
}

std::string JsonValue::minified() const {
  return simdjson::minify(element_of(*this));
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

// Finds where `text` stops being JSON (RFC 8259, plus the bare NaN/Infinity tokens), for
// messages: simdjson's DOM parser reports what is wrong but not where.
class SyntaxScanner {
public:
  explicit SyntaxScanner(std::string_view text) : m_text(text) {}

  // The byte offset of the first error; nullopt when the text is valid (or nests too deep).
  std::optional<std::size_t> first_error() {
    skip_space();
    if (!value(0)) {
      return m_error;
    }
    skip_space();
    if (m_pos != m_text.size()) {
      return m_pos;
    }
    return std::nullopt;
  }

private:
  bool fail() {
    m_error = m_pos;
    return false;
  }
  char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }
  bool at_end() const { return m_pos >= m_text.size(); }
  void skip_space() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++m_pos;
    }
  }
  bool literal(std::string_view word) {
    for (const char c : word) {
      if (peek() != c) {
        return fail();
      }
      ++m_pos;
    }
    return true;
  }
  bool value(int depth) {
    if (depth > 512) {
      m_error.reset();
      return false; // too deep to say: no position
    }
    switch (peek()) {
    case '{':
      return object(depth);
    case '[':
      return array(depth);
    case '"':
      return string();
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    case 'N':
      return literal("NaN");
    case 'I':
      return literal("Infinity");
    default:
      return number();
    }
  }
  bool object(int depth) {
    ++m_pos; // '{'
    skip_space();
    if (peek() == '}') {
      ++m_pos;
      return true;
    }
    for (;;) {
      skip_space();
      if (peek() != '"' || !string()) {
        return m_error ? false : fail();
      }
      skip_space();
      if (peek() != ':') {
        return fail();
      }
      ++m_pos;
      skip_space();
      if (!value(depth + 1)) {
        return false;
      }
      skip_space();
      if (peek() == ',') {
        ++m_pos;
      } else if (peek() == '}') {
        ++m_pos;
        return true;
      } else {
        return fail();
      }
    }
  }
  bool array(int depth) {
    ++m_pos; // '['
    skip_space();
    if (peek() == ']') {
      ++m_pos;
      return true;
    }
    for (;;) {
      skip_space();
      if (!value(depth + 1)) {
        return false;
      }
      skip_space();
      if (peek() == ',') {
        ++m_pos;
      } else if (peek() == ']') {
        ++m_pos;
        return true;
      } else {
        return fail();
      }
    }
  }
  bool string() {
    ++m_pos; // '"'
    while (!at_end()) {
      const auto c = static_cast<unsigned char>(m_text[m_pos]);
      if (c == '"') {
        ++m_pos;
        return true;
      }
      if (c < 0x20) {
        return fail();
      }
      if (c == '\\') {
        ++m_pos;
        const char e = peek();
        if (e == 'u') {
          for (int i = 0; i < 4; ++i) {
            ++m_pos;
            if (!std::isxdigit(static_cast<unsigned char>(peek()))) {
              return fail();
            }
          }
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos || at_end()) {
          return fail();
        }
      }
      ++m_pos;
    }
    return fail();
  }
  bool number() {
    if (peek() == '-') {
      ++m_pos;
      if (peek() == 'I') {
        return literal("Infinity");
      }
    }
    if (peek() == '0') {
      ++m_pos;
    } else if (std::isdigit(static_cast<unsigned char>(peek()))) {
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        ++m_pos;
      }
    } else {
      return fail();
    }
    if (peek() == '.') {
      ++m_pos;
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        return fail();
      }
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        ++m_pos;
      }
    }
    if (peek() == 'e' || peek() == 'E') {
      ++m_pos;
      if (peek() == '+' || peek() == '-') {
        ++m_pos;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        return fail();
      }
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        ++m_pos;
      }
    }
    return true;
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
  std::optional<std::size_t> m_error;
};

} // namespace

std::optional<std::pair<std::size_t, std::size_t>> json_error_position(std::string_view text) {
  const std::optional<std::size_t> offset = SyntaxScanner(text).first_error();
  if (!offset) {
    return std::nullopt;
  }
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < *offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {
      ++column; // counts characters, not UTF-8 continuation bytes
    }
  }
  return std::make_pair(line, column);
}

JsonValue parse_json(JsonParser& json_parser, std::string_view text, JsonOrigin origin) {
  simdjson::dom::parser& parser = JsonDom::parser(json_parser);
  auto shared = std::make_shared<const JsonOrigin>(std::move(origin));
  simdjson::dom::element root;
  // simdjson needs SIMDJSON_PADDING readable bytes after the text; padded_string copies.
  simdjson::padded_string padded(text);
  auto error = parser.parse(padded).get(root);
  if (error) {
    if (const std::string rewritten = quote_bare_nonfinite(text); !rewritten.empty()) {
      simdjson::padded_string again(rewritten);
      if (!parser.parse(again).get(root)) {
        return JsonDom::value(root, "$", shared);
      }
    }
    // Where: file:line:column for a whole file, file:line:column for a JSON Lines line.
    std::string where = shared->where();
    if (const auto pos = shared->syntax_position ? json_error_position(text) : std::nullopt) {
      where = shared->line > 0 ? fmt::format("{}:{}:{}", shared->file, shared->line, pos->second)
                               : fmt::format("{}:{}:{}", shared->file, pos->first, pos->second);
    }
    throw Error(fmt::format("{}: invalid JSON: {}", where, simdjson::error_message(error)));
  }
  return JsonDom::value(root, "$", shared);
}

} // namespace fibkit::util
