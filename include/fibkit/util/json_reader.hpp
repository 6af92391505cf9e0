// Reading JSON with simdjson (DOM) while tracking where each value came from, so that
// every error names the file, the line (for JSONL) and the JSON path:
//   workloads/gdn/x.jsonl:3: $.workload.axes.batch_size: expected an integer, got a string
// simdjson stays behind this header: JsonParser holds its parser and JsonValue its element, and
// src/util/json_dom.hpp, private to util, is the simdjson side of both.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fibkit::util {

/// The origin of a document: a file name (as the user should see it) and, for JSON Lines,
/// the 1-based line number (0 when the document is a whole file).
struct JsonOrigin {
  std::string file;
  std::size_t line = 0;
  /// Whether a syntax error names its line:column (off for text that is not a file of its own,
  /// e.g. a safetensors header).
  bool syntax_position = true;

  /// "file:line" or "file".
  std::string where() const;
};

struct JsonDom; // src/util/json_dom.hpp

/// A JSON parser (simdjson's DOM parser): it holds the document it parsed last, which the
/// JsonValues from parse_json() view. One parser may parse many documents in turn.
class JsonParser {
public:
  JsonParser();
  ~JsonParser();
  JsonParser(JsonParser&&) noexcept;
  JsonParser& operator=(JsonParser&&) noexcept;

private:
  friend struct JsonDom;
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// A read-only view of one JSON value plus its path, made by parse_json(). Views stay valid
/// while the parser that produced them is alive and has not parsed another document.
class JsonValue {
public:
  /// Throws fibkit::Error("<where>: <path>: <message>").
  [[noreturn]] void fail(std::string_view message) const;
  /// "<where>: <path>" — the prefix of every error about this value.
  std::string location() const;

  const std::string& path() const { return m_path; }
  const JsonOrigin& origin() const { return *m_origin; }

  bool is_null() const;
  bool is_object() const;
  bool is_array() const;
  bool is_string() const;
  bool is_bool() const;
  /// True for integers (signed or unsigned) as written in the text.
  bool is_integer() const;
  bool is_number() const;
  /// "object", "array", "string", "integer", "number", "boolean" or "null".
  std::string_view type_name() const;

  /// The string value; fails unless this is a string.
  std::string as_string() const;
  /// A non-empty string (pydantic's NonEmptyString).
  std::string as_nonempty_string() const;
  /// An integer that fits int64 (a float with no fraction is accepted, as pydantic does).
  std::int64_t as_int() const;
  /// An integer with pydantic's lax coercions: also a float with no fraction, a string of an
  /// integer ("8") and a boolean (true = 1).
  std::int64_t as_int_lax() const;
  /// A number (integer or float).
  double as_double() const;
  bool as_bool() const;
  /// The integer exactly as written when it fits int64 (no coercion); nullopt otherwise.
  std::optional<std::int64_t> exact_int64() const;
  /// The integer exactly as written when it fits uint64 (no coercion); nullopt otherwise.
  std::optional<std::uint64_t> exact_uint64() const;

  /// The member `name`, or nullopt when absent. With duplicate keys the last one wins
  /// (Python's json module keeps the last).
  std::optional<JsonValue> find(std::string_view name) const;
  /// The member `name`; fails with "missing required key" when absent.
  JsonValue at(std::string_view name) const;
  /// True when the member exists and is not null.
  bool has_non_null(std::string_view name) const;
  /// Object members in document order (fails unless this is an object). With duplicate keys
  /// only the last occurrence is kept, at the position of the first.
  std::vector<std::pair<std::string, JsonValue>> members() const;
  /// Array items (fails unless this is an array).
  std::vector<JsonValue> items() const;

  /// The value re-serialised compactly by simdjson.
  std::string minified() const;

private:
  friend struct JsonDom;
  JsonValue() = default;
  void expect(bool ok, std::string_view expected) const;

  /// One simdjson::dom::element (a document pointer and a tape index) as bytes, so that
  /// simdjson stays out of this header; json_dom.hpp converts and checks the size.
  alignas(8) unsigned char m_element[16] = {};
  std::string m_path;
  std::shared_ptr<const JsonOrigin> m_origin;
};

/// Bare NaN / Infinity / -Infinity tokens (accepted by pydantic, not by JSON) are read as strings
/// with this prefix, e.g. "\x01nonfinite:NaN", so that readers can tell them from real strings.
inline constexpr std::string_view k_bare_nonfinite_prefix = "\x01nonfinite:";

/// Parses `text` with `parser`; syntax errors throw fibkit::Error naming the origin.
/// The returned view lives as long as `parser` and until its next parse.
JsonValue parse_json(JsonParser& parser, std::string_view text, JsonOrigin origin);

/// The 1-based (line, column) of the first JSON syntax error in `text` (columns count
/// characters; bare NaN / Infinity tokens are accepted), or nullopt when there is none.
std::optional<std::pair<std::size_t, std::size_t>> json_error_position(std::string_view text);

/// Appends `.name` (or `["name"]` for keys that are not identifiers) to a JSON path.
std::string json_path_member(const std::string& path, std::string_view name);
/// Appends `[index]` to a JSON path.
std::string json_path_index(const std::string& path, std::size_t index);

} // namespace fibkit::util
