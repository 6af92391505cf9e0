// TraceSet: a dataset directory in the FlashInfer-Trace layout, loaded like the official
// `TraceSet.from_path` (recursive, sorted, blank lines skipped, duplicate names refused).
#pragma once

#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/core/trace/trace.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fibkit::core {

struct TraceSet {
  std::filesystem::path root;
  std::vector<Definition> definitions;                    ///< in sorted file order
  std::map<std::string, std::vector<Trace>> workloads;    ///< by definition name, file order
  std::map<std::string, std::vector<Solution>> solutions; ///< by definition name
  std::map<std::string, std::vector<Trace>> traces;       ///< by definition name

  const Definition* find_definition(std::string_view name) const;
  /// The workloads of `definition` (empty when it has none).
  const std::vector<Trace>& workloads_of(std::string_view definition) const;
  /// The absolute path of a workload's safetensors reference (relative paths are joined to
  /// root). Meaningless for an embedded TraceSet (root empty).
  std::filesystem::path blob_path(const std::string& path) const;
};

/// Loads a TraceSet. Throws fibkit::Error naming the file, the line and the JSON path of the
/// first invalid entry, or both files of a duplicate name; also for an unreadable folder or
/// file, a workload whose axes lack a var axis of its definition, and a workload uuid used
/// twice (the official evaluator cannot run those).
TraceSet load_trace_set(const std::filesystem::path& root);

/// One file of a TraceSet: its path relative to the root ("definitions/gdn/x.json") and text.
struct DatasetFile {
  std::string path;
  std::string content;
  std::string display; ///< the name shown in errors; `path` when empty
};

/// Loads a TraceSet from files in memory (the embedded examples). Files are taken in the order
/// given; the caller sorts them like the directory walk does.
TraceSet load_trace_set_files(const std::vector<DatasetFile>& files);

/// Parses JSON Lines text of traces (see load_trace_lines). With `line_numbers`, the 1-based
/// line of each returned trace is appended to it.
std::vector<Trace> parse_trace_lines(std::string_view text, const std::string& display_name,
                                     bool workload_only,
                                     std::vector<std::size_t>* line_numbers = nullptr);

/// Reads a JSON Lines file of traces; blank lines are skipped. `workload_only` requires every
/// line to be a workload-only trace (true) or an evaluated one (false).
std::vector<Trace> load_trace_lines(const std::filesystem::path& path,
                                    const std::string& display_name, bool workload_only);

} // namespace fibkit::core
