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

/// Writes a command's result to `target` as a user expects of `-o TARGET`:
///  - "-" is stdout (written, flushed and checked);
///  - symbolic links are followed (the link stays, its target gets the content);
///  - a character device, FIFO or socket (`/dev/null`, `/dev/stdout`, a named pipe) is opened and
///    written in place, never replaced;
///  - a regular file or a new path is written atomically (write_file_atomic);
///  - a directory is an error.
/// Throws fibkit::Error("<target>: ...") for every failed write, open, flush or close.
void write_output(const std::string& target, std::string_view content);

/// Writes `content` to stdout and flushes it; throws fibkit::Error("cannot write the results to
/// stdout: <reason>") when the write or the flush fails (a full disk, a closed pipe).
void write_stdout(std::string_view content);

/// Flushes and closes stdout at the end of a command; throws fibkit::Error("cannot write the
/// results to stdout: <reason>") when any earlier write to it, the flush or the close failed.
/// A stdout that was closed before the program started is not an error.
void close_stdout();

/// Appends JSON Lines to `path` the way flashinfer-bench does: a "\n" first if the existing
/// file does not end with one, then each line followed by "\n". Creates parent directories.
void append_lines(const std::filesystem::path& path, const std::vector<std::string>& lines);

/// `path` relative to `base` when it lies below it, else `path` unchanged (for messages).
std::string display_path(const std::filesystem::path& path, const std::filesystem::path& base);

} // namespace fibkit::util
