// Files embedded in the binary at build time: the examples TraceSet (`examples/...`) and the
// kernel templates (`kernels/...`).
#pragma once

#include <string_view>
#include <vector>

namespace fibkit::core {

struct EmbeddedFile {
  std::string_view
      path; ///< relative to the repository root, e.g. "examples/definitions/gdn/x.json"
  std::string_view content;
};

/// Every embedded file, sorted by path.
const std::vector<EmbeddedFile>& embedded_files();

} // namespace fibkit::core
