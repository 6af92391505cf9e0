#include "fibkit/core/project/templates.hpp"

#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/core/trace/tracks.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cctype>

namespace fibkit::core {

namespace {
constexpr std::string_view k_gitignore = R"(# fibkit outputs
/build/
/submission/
/fibkit-results/
solution.json
)";
} // namespace

namespace {

// TOML basic-string escaping (quotes and backslashes; control characters are refused earlier).
std::string toml_quoted(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

// The config template with `author = "fibkit"` and `name = "fibkit-simple-..."` of its
// [[solution]] tables rewritten (lines as the templates write them).
std::string personalise(std::string_view config, const StarterIdentity& id) {
  constexpr std::string_view k_author = "author = \"fibkit\"";
  constexpr std::string_view k_name = "name = \"fibkit-simple";
  std::string out;
  std::size_t start = 0;
  while (start < config.size()) {
    std::size_t end = config.find('\n', start);
    end = end == std::string_view::npos ? config.size() : end + 1;
    std::string line(config.substr(start, end - start));
    start = end;
    if (!id.author.empty() && line.rfind(k_author, 0) == 0) {
      line = "author = " + toml_quoted(id.author) + line.substr(k_author.size());
    } else if (!id.name_prefix.empty() && line.rfind(k_name, 0) == 0) {
      line = "name = \"" + id.name_prefix + line.substr(k_name.size());
    }
    out += line;
  }
  return out;
}

} // namespace

std::string name_slug(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) && u < 0x80) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') {
    out.pop_back();
  }
  return out;
}

void check_packable_author(const std::string& where, const std::string& solution,
                           const std::string& author) {
  if (author == k_placeholder_author) {
    throw Error(fmt::format(
        "{}: solution \"{}\" has the placeholder author \"{}\" that fibkit init writes when it "
        "knows no name: set author = \"<your name or team>\" in config.toml (or create the "
        "project with fibkit init --author NAME)",
        where, solution, author));
  }
}

std::vector<ProjectFile> starter_project(std::string_view track, const StarterIdentity& identity) {
  if (!find_track(track)) {
    throw UsageError(fmt::format("unknown track \"{}\" (valid tracks: {})", track, track_names()));
  }
  for (const char c : identity.author) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw UsageError("--author: control characters are not allowed");
    }
  }
  for (const char c : identity.name_prefix) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      throw UsageError(fmt::format("--name \"{}\": use letters, digits, '-', '_' and '.' only",
                                   identity.name_prefix));
    }
  }
  const std::string prefix = fmt::format("kernels/{}/", track);
  std::vector<ProjectFile> files;
  for (const EmbeddedFile& f : embedded_files()) {
    if (f.path.rfind(prefix, 0) != 0) {
      continue;
    }
    const std::string_view name = f.path.substr(prefix.size());
    if (name == "config.toml") {
      files.push_back({std::string(name), personalise(f.content, identity)});
    } else if (name == "README.md") {
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
