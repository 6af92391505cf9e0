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

/// The author `fibkit init` writes when it knows no name (no --author, no `git config
/// user.name`); pack_solution() refuses it (check_packable_author()).
inline constexpr std::string_view k_placeholder_author = "TODO-set-author";

/// Who a new project's solutions belong to.
struct StarterIdentity {
  std::string author;      ///< the solutions' author; empty: keep the templates' "fibkit"
  std::string name_prefix; ///< replaces "fibkit-simple" in solution names; empty: keep it
};

/// The files of a new project for `track`: config.toml, README.md, .gitignore and
/// kernels/<track>/<kernel files>, with the solutions' author and names from `identity`.
/// Throws fibkit::UsageError for an unknown track, listing the valid ones, or for an author or
/// name prefix with a control character (or, for the prefix, a character outside
/// [A-Za-z0-9._-]).
std::vector<ProjectFile> starter_project(std::string_view track,
                                         const StarterIdentity& identity = {});

/// "Ada Lovelace" -> "ada-lovelace": lower case, runs of other characters as one '-'.
std::string name_slug(std::string_view text);

/// Throws fibkit::Error naming the solution's config line when its author is still the
/// placeholder `fibkit init` wrote (k_placeholder_author), saying how to set it.
void check_packable_author(const std::string& where, const std::string& solution,
                           const std::string& author);

/// The device header every kernel may include as "fibkit.cuh" (embedded kernels/fibkit.cuh).
std::string_view device_header();

} // namespace fibkit::core
