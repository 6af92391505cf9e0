// Files: whole-file reads with clear errors, and atomic writes (temp file + rename), so an
// interrupted write never leaves a half-written file behind.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::util {

/// Reads a whole file. Throws fibkit::Error("<path>: <reason>") when it cannot.
std::string read_file(const std::filesystem::path& path);

/// Writes `content` to `path` atomically: a temp file in the same directory, fsync, rename.
/// Creates missing parent directories. Throws fibkit::Error on failure (the target is untouched).
void write_file_atomic(const std::filesystem::path& path, std::string_view content);

/// Appends JSON Lines to `path` the way flashinfer-bench does: a "\n" first if the existing
/// file does not end with one, then each line followed by "\n". Creates parent directories.
void append_lines(const std::filesystem::path& path, const std::vector<std::string>& lines);

/// `path` relative to `base` when it lies below it, else `path` unchanged (for messages).
std::string display_path(const std::filesystem::path& path, const std::filesystem::path& base);

} // namespace fibkit::util
