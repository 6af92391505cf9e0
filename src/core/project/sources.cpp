// A solution's source files: which files of its source folder it has (sources, globs,
// fibkit.cuh), and the official Solution they pack into.
#include "fibkit/core/project/config.hpp"

#include "fibkit/core/project/templates.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <fnmatch.h>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace fibkit::core {

namespace {

bool is_packable(const fs::path& p) {
  static const std::set<std::string> suffixes{".py", ".cu",  ".cuh", ".cpp", ".c",
                                              ".h",  ".hpp", ".cc",  ".cxx"};
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return suffixes.count(ext) > 0;
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) {
      return false;
    }
    std::uint32_t code = n == 1 ? c : c & (0x7fu >> n);
    for (std::size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) {
        return false;
      }
      code = (code << 6) | (cc & 0x3fu);
    }
    // Like Python's strict decoder: no overlong forms, no surrogates, nothing past U+10FFFF.
    static constexpr std::uint32_t k_min_code[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < k_min_code[n] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) {
      return false;
    }
    i += n;
  }
  return true;
}

} // namespace

std::vector<std::pair<std::string, fs::path>> resolve_sources(const SolutionConfig& s) {
  std::vector<std::pair<std::string, fs::path>> files;
  std::error_code ec;
  if (!fs::is_directory(s.source_dir, ec)) {
    throw Error(fmt::format("{}: source directory {} of solution \"{}\" does not exist", s.where,
                            s.source_dir.string(), s.name));
  }
  const auto add = [&](const fs::path& file) {
    std::string rel = file.lexically_relative(s.source_dir).generic_string();
    for (const auto& [existing, _] : files) {
      if (existing == rel) {
        return;
      }
    }
    files.emplace_back(rel, file);
  };
  if (s.sources.empty()) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(s.source_dir, ec)) {
      if (entry.is_regular_file() && is_packable(entry.path())) {
        found.push_back(entry.path());
      }
    }
    std::sort(found.begin(), found.end());
    for (const fs::path& f : found) {
      add(f);
    }
    if (files.empty()) {
      throw Error(fmt::format("{}: no source files (.cu, .cuh, .h, .cpp, .py, ...) in {}", s.where,
                              s.source_dir.string()));
    }
    return files;
  }
  for (std::size_t pi = 0; pi < s.sources.size(); ++pi) {
    const std::string& pattern = s.sources[pi];
    const bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
    // One rule for build and pack: a source is packed under its path relative to source_dir,
    // which the official Solution model requires to be relative and inside it. The message is
    // pack's, with the path as written.
    const fs::path written(pattern);
    const std::string normal = written.lexically_normal().generic_string();
    if (!wildcard && (written.is_absolute() || normal == ".." || normal.rfind("../", 0) == 0)) {
      throw Error(fmt::format(
          "{}: solution \"{}\" is not a valid official Solution: "
          "$.sources[{}].path: {} not allowed: {}",
          s.where, s.name, pi,
          written.is_absolute() ? "absolute path" : "parent directory traversal", pattern));
    }
    if (!wildcard) {
      const fs::path file = (s.source_dir / pattern).lexically_normal();
      if (!fs::is_regular_file(file, ec)) {
        throw Error(fmt::format("{}: source \"{}\" of solution \"{}\" not found ({})", s.where,
                                pattern, s.name, file.string()));
      }
      add(file);
      continue;
    }
    std::vector<fs::path> matched;
    for (const auto& entry : fs::recursive_directory_iterator(s.source_dir, ec)) {
      if (!entry.is_regular_file()) {
        continue;
      }
      const std::string rel = entry.path().lexically_relative(s.source_dir).generic_string();
      if (::fnmatch(pattern.c_str(), rel.c_str(), FNM_PATHNAME) == 0) {
        matched.push_back(entry.path());
      }
    }
    if (matched.empty()) {
      throw Error(fmt::format("{}: source pattern \"{}\" of solution \"{}\" matches no file in {}",
                              s.where, pattern, s.name, s.source_dir.string()));
    }
    std::sort(matched.begin(), matched.end());
    for (const fs::path& f : matched) {
      add(f);
    }
  }
  return files;
}

Solution pack_solution(const SolutionConfig& s) {
  check_packable_author(s.where, s.name, s.author);
  if (s.build.entry_point.empty()) {
    throw Error(fmt::format("{}: solution \"{}\" has no entry_point (set [build] entry_point = "
                            "\"<file>::<function>\")",
                            s.where, s.name));
  }
  Solution out;
  out.name = s.name;
  out.definition = s.definition;
  out.author = s.author;
  out.description = s.description.value_or("");
  out.spec.language = s.build.language;
  out.spec.target_hardware = s.build.target_hardware;
  out.spec.entry_point = s.build.entry_point;
  out.spec.dependencies = s.build.dependencies;
  out.spec.destination_passing_style = s.build.destination_passing_style;
  out.spec.binding = s.build.binding;
  for (const auto& [rel, file] : resolve_sources(s)) {
    std::string content = util::read_file(file);
    if (content.empty()) {
      throw Error(fmt::format("{}: source file is empty (the official Solution model refuses "
                              "empty sources)",
                              file.string()));
    }
    if (!valid_utf8(content)) {
      throw Error(fmt::format("{}: source file is not valid UTF-8 text", file.string()));
    }
    out.sources.push_back({rel, std::move(content)});
  }
  // fibkit provides fibkit.cuh to NVRTC; a packed solution carries it so the official builder
  // finds it too (unless the project has its own copy among its sources).
  const bool includes_header =
      std::any_of(out.sources.begin(), out.sources.end(), [](const SourceFile& f) {
        return std::regex_search(f.content, std::regex(R"(#\s*include\s*["<]fibkit\.cuh[">])"));
      });
  const bool has_header = std::any_of(out.sources.begin(), out.sources.end(),
                                      [](const SourceFile& f) { return f.path == "fibkit.cuh"; });
  if (includes_header && !has_header) {
    out.sources.push_back({"fibkit.cuh", std::string(device_header())});
  }
  if (std::string err = validate_solution(out); !err.empty()) {
    throw Error(fmt::format("{}: solution \"{}\" is not a valid official Solution: {}", s.where,
                            s.name, err));
  }
  return out;
}

} // namespace fibkit::core
