#include "fibkit/core/templates.hpp"

#include "fibkit/core/embedded.hpp"
#include "fibkit/core/tracks.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>

namespace fibkit::core {

namespace {
constexpr std::string_view k_gitignore = R"(# fibkit outputs
/build/
/submission/
/fibkit-results/
solution.json
)";
} // namespace

std::vector<ProjectFile> starter_project(std::string_view track) {
  if (!find_track(track)) {
    throw UsageError(fmt::format("unknown track \"{}\" (valid tracks: {})", track, track_names()));
  }
  const std::string prefix = fmt::format("kernels/{}/", track);
  std::vector<ProjectFile> files;
  for (const EmbeddedFile& f : embedded_files()) {
    if (f.path.rfind(prefix, 0) != 0) {
      continue;
    }
    const std::string_view name = f.path.substr(prefix.size());
    if (name == "config.toml" || name == "README.md") {
      files.push_back({std::string(name), std::string(f.content)});
    } else {
      files.push_back({std::string(f.path), std::string(f.content)});
    }
  }
  files.push_back({".gitignore", std::string(k_gitignore)});
  return files;
}

std::string_view device_header() {
  for (const EmbeddedFile& f : embedded_files()) {
    if (f.path == "kernels/fibkit.cuh") {
      return f.content;
    }
  }
  throw Error("internal: kernels/fibkit.cuh is not embedded");
}

} // namespace fibkit::core
