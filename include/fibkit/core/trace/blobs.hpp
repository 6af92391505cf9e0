// The safetensors blobs a TraceSet's workloads reference: which are present, and whether each
// present one holds the referenced tensor with exactly the definition's dtype and shape (the
// official loader refuses anything else).
#pragma once

#include "fibkit/core/trace/trace_set.hpp"

#include <string>
#include <vector>

namespace fibkit::core {

struct BlobReport {
  std::size_t referenced = 0;       ///< distinct blob files referenced
  std::vector<std::string> missing; ///< referenced paths that do not exist
  std::vector<std::string> invalid; ///< one message per bad file or tensor
};

/// Checks every safetensors input of the workloads of `definition`. With `embedded` (a TraceSet
/// compiled into the binary) every blob counts as missing.
BlobReport check_blobs(const TraceSet& set, const Definition& definition, bool embedded);

} // namespace fibkit::core
