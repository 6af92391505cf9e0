// Where the TraceSet comes from: --dataset, else FIB_DATASET_PATH, else the examples embedded in
// the binary (fibkit's own TraceSet of the five contest definitions).
#pragma once

#include "fibkit/core/trace/trace_set.hpp"

#include <optional>
#include <string>

namespace fibkit::core {

struct Dataset {
  TraceSet set;
  std::string label;     ///< the directory, or "embedded examples"
  bool embedded = false; ///< true when blobs can never be present
};

/// Which TraceSet a command uses, before it is loaded: `path` empty means the embedded examples.
struct DatasetSource {
  std::string path;
  std::string from; ///< "--dataset", "$FIB_DATASET_PATH" or "default"
};
/// `flag` (from --dataset) wins, then $FIB_DATASET_PATH, then the embedded examples.
DatasetSource dataset_source(const std::optional<std::string>& flag);

/// The embedded examples TraceSet.
TraceSet load_embedded_examples();
/// Resolves (dataset_source) and loads the dataset.
Dataset load_dataset(const std::optional<std::string>& flag);

} // namespace fibkit::core
