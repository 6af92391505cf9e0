// Private to util: the simdjson side of json_reader.hpp, for json_reader.cpp and the readers that
// walk simdjson's DOM themselves (safetensors.cpp). Nothing outside src/util includes simdjson.
#pragma once

#include "fibkit/util/json_reader.hpp"

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace fibkit::util {

struct JsonParser::Impl {
  simdjson::dom::parser parser;
};

/// Converts between the opaque types of json_reader.hpp and simdjson's.
struct JsonDom {
  static_assert(std::is_trivially_copyable_v<simdjson::dom::element>);
  static_assert(sizeof(simdjson::dom::element) == sizeof(JsonValue::m_element));
  static_assert(alignof(simdjson::dom::element) <= alignof(std::uint64_t));

  static simdjson::dom::parser& parser(JsonParser& parser) { return parser.m_impl->parser; }

  /// The simdjson element `value` views.
  static simdjson::dom::element element(const JsonValue& value) {
    simdjson::dom::element element;
    std::memcpy(&element, value.m_element, sizeof element);
    return element;
  }

  /// A view of `element`, found at `path` of the document from `origin`.
  static JsonValue value(simdjson::dom::element element, std::string path,
                         std::shared_ptr<const JsonOrigin> origin) {
    JsonValue value;
    std::memcpy(value.m_element, &element, sizeof element);
    value.m_path = std::move(path);
    value.m_origin = std::move(origin);
    return value;
  }
};

} // namespace fibkit::util
