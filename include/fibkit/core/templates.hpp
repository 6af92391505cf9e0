// Starter projects: the files `fibkit init --track T` writes, taken from the kernel templates
// embedded in the binary (the repository's kernels/<track>/).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fibkit::core {

/// One file of a starter project: its path relative to the project directory, and content.
struct ProjectFile {
  std::string path;
  std::string content;
};

/// The files of a new project for `track`: config.toml, README.md, .gitignore and
/// kernels/<track>/<kernel files>. Throws fibkit::UsageError for an unknown track, listing the
/// valid ones.
std::vector<ProjectFile> starter_project(std::string_view track);

/// The device header every kernel may include as "fibkit.cuh" (embedded kernels/fibkit.cuh).
std::string_view device_header();

} // namespace fibkit::core
