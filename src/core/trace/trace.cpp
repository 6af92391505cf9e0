#include "fibkit/core/trace/trace.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>

namespace fibkit::core {

namespace {
constexpr std::array<std::pair<EvaluationStatus, std::string_view>, 7> k_statuses{{
    {EvaluationStatus::passed, "PASSED"},
    {EvaluationStatus::incorrect_shape, "INCORRECT_SHAPE"},
    {EvaluationStatus::incorrect_numerical, "INCORRECT_NUMERICAL"},
    {EvaluationStatus::incorrect_dtype, "INCORRECT_DTYPE"},
    {EvaluationStatus::runtime_error, "RUNTIME_ERROR"},
    {EvaluationStatus::compile_error, "COMPILE_ERROR"},
    {EvaluationStatus::timeout, "TIMEOUT"},
}};
} // namespace

std::string_view status_name(EvaluationStatus status) {
  for (const auto& [s, name] : k_statuses) {
    if (s == status) {
      return name;
    }
  }
  return "?";
}

std::optional<EvaluationStatus> parse_status(std::string_view name) {
  for (const auto& [s, n] : k_statuses) {
    if (n == name) {
      return s;
    }
  }
  return std::nullopt;
}

std::string check_evaluation_presence(const Evaluation& e) {
  const std::string_view name = status_name(e.status);
  if (e.status == EvaluationStatus::passed) {
    if (!e.correctness) {
      return fmt::format("evaluation must include correctness when status is {}", name);
    }
    if (!e.performance) {
      return fmt::format("evaluation must include performance when status is {}", name);
    }
  } else if (e.status == EvaluationStatus::incorrect_numerical) {
    if (!e.correctness) {
      return fmt::format("evaluation must include correctness when status is {}", name);
    }
    if (e.performance) {
      return fmt::format("evaluation must not include performance when status is {}", name);
    }
  } else {
    if (e.correctness) {
      return fmt::format("evaluation must not include correctness when status is {}", name);
    }
    if (e.performance) {
      return fmt::format("evaluation must not include performance when status is {}", name);
    }
  }
  return {};
}

namespace {

// A float field as pydantic reads it from JSON: numbers, and in lax mode strings that
// Python's float() accepts (pydantic writes inf/NaN as "Infinity"/"NaN").
double parse_float(const util::JsonValue& json) {
  if (json.is_number()) {
    return json.as_double();
  }
  if (json.is_bool()) {
    return json.as_bool() ? 1.0 : 0.0; // lax mode, like pydantic
  }
  if (json.is_string()) {
    std::string text = json.as_string();
    if (text.rfind(util::k_bare_nonfinite_prefix, 0) == 0) {
      text.erase(0, util::k_bare_nonfinite_prefix.size());
    }
    // Python's float() ignores surrounding whitespace.
    const auto first = text.find_first_not_of(" \t\n\r");
    text = first == std::string::npos
               ? std::string()
               : text.substr(first, text.find_last_not_of(" \t\n\r") - first + 1);
    std::string lower;
    for (char c : text) {
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::string_view body = lower;
    bool negative = false;
    if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
      negative = body.front() == '-';
      body.remove_prefix(1);
    }
    if (body == "inf" || body == "infinity") {
      return negative ? -std::numeric_limits<double>::infinity()
                      : std::numeric_limits<double>::infinity();
    }
    if (body == "nan") {
      return std::numeric_limits<double>::quiet_NaN();
    }
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) {
      return v;
    }
    json.fail(fmt::format("expected a number, got the string \"{}\"", text));
  }
  json.fail(fmt::format("expected a number, got {}", json.type_name()));
}

double parse_error_measure(const util::JsonValue& obj, std::string_view key) {
  auto v = obj.find(key);
  if (!v) {
    return 0.0;
  }
  const double x = parse_float(*v);
  if (!std::isnan(x) && x < 0) {
    v->fail("must be non-negative or NaN");
  }
  return x;
}

double parse_non_negative(const util::JsonValue& obj, std::string_view key) {
  auto v = obj.find(key);
  if (!v) {
    return 0.0;
  }
  const double x = parse_float(*v);
  if (!(x >= 0)) {
    v->fail(fmt::format("must be >= 0, got {}", x));
  }
  return x;
}

} // namespace

void write_json_value(util::JsonWriter& out, const util::JsonValue& value) {
  if (value.is_object()) {
    out.begin_object();
    for (const auto& [k, v] : value.members()) {
      out.key(k);
      write_json_value(out, v);
    }
    out.end_object();
  } else if (value.is_array()) {
    out.begin_array();
    for (const util::JsonValue& v : value.items()) {
      write_json_value(out, v);
    }
    out.end_array();
  } else if (value.is_string()) {
    const std::string text = value.as_string();
    if (text.rfind(util::k_bare_nonfinite_prefix, 0) == 0) {
      out.null(); // a bare NaN/Infinity float; pydantic writes it as null here
    } else {
      out.value(text);
    }
  } else if (value.is_bool()) {
    out.value(value.as_bool());
  } else if (value.is_null()) {
    out.null();
  } else if (const std::optional<std::int64_t> i = value.exact_int64()) {
    out.value(*i);
  } else if (const std::optional<std::uint64_t> u = value.exact_uint64()) {
    out.value(*u);
  } else {
    // pydantic writes a non-finite float inside `extra` of a trace as null.
    out.value_inf_nan_null(value.as_double());
  }
}

Evaluation parse_evaluation(const util::JsonValue& json) {
  if (!json.is_object()) {
    json.fail(fmt::format("expected an evaluation object, got {}", json.type_name()));
  }
  Evaluation e;
  const util::JsonValue status = json.at("status");
  const std::string status_text = status.as_string();
  auto parsed = parse_status(status_text);
  if (!parsed) {
    status.fail(fmt::format("unknown status \"{}\" (expected PASSED, INCORRECT_SHAPE, "
                            "INCORRECT_NUMERICAL, INCORRECT_DTYPE, RUNTIME_ERROR, COMPILE_ERROR "
                            "or TIMEOUT)",
                            status_text));
  }
  e.status = *parsed;
  const util::JsonValue env = json.at("environment");
  if (!env.is_object()) {
    env.fail(fmt::format("expected an object, got {}", env.type_name()));
  }
  e.environment.hardware = env.at("hardware").as_nonempty_string();
  if (auto libs = env.find("libs")) {
    for (const auto& [k, v] : libs->members()) {
      e.environment.libs.emplace_back(k, v.as_string());
    }
  }
  e.timestamp = json.at("timestamp").as_nonempty_string();
  if (auto log = json.find("log")) {
    e.log = log->as_string();
  }
  if (json.has_non_null("correctness")) {
    e.correctness = parse_correctness(json.at("correctness"));
  }
  if (json.has_non_null("performance")) {
    const util::JsonValue p = json.at("performance");
    if (!p.is_object()) {
      p.fail(fmt::format("expected an object, got {}", p.type_name()));
    }
    e.performance = Performance{parse_non_negative(p, "latency_ms"),
                                parse_non_negative(p, "reference_latency_ms"),
                                parse_non_negative(p, "speedup_factor")};
  }
  if (std::string err = check_evaluation_presence(e); !err.empty()) {
    json.fail(err);
  }
  return e;
}

Correctness parse_correctness(const util::JsonValue& c) {
  if (!c.is_object()) {
    c.fail(fmt::format("expected an object, got {}", c.type_name()));
  }
  Correctness corr;
  corr.max_relative_error = parse_error_measure(c, "max_relative_error");
  corr.max_absolute_error = parse_error_measure(c, "max_absolute_error");
  if (c.has_non_null("extra")) {
    const util::JsonValue extra = c.at("extra");
    if (!extra.is_object()) {
      extra.fail(fmt::format("expected an object or null, got {}", extra.type_name()));
    }
    util::JsonWriter w;
    write_json_value(w, extra);
    corr.extra_json = w.take();
  }
  return corr;
}

void write_correctness(util::JsonWriter& out, const Correctness& c) {
  out.begin_object();
  out.key("max_relative_error").value_inf_nan_strings(c.max_relative_error);
  out.key("max_absolute_error").value_inf_nan_strings(c.max_absolute_error);
  out.key("extra");
  if (c.extra_json.empty()) {
    out.null();
  } else {
    out.raw(c.extra_json);
  }
  out.end_object();
}

Trace parse_trace(const util::JsonValue& json) {
  if (!json.is_object()) {
    json.fail(fmt::format("expected a trace object, got {}", json.type_name()));
  }
  Trace t;
  t.definition = json.at("definition").as_nonempty_string();
  t.workload = parse_workload(json.at("workload"));
  if (json.has_non_null("solution")) {
    t.solution = json.at("solution").as_string();
  }
  if (json.has_non_null("evaluation")) {
    t.evaluation = parse_evaluation(json.at("evaluation"));
  }
  return t;
}

void write_evaluation(util::JsonWriter& out, const Evaluation& e) {
  out.begin_object();
  out.key("status").value(status_name(e.status));
  out.key("environment").begin_object().key("hardware").value(e.environment.hardware);
  out.key("libs").begin_object();
  for (const auto& [k, v] : e.environment.libs) {
    out.key(k).value(v);
  }
  out.end_object().end_object();
  out.key("timestamp").value(e.timestamp).key("log").value(e.log);
  out.key("correctness");
  if (e.correctness) {
    write_correctness(out, *e.correctness);
  } else {
    out.null();
  }
  out.key("performance");
  if (e.performance) {
    // Plain floats: pydantic writes a non-finite value ("latency_ms": Infinity loads) as null.
    out.begin_object();
    out.key("latency_ms").value_inf_nan_null(e.performance->latency_ms);
    out.key("reference_latency_ms").value_inf_nan_null(e.performance->reference_latency_ms);
    out.key("speedup_factor").value_inf_nan_null(e.performance->speedup_factor);
    out.end_object();
  } else {
    out.null();
  }
  out.end_object();
}

void write_trace(util::JsonWriter& out, const Trace& t) {
  out.begin_object();
  out.key("definition").value(t.definition);
  out.key("workload");
  write_workload(out, t.workload);
  out.key("solution");
  if (t.solution) {
    out.value(*t.solution);
  } else {
    out.null();
  }
  out.key("evaluation");
  if (t.evaluation) {
    write_evaluation(out, *t.evaluation);
  } else {
    out.null();
  }
  out.end_object();
}

std::string trace_to_json_line(const Trace& trace) {
  util::JsonWriter out;
  write_trace(out, trace);
  return out.take();
}

std::string iso_timestamp_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm local{};
  localtime_r(&secs, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &local);
  // Python's isoformat omits the fraction when it is zero.
  return micros == 0 ? std::string(buf) : fmt::format("{}.{:06d}", buf, micros);
}

} // namespace fibkit::core
