// Trace and Evaluation: one line of a FlashInfer-Trace JSONL file (`workloads/` holds
// workload-only traces, `traces/` evaluated ones).
#pragma once

#include "fibkit/core/trace/workload.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fibkit::core {

enum class EvaluationStatus {
  passed,
  incorrect_shape,
  incorrect_numerical,
  incorrect_dtype,
  runtime_error,
  compile_error,
  timeout,
};

/// "PASSED", "INCORRECT_SHAPE", ...
std::string_view status_name(EvaluationStatus status);
std::optional<EvaluationStatus> parse_status(std::string_view name);

struct Correctness {
  double max_relative_error = 0.0; ///< >= 0 or NaN (inf allowed)
  double max_absolute_error = 0.0;
  /// Free-form extra object as compact JSON text (written by fibkit's JSON writer), or empty
  /// for null.
  std::string extra_json;
};

struct Performance {
  double latency_ms = 0.0; ///< all >= 0
  double reference_latency_ms = 0.0;
  double speedup_factor = 0.0;
};

struct Environment {
  std::string hardware; ///< non-empty, e.g. "NVIDIA H100 80GB HBM3"
  std::vector<std::pair<std::string, std::string>> libs; ///< in order
};

struct Evaluation {
  EvaluationStatus status = EvaluationStatus::passed;
  Environment environment;
  std::string timestamp; ///< non-empty, ISO 8601 local time
  std::string log;
  std::optional<Correctness> correctness;
  std::optional<Performance> performance;
};

struct Trace {
  std::string definition;
  Workload workload;
  std::optional<std::string> solution;
  std::optional<Evaluation> evaluation;

  /// A workload-only trace (a line of `workloads/*.jsonl`).
  bool is_workload_trace() const { return !solution && !evaluation; }
};

/// The presence rules of correctness/performance per status. Returns an error text or "".
std::string check_evaluation_presence(const Evaluation& evaluation);

/// Parses and validates one trace object. Throws fibkit::Error with file:line and JSON path.
Trace parse_trace(const util::JsonValue& json);
Evaluation parse_evaluation(const util::JsonValue& json);
/// An evaluation's correctness object, read and written as in a trace (errors as numbers or
/// "Infinity"/"NaN", `extra` an object or null); the worker-to-parent payload uses the same.
Correctness parse_correctness(const util::JsonValue& json);
void write_correctness(util::JsonWriter& out, const Correctness& correctness);
/// Writes one trace compactly, exactly like `Trace.model_dump_json()` (no newline).
std::string trace_to_json_line(const Trace& trace);
void write_trace(util::JsonWriter& out, const Trace& trace);
void write_evaluation(util::JsonWriter& out, const Evaluation& evaluation);

/// Writes any JSON value as pydantic serialises `Any` inside a trace (non-finite floats -> null).
void write_json_value(util::JsonWriter& out, const util::JsonValue& value);

/// The current local time as pydantic writes `datetime.now().isoformat()`.
std::string iso_timestamp_now();

} // namespace fibkit::core
