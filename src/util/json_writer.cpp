#include "fibkit/util/json_writer.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace fibkit::util {

std::string format_json_double(double value) {
  if (!std::isfinite(value)) {
    throw std::invalid_argument("JSON cannot hold a non-finite number");
  }
  // Shortest round-trip digits in scientific form, e.g. "-1.2345e-06".
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  if (res.ec != std::errc()) {
    throw std::runtime_error("to_chars failed");
  }
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));
  const bool negative = sci.front() == '-';
  if (negative) {
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') {
      digits += c;
    }
  }
  int exponent = 0;
  std::string_view exp_text = sci.substr(e_pos + 1);
  if (!exp_text.empty() && exp_text.front() == '+') {
    exp_text.remove_prefix(1);
  }
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);

  std::string out = negative ? "-" : "";
  if (exponent >= 16 || exponent <= -6) {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += exponent > 0 ? "+" : "";
    out += std::to_string(exponent);
  } else if (exponent < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exponent - 1), '0');
    out += digits;
  } else {
    const auto int_len = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_len) {
      out += digits;
      out.append(int_len - digits.size(), '0');
      out += ".0";
    } else {
      out.append(digits, 0, int_len);
      out += '.';
      out.append(digits, int_len, std::string::npos);
    }
  }
  return out;
}

std::string quote_json_string(std::string_view text) {
  static const char* const hex = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xf];
      } else {
        out += ch;
      }
    }
  }
  out += '"';
  return out;
}

void JsonWriter::newline() {
  if (m_indent > 0) {
    m_out += '\n';
    m_out.append(m_stack.size() * static_cast<size_t>(m_indent), ' ');
  }
}

void JsonWriter::before_value() {
  if (m_after_key) {
    m_after_key = false;
    return;
  }
  if (!m_stack.empty()) {
    Frame& top = m_stack.back();
    if (top.is_object) {
      throw std::logic_error("JsonWriter: a value inside an object needs a key first");
    }
    if (!top.empty) {
      m_out += ',';
    }
    top.empty = false;
    newline();
  }
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (m_stack.empty() || !m_stack.back().is_object || m_after_key) {
    throw std::logic_error("JsonWriter: key() outside an object");
  }
  Frame& top = m_stack.back();
  if (!top.empty) {
    m_out += ',';
  }
  top.empty = false;
  newline();
  m_out += quote_json_string(name);
  m_out += m_indent > 0 ? ": " : ":";
  m_after_key = true;
  return *this;
}

JsonWriter& JsonWriter::begin_object() {
  before_value();
  m_out += '{';
  m_stack.push_back({true});
  return *this;
}

JsonWriter& JsonWriter::end_object() {
  if (m_stack.empty() || !m_stack.back().is_object || m_after_key) {
    throw std::logic_error("JsonWriter: unbalanced end_object()");
  }
  const bool empty = m_stack.back().empty;
  m_stack.pop_back();
  if (!empty) {
    newline();
  }
  m_out += '}';
  return *this;
}

JsonWriter& JsonWriter::begin_array() {
  before_value();
  m_out += '[';
  m_stack.push_back({false});
  return *this;
}

JsonWriter& JsonWriter::end_array() {
  if (m_stack.empty() || m_stack.back().is_object) {
    throw std::logic_error("JsonWriter: unbalanced end_array()");
  }
  const bool empty = m_stack.back().empty;
  m_stack.pop_back();
  if (!empty) {
    newline();
  }
  m_out += ']';
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  before_value();
  m_out += quote_json_string(text);
  return *this;
}

JsonWriter& JsonWriter::value(bool flag) {
  before_value();
  m_out += flag ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t number) {
  before_value();
  m_out += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t number) {
  before_value();
  m_out += std::to_string(number);
  return *this;
}

JsonWriter& JsonWriter::value(double number) {
  std::string text = format_json_double(number);
  before_value();
  m_out += text;
  return *this;
}

JsonWriter& JsonWriter::value_inf_nan_strings(double number) {
  if (std::isnan(number)) {
    return value(std::string_view("NaN"));
  }
  if (std::isinf(number)) {
    return value(std::string_view(number > 0 ? "Infinity" : "-Infinity"));
  }
  return value(number);
}

JsonWriter& JsonWriter::value_inf_nan_null(double number) {
  return std::isfinite(number) ? value(number) : null();
}

JsonWriter& JsonWriter::null() {
  before_value();
  m_out += "null";
  return *this;
}

JsonWriter& JsonWriter::raw(std::string_view json) {
  before_value();
  m_out += json;
  return *this;
}

} // namespace fibkit::util
