// Definition: the machine-readable spec of one kernel (FlashInfer-Trace `definitions/*.json`).
#pragma once

#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::core {

struct Axis {
  std::string name;
  bool is_const = false;
  std::int64_t value = 0; ///< only for const axes
  std::optional<std::string> description;
};

/// An input or output. `shape == nullopt` is a Python scalar; an empty shape is a 0-D tensor.
struct TensorSpec {
  std::string name;
  std::optional<std::vector<std::string>> shape;
  DType dtype = DType::float32;
  std::optional<std::string> description;

  bool is_scalar() const { return !shape.has_value(); }
};

struct Definition {
  std::string name;
  std::string op_type;
  std::vector<Axis> axes;          ///< in JSON key order
  std::vector<TensorSpec> inputs;  ///< in call order
  std::vector<TensorSpec> outputs; ///< in call order, after the inputs (DPS)
  std::string reference;           ///< Python source with a top-level `def run`
  std::vector<std::string> tags;
  std::optional<std::string> description;
  std::vector<std::string> constraints;

  const Axis* find_axis(std::string_view axis) const;
  const TensorSpec* find_input(std::string_view input) const;
  const TensorSpec* find_output(std::string_view output) const;
  /// The names of the var axes, in declaration order.
  std::vector<std::string> var_axes() const;
  /// Concrete shape of `spec` given values for the var axes (const axes come from the
  /// definition). Throws fibkit::Error naming the missing axis.
  std::vector<std::int64_t>
  concrete_shape(const TensorSpec& spec, const std::map<std::string, std::int64_t>& var_axes) const;
};

/// Parses and validates a definition with every rule of the official model. Unknown keys are
/// ignored (as pydantic does). Throws fibkit::Error with the JSON path.
Definition parse_definition(const util::JsonValue& json);
/// Loads and validates `definitions/.../<name>.json`.
Definition load_definition(const std::filesystem::path& path, const std::string& display_name);
/// Writes the definition as the official model serialises it.
void write_definition(util::JsonWriter& out, const Definition& definition);

/// A light syntax check of Python source (fibkit embeds no Python): balanced brackets outside
/// strings and comments, and, when `need_run`, a top-level `def run(`. Returns an error text, or
/// an empty string when the source looks valid.
std::string check_python_source(std::string_view source, bool need_run);

/// A light syntax check of a Python expression (a definition constraint): brackets, and an
/// operand after every operator. Returns an error text, or "" when it looks valid.
std::string check_python_expression(std::string_view expr);

} // namespace fibkit::core
