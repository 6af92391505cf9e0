#include "fibkit/core/trace/workload.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace fibkit::core {

double ScalarValue::as_double() const {
  switch (kind) {
  case Kind::integer:
    return static_cast<double>(integer);
  case Kind::floating:
    return floating;
  case Kind::boolean:
    return boolean ? 1.0 : 0.0;
  }
  return 0.0;
}

const InputSpec* Workload::find_input(std::string_view input) const {
  for (const auto& [name, spec] : inputs) {
    if (name == input) {
      return &spec;
    }
  }
  return nullptr;
}

const std::int64_t* Workload::find_axis(std::string_view axis) const {
  for (const auto& [name, value] : axes) {
    if (name == axis) {
      return &value;
    }
  }
  return nullptr;
}

namespace {

// `Union[int, float, bool]` in pydantic's smart mode: exact JSON types first, then
// numeric strings (lax mode) as int, else float.
ScalarValue parse_scalar_value(const util::JsonValue& json) {
  ScalarValue v;
  if (json.is_bool()) {
    v.kind = ScalarValue::Kind::boolean;
    v.boolean = json.as_bool();
  } else if (json.is_integer()) {
    v.kind = ScalarValue::Kind::integer;
    v.integer = json.as_int();
  } else if (json.is_number()) {
    v.kind = ScalarValue::Kind::floating;
    v.floating = json.as_double();
  } else if (json.is_string()) {
    std::string text = json.as_string();
    if (text.rfind(util::k_bare_nonfinite_prefix, 0) == 0) {
      text.erase(0, util::k_bare_nonfinite_prefix.size()); // a bare NaN/Infinity token
    }
    if (text == "true" || text == "false") {
      v.kind = ScalarValue::Kind::boolean;
      v.boolean = text == "true";
      return v;
    }
    const char* begin = text.data();
    const char* end = begin + text.size();
    std::int64_t i = 0;
    if (auto r = std::from_chars(begin, end, i); r.ec == std::errc() && r.ptr == end) {
      v.kind = ScalarValue::Kind::integer;
      v.integer = i;
      return v;
    }
    char* parsed_end = nullptr;
    const double d = std::strtod(text.c_str(), &parsed_end);
    if (text.empty() || parsed_end != text.c_str() + text.size()) {
      json.fail(fmt::format("expected an int, float or bool, got the string \"{}\"", text));
    }
    v.kind = ScalarValue::Kind::floating;
    v.floating = d;
  } else {
    json.fail(fmt::format("expected an int, float or bool, got {}", json.type_name()));
  }
  return v;
}

InputSpec parse_input_spec(const util::JsonValue& json) {
  if (!json.is_object()) {
    json.fail(fmt::format("expected an input spec object, got {}", json.type_name()));
  }
  InputSpec spec;
  std::string type;
  if (auto t = json.find("type")) {
    type = t->as_string();
  } else if (json.find("path") && json.find("tensor_key")) {
    type = "safetensors"; // pydantic's smart union picks the model with most fields set
  } else if (json.find("value")) {
    type = "scalar";
  } else {
    type = "random";
  }
  if (type == "random") {
    spec.kind = InputSpec::Kind::random;
  } else if (type == "scalar") {
    spec.kind = InputSpec::Kind::scalar;
    spec.value = parse_scalar_value(json.at("value"));
  } else if (type == "safetensors") {
    spec.kind = InputSpec::Kind::safetensors;
    spec.path = json.at("path").as_nonempty_string();
    spec.tensor_key = json.at("tensor_key").as_nonempty_string();
  } else {
    json.at("type").fail(
        fmt::format("unknown input type \"{}\" (expected random, scalar or safetensors)", type));
  }
  return spec;
}

} // namespace

void write_scalar(util::JsonWriter& out, const ScalarValue& value) {
  switch (value.kind) {
  case ScalarValue::Kind::integer:
    out.value(value.integer);
    break;
  case ScalarValue::Kind::floating:
    out.value_inf_nan_null(value.floating);
    break;
  case ScalarValue::Kind::boolean:
    out.value(value.boolean);
    break;
  }
}

Workload parse_workload(const util::JsonValue& json) {
  if (!json.is_object()) {
    json.fail(fmt::format("expected a workload object, got {}", json.type_name()));
  }
  Workload w;
  for (const auto& [name, value] : json.at("axes").members()) {
    const std::int64_t v = value.as_int_lax();
    if (v < 0) {
      value.fail(fmt::format("axis value must be >= 0, got {}", v));
    }
    w.axes.emplace_back(name, v);
  }
  for (const auto& [name, value] : json.at("inputs").members()) {
    w.inputs.emplace_back(name, parse_input_spec(value));
  }
  w.uuid = json.at("uuid").as_nonempty_string();
  return w;
}

void write_input_spec(util::JsonWriter& out, const InputSpec& spec) {
  out.begin_object();
  switch (spec.kind) {
  case InputSpec::Kind::random:
    out.key("type").value("random");
    break;
  case InputSpec::Kind::scalar:
    out.key("type").value("scalar").key("value");
    write_scalar(out, spec.value);
    break;
  case InputSpec::Kind::safetensors:
    out.key("type").value("safetensors").key("path").value(spec.path);
    out.key("tensor_key").value(spec.tensor_key);
    break;
  }
  out.end_object();
}

void write_workload(util::JsonWriter& out, const Workload& w) {
  out.begin_object().key("axes").begin_object();
  for (const auto& [name, value] : w.axes) {
    out.key(name).value(value);
  }
  out.end_object().key("inputs").begin_object();
  for (const auto& [name, spec] : w.inputs) {
    out.key(name);
    write_input_spec(out, spec);
  }
  out.end_object().key("uuid").value(w.uuid).end_object();
}

} // namespace fibkit::core
