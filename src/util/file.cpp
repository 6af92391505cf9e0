#include "fibkit/util/file.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cerrno>
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
