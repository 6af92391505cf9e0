#include "fibkit/core/trace/embedded.hpp"

#include "fibkit/util/error.hpp"

#include <algorithm>
#include <string>

namespace fibkit::core {

std::string_view embedded_file(std::string_view path) {
  const std::vector<EmbeddedFile>& files = embedded_files();
  const auto it =
      std::lower_bound(files.begin(), files.end(), path,
                       [](const EmbeddedFile& f, std::string_view p) { return f.path < p; });
  if (it == files.end() || it->path != path) {
    throw Error("internal error: " + std::string(path) + " is not embedded in fibkit");
  }
  return it->content;
}

} // namespace fibkit::core
