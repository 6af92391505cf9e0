#include "fibkit/util/file.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace fibkit::util {

std::string read_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw Error(fmt::format("{}: is a directory, expected a file", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) {
    throw Error(fmt::format("{}: read error", path.string()));
  }
  return std::move(buffer).str();
}

namespace {

void write_all(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(fmt::format("{}: write failed: {}", path.string(), std::strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void make_parent_dirs(const fs::path& path) {
  const fs::path parent = path.parent_path();
  if (parent.empty()) {
    return;
  }
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) {
    throw Error(fmt::format("{}: cannot create directory: {}", parent.string(), ec.message()));
  }
}

} // namespace

void write_file_atomic(const fs::path& path, std::string_view content) {
  make_parent_dirs(path);
  std::string tmp_template = path.string() + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp_template.data());
  if (fd < 0) {
    throw Error(
        fmt::format("{}: cannot create a temporary file: {}", path.string(), std::strerror(errno)));
  }
  try {
    write_all(fd, content, path);
    if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) {
      throw Error(
          fmt::format("{}: cannot finish writing: {}", path.string(), std::strerror(errno)));
    }
  } catch (...) {
    ::close(fd);
    ::unlink(tmp_template.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(tmp_template.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp_template.c_str());
    throw Error(fmt::format("{}: cannot rename the temporary file into place: {}", path.string(),
                            std::strerror(err)));
  }
}

namespace {

// `path` with every symbolic link of its last component followed (relative targets resolve
// against the link's directory), so that writing to the result writes through the links.
fs::path follow_links(fs::path path) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      return path;
    }
    std::error_code ec;
    const fs::path target = fs::read_symlink(path, ec);
    if (ec) {
      throw Error(
          fmt::format("{}: cannot read the symbolic link: {}", path.string(), ec.message()));
    }
    path = target.is_absolute() ? target : path.parent_path() / target;
  }
  throw Error(fmt::format("{}: too many levels of symbolic links", path.string()));
}

} // namespace

void write_stdout(std::string_view content) {
  errno = 0;
  const std::size_t written = std::fwrite(content.data(), 1, content.size(), stdout);
  if (written != content.size() || std::fflush(stdout) != 0 || std::ferror(stdout)) {
    const int err = errno;
    throw Error(fmt::format("cannot write the results to stdout: {}",
                            err ? std::strerror(err) : "write error"));
  }
}

void close_stdout() {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  int err = errno;
  const bool earlier_error = std::ferror(stdout) != 0;
  if (flushed && !earlier_error) {
    // Closing can report what a flush did not (e.g. on NFS). A stdout closed from the start
    // (EBADF with nothing written) is not a failure of ours.
    errno = 0;
    if (std::fclose(stdout) == 0 || errno == EBADF) {
      return;
    }
    err = errno;
  }
  throw Error(fmt::format("cannot write the results to stdout: {}",
                          err ? std::strerror(err) : "write error"));
}

void write_output(const std::string& target, std::string_view content) {
  if (target == "-") {
    write_stdout(content);
    return;
  }
  if (target.empty()) {
    throw Error("the output path is empty (use - for stdout)");
  }
  const fs::path path = follow_links(target);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      throw Error(fmt::format("{}: {}", target, std::strerror(errno)));
    }
    write_file_atomic(path, content); // a new file (or the missing target of a link)
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    throw Error(fmt::format("{}: is a directory, expected a file", target));
  }
  if (S_ISREG(st.st_mode)) {
    write_file_atomic(path, content);
    return;
  }
  // A device, FIFO or socket: write into it as the shell's `>` would; never replace it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    throw Error(fmt::format("{}: cannot open for writing: {}", target, std::strerror(errno)));
  }
  try {
    write_all(fd, content, target);
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) {
    throw Error(fmt::format("{}: write failed: {}", target, std::strerror(errno)));
  }
}

void append_lines(const fs::path& path, const std::vector<std::string>& lines) {
  make_parent_dirs(path);
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw Error(
        fmt::format("{}: cannot open for appending: {}", path.string(), std::strerror(errno)));
  }
  try {
    std::string data;
    const off_t size = ::lseek(fd, 0, SEEK_END);
    if (size > 0) {
      char last = '\n';
      if (::pread(fd, &last, 1, size - 1) == 1 && last != '\n') {
        data += '\n';
      }
    }
    for (const std::string& line : lines) {
      data += line;
      data += '\n';
    }
    write_all(fd, data, path);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

std::string display_path(const fs::path& path, const fs::path& base) {
  std::error_code ec;
  const fs::path rel = fs::relative(path, base, ec);
  if (ec || rel.empty() || *rel.begin() == "..") {
    return path.string();
  }
  return rel.string();
}

} // namespace fibkit::util
