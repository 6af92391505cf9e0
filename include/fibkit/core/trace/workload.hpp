// Workload: concrete var-axis values and input sources (FlashInfer-Trace `workloads/*.jsonl`).
#pragma once

#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fibkit::core {

/// A scalar input value as written in the workload: JSON int, float or bool.
struct ScalarValue {
  enum class Kind { integer, floating, boolean };
  Kind kind = Kind::integer;
  std::int64_t integer = 0;
  double floating = 0.0;
  bool boolean = false;

  /// The value as a double (bools are 0/1).
  double as_double() const;
};

struct InputSpec {
  enum class Kind { random, scalar, safetensors };
  Kind kind = Kind::random;
  ScalarValue value;      ///< scalar only
  std::string path;       ///< safetensors only, relative to the TraceSet root unless absolute
  std::string tensor_key; ///< safetensors only
};

struct Workload {
  std::vector<std::pair<std::string, std::int64_t>> axes; ///< in JSON order
  std::vector<std::pair<std::string, InputSpec>>
      inputs; ///< in JSON order (may differ from the definition's)
  std::string uuid;

  /// The spec of `input`, or nullptr when the workload does not mention it (then it is random).
  const InputSpec* find_input(std::string_view input) const;
  /// The value of axis `axis`, or nullptr.
  const std::int64_t* find_axis(std::string_view axis) const;
};

/// Parses a workload object with the official model's rules. Throws fibkit::Error with path.
/// Writes a scalar as the official model serialises it (a float NaN or infinity as null).
void write_scalar(util::JsonWriter& out, const ScalarValue& value);

Workload parse_workload(const util::JsonValue& json);
/// Writes the workload as pydantic does (`{"axes":..,"inputs":..,"uuid":..}`).
void write_workload(util::JsonWriter& out, const Workload& workload);
/// Writes one input spec.
void write_input_spec(util::JsonWriter& out, const InputSpec& spec);

} // namespace fibkit::core
