// Solution: a packed implementation of a definition (FlashInfer-Trace `solutions/**.json`,
// and the `solution.json` a contest submission holds).
#pragma once

#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::core {

struct SourceFile {
  std::string path;    ///< relative, no "..", non-empty
  std::string content; ///< non-empty
};

struct BuildSpec {
  std::string language;                     ///< python | triton | cpp | cuda | tilelang
  std::vector<std::string> target_hardware; ///< at least one entry
  std::string entry_point;                  ///< "<file path>::<symbol>"
  std::vector<std::string> dependencies;
  bool destination_passing_style = true;
  std::optional<std::string> binding; ///< "tvm-ffi" | "torch" | null
};

struct Solution {
  std::string name;
  std::string definition;
  std::string author;
  BuildSpec spec;
  std::vector<SourceFile> sources;
  std::optional<std::string> description;

  /// The file part of the entry point.
  std::string entry_file() const;
  /// The symbol part of the entry point.
  std::string entry_symbol() const;
};

/// Every rule of the official models (SourceFile, BuildSpec, Solution). Returns the first
/// violation as "<json path>: <what>", or an empty string when the solution is valid.
std::string validate_solution(const Solution& solution);

/// Parses and validates a solution object. Throws fibkit::Error with the JSON path.
Solution parse_solution(const util::JsonValue& json);
/// Loads and validates a solution JSON file.
Solution load_solution(const std::filesystem::path& path, const std::string& display_name);
/// Writes the solution in the official key order (the writer decides compact/indented).
void write_solution(util::JsonWriter& out, const Solution& solution);
/// The bytes the starter kit writes to solution.json: `model_dump_json(indent=2)`.
std::string solution_to_json(const Solution& solution);

} // namespace fibkit::core
