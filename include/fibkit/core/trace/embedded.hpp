// Files embedded in the binary at build time: the examples TraceSet (`examples/...`), the
// kernel templates (`kernels/...`), the native references (`references/...`) and fibkit's own
// assets (the Python bridge's script, the generated entry's prelude, the HTML report's
// stylesheet).
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

/// The content of the embedded file at `path` (one of fibkit's own, e.g. the Python bridge's
/// script); throws fibkit::Error ("internal error") when it is not embedded.
std::string_view embedded_file(std::string_view path);

} // namespace fibkit::core
