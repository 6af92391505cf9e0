#include "fibkit/util/disk_cache.hpp"

#include "fibkit/util/env.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <functional>
#include <pwd.h>
#include <stdexcept>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

namespace fibkit::util {

namespace {

constexpr char kMagic[8] = {'F', 'I', 'B', 'K', 'C', 'A', 'C', 'H'};
constexpr std::uint32_t kFormatVersion = 1;
constexpr std::size_t kKeySize = 32;
constexpr std::string_view kEntrySuffix = ".bin";
constexpr std::string_view kLockSuffix = ".lock";
constexpr std::string_view kTempInfix = ".tmp.";
/// Temporary files older than this belong to killed writers (a write takes milliseconds).
constexpr std::time_t kStaleTempSeconds = 3600;
constexpr std::string_view kCacheDirTag =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by fibkit.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n";

std::string errno_text(int err) {
  return std::strerror(err);
}

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/// An owned file descriptor.
class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(m_fd, other.m_fd);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
  }
  int get() const { return m_fd; }
  /// Closes now, returning close()'s errno (0 on success).
  int close() {
    const int fd = std::exchange(m_fd, -1);
    return fd >= 0 && ::close(fd) != 0 ? errno : 0;
  }

private:
  int m_fd;
};

/// An exclusive flock() on a lock file. With `transient`, the lock file exists only while
/// locked: the holder unlinks it before unlocking, and a locker that finds its file unlinked
/// or replaced after waiting starts over (so exclusion holds although the file comes and goes).
class FileLock {
public:
  /// Locks `path`, creating it (and, for a transient lock, its parent directory) if needed.
  /// Without `wait`, returns nullopt when another holds the lock. Throws fibkit::Error.
  static std::optional<FileLock> acquire(const fs::path& path, bool wait, bool transient) {
    for (int attempt = 0;; ++attempt) {
      Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
      if (fd.get() < 0) {
        const int err = errno;
        if (err == ENOENT && transient && attempt < 8) {
          // clear() removed the (empty) directory: recreate it and try again.
          std::error_code ec;
          fs::create_directories(path.parent_path(), ec);
          continue;
        }
        throw Error(
            fmt::format("{}: cannot open the lock file: {}", path.string(), errno_text(err)));
      }
      int rc = 0;
      do {
        rc = ::flock(fd.get(), wait ? LOCK_EX : LOCK_EX | LOCK_NB);
      } while (rc != 0 && errno == EINTR);
      if (rc != 0) {
        const int err = errno;
        if (err == EWOULDBLOCK) {
          return std::nullopt;
        }
        throw Error(fmt::format("{}: cannot lock: {}", path.string(), errno_text(err)));
      }
      if (!transient) {
        return FileLock(path, std::move(fd), false);
      }
      struct stat held {};
      struct stat named {};
      if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
          held.st_dev == named.st_dev && held.st_ino == named.st_ino) {
        return FileLock(path, std::move(fd), true);
      }
      // The previous holder unlinked this file while we waited: lock the current one.
    }
  }

  FileLock(FileLock&& other) noexcept
      : m_path(std::move(other.m_path)), m_fd(std::move(other.m_fd)),
        m_transient(std::exchange(other.m_transient, false)) {}
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() {
    if (m_transient && m_fd.get() >= 0) {
      ::unlink(m_path.c_str());
    }
    // Closing the descriptor releases the flock.
  }

private:
  FileLock(fs::path path, Fd fd, bool transient)
      : m_path(std::move(path)), m_fd(std::move(fd)), m_transient(transient) {}

  fs::path m_path;
  Fd m_fd;
  bool m_transient;
};

void put_u32(unsigned char* out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out[i] = static_cast<unsigned char>(v >> (8 * i));
  }
}

void put_u64(unsigned char* out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<unsigned char>(v >> (8 * i));
  }
}

std::uint64_t get_u64(const unsigned char* in, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v |= std::uint64_t{in[i]} << (8 * i);
  }
  return v;
}

/// The entry header: magic[8], version u32, header size u32, payload length u64,
/// payload XXH3-64 u64, key[32]; little-endian.
struct Header {
  unsigned char bytes[DiskCache::kHeaderSize] = {};
};

Header make_header(std::string_view key, std::string_view payload) {
  Header h;
  std::memcpy(h.bytes, kMagic, sizeof kMagic);
  put_u32(h.bytes + 8, kFormatVersion);
  put_u32(h.bytes + 12, static_cast<std::uint32_t>(DiskCache::kHeaderSize));
  put_u64(h.bytes + 16, payload.size());
  put_u64(h.bytes + 24, XXH3_64bits(payload.data(), payload.size()));
  std::memcpy(h.bytes + 32, key.data(), kKeySize);
  return h;
}

void write_all(int fd, const void* data, std::size_t size, const fs::path& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(fmt::format("{}: write failed: {}", path.string(), errno_text(errno)));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

/// Reads exactly `size` bytes at `offset`; false at a premature end of file.
bool read_exact(int fd, void* data, std::size_t size, off_t offset, const fs::path& path) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::pread(fd, p, size, offset);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(fmt::format("{}: read failed: {}", path.string(), errno_text(errno)));
    }
    if (n == 0) {
      return false;
    }
    p += n;
    offset += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

enum class FileKind { entry, temp, lock, other };

// The name of a file or folder in `root` that a fibkit cache would not hold, or "" when there
// is none (an empty folder, or one fibkit is creating: shard folders, the eviction lock, the
// tag's temporary file, the latency folder).
std::string foreign_file(const fs::path& root) {
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code type_ec;
    const bool shard = name.size() == 2 && is_lower_hex(name[0]) && is_lower_hex(name[1]) &&
                       it->is_directory(type_ec);
    // "latency": where bench's reference latencies lived before they became entries of this
    // cache (core::LatencyCache); older cache folders still hold it.
    if (!shard && name != ".evict.lock" && name != "latency" &&
        name.rfind("CACHEDIR.TAG", 0) != 0) {
      return name;
    }
  }
  return "";
}

FileKind classify(const std::string& name) {
  if (name.size() < kKeySize || !std::all_of(name.begin(), name.begin() + kKeySize, is_lower_hex)) {
    return FileKind::other;
  }
  const std::string_view rest = std::string_view(name).substr(kKeySize);
  if (rest == kEntrySuffix) {
    return FileKind::entry;
  }
  if (rest == kLockSuffix) {
    return FileKind::lock;
  }
  if (rest.substr(0, kTempInfix.size()) == kTempInfix) {
    return FileKind::temp;
  }
  return FileKind::other;
}

struct CacheFile {
  fs::path path;
  FileKind kind;
  struct stat st;
};

/// The files in the shard directories (<root>/<2 hex>/), skipping any that vanish meanwhile.
/// `shards` receives the shard directories.
std::vector<CacheFile> list_files(const fs::path& root, std::vector<fs::path>* shards = nullptr) {
  std::vector<CacheFile> files;
  std::error_code ec;
  for (fs::directory_iterator dir(root, ec), end; !ec && dir != end; dir.increment(ec)) {
    const std::string name = dir->path().filename().string();
    std::error_code type_ec;
    if (name.size() != 2 || !is_lower_hex(name[0]) || !is_lower_hex(name[1]) ||
        !dir->is_directory(type_ec)) {
      continue;
    }
    if (shards != nullptr) {
      shards->push_back(dir->path());
    }
    std::error_code shard_ec;
    for (fs::directory_iterator file(dir->path(), shard_ec), file_end;
         !shard_ec && file != file_end; file.increment(shard_ec)) {
      CacheFile f{file->path(), classify(file->path().filename().string()), {}};
      if (f.kind != FileKind::other && ::lstat(f.path.c_str(), &f.st) == 0 &&
          S_ISREG(f.st.st_mode)) {
        files.push_back(std::move(f));
      }
    }
  }
  return files;
}

bool older(const struct stat& a, const struct stat& b) {
  return std::make_pair(a.st_mtim.tv_sec, a.st_mtim.tv_nsec) <
         std::make_pair(b.st_mtim.tv_sec, b.st_mtim.tv_nsec);
}

/// Unlinks `path`; a file already gone is fine. Throws fibkit::Error otherwise.
void remove_file(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw Error(fmt::format("{}: cannot remove: {}", path.string(), errno_text(errno)));
  }
}

} // namespace

fs::path DiskCache::default_dir() {
  return default_dir_choice().dir;
}

DiskCache::DirChoice DiskCache::default_dir_choice() {
  if (std::string dir = env_var("FIB_CACHE_PATH"); !dir.empty()) {
    return {dir, "$FIB_CACHE_PATH"};
  }
  // The XDG base directory spec says to ignore relative paths.
  if (fs::path xdg = env_var("XDG_CACHE_HOME"); !xdg.empty() && xdg.is_absolute()) {
    return {xdg / "fibkit", "$XDG_CACHE_HOME/fibkit"};
  }
  fs::path home = env_var("HOME");
  std::string from = "$HOME/.cache/fibkit";
  if (home.empty()) {
    from = "the password database's home folder/.cache/fibkit";
    std::vector<char> buffer(16384);
    struct passwd pw {};
    struct passwd* result = nullptr;
    if (::getpwuid_r(::getuid(), &pw, buffer.data(), buffer.size(), &result) == 0 &&
        result != nullptr && result->pw_dir != nullptr) {
      home = result->pw_dir;
    }
  }
  if (home.empty()) {
    throw Error("cannot find a directory for the compile cache: neither FIB_CACHE_PATH, "
                "XDG_CACHE_HOME nor HOME is set");
  }
  return {home / ".cache" / "fibkit", from};
}

fs::path DiskCache::writable_dir() {
  std::error_code ec;
  try {
    const fs::path dir = default_dir();
    fs::create_directories(dir, ec);
    if (!ec && fs::is_directory(dir, ec) && ::access(dir.c_str(), W_OK) == 0) {
      return dir;
    }
  } catch (const Error&) {
    // no HOME either: the temporary folder below
  }
  const fs::path tmp = fs::temp_directory_path() / fmt::format("fibkit-{}", ::getuid());
  fs::create_directories(tmp, ec);
  if (ec) {
    throw Error(
        fmt::format("{}: cannot create a working directory: {}", tmp.string(), ec.message()));
  }
  return tmp;
}

bool DiskCache::is_valid_key(std::string_view key) {
  return key.size() == kKeySize && std::all_of(key.begin(), key.end(), is_lower_hex);
}

DiskCache::DiskCache(fs::path root, std::uint64_t max_bytes)
    : m_root(std::move(root)), m_max_bytes(max_bytes) {
  if (m_root.empty()) {
    throw Error("the cache directory path is empty");
  }
  std::error_code ec;
  fs::create_directories(m_root, ec);
  if (ec || !fs::is_directory(m_root, ec)) {
    throw Error(fmt::format("{}: cannot create the cache directory: {}", m_root.string(),
                            ec ? ec.message() : "not a directory"));
  }
  const fs::path tag = m_root / "CACHEDIR.TAG";
  if (!fs::exists(tag, ec)) {
    // A folder that already holds other things (FIB_CACHE_PATH=$HOME, say) is not marked as a
    // cache: backup tools would then skip everything in it.
    if (const std::string foreign = foreign_file(m_root); !foreign.empty()) {
      throw Error(fmt::format(
          "{}: not a fibkit cache: the folder holds other files ({}) and no CACHEDIR.TAG, so "
          "fibkit will not use it or mark it as a cache; point FIB_CACHE_PATH at an empty or new "
          "folder, e.g. {}",
          m_root.string(), foreign, (m_root / "fibkit-cache").string()));
    }
    write_file_atomic(tag, kCacheDirTag);
  }
}

fs::path DiskCache::entry_path(const fs::path& root, std::string_view key) {
  if (!is_valid_key(key)) {
    throw std::invalid_argument(
        fmt::format("invalid cache key \"{}\": expected 32 lowercase hex characters", key));
  }
  return root / std::string(key.substr(0, 2)) / fmt::format("{}{}", key, kEntrySuffix);
}

std::optional<std::string> DiskCache::get(std::string_view key) const {
  const fs::path path = entry_path(key);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return std::nullopt;
    }
    throw Error(
        fmt::format("{}: cannot open the cache entry: {}", path.string(), errno_text(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    throw Error(fmt::format("{}: cannot stat: {}", path.string(), errno_text(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::nullopt;
  }

  std::optional<std::string> payload;
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Header h;
  if (size >= kHeaderSize && read_exact(fd.get(), h.bytes, kHeaderSize, 0, path) &&
      std::memcmp(h.bytes, kMagic, sizeof kMagic) == 0 &&
      get_u64(h.bytes + 8, 4) == kFormatVersion && get_u64(h.bytes + 12, 4) == kHeaderSize &&
      get_u64(h.bytes + 16, 8) == size - kHeaderSize &&
      std::memcmp(h.bytes + 32, key.data(), kKeySize) == 0) {
    std::string data(static_cast<std::size_t>(size - kHeaderSize), '\0');
    if (read_exact(fd.get(), data.data(), data.size(), kHeaderSize, path) &&
        XXH3_64bits(data.data(), data.size()) == get_u64(h.bytes + 24, 8)) {
      payload = std::move(data);
    }
  }

  if (payload) {
    ::futimens(fd.get(), nullptr); // LRU: best effort (fails harmlessly on a read-only cache)
    return payload;
  }
  // A bad entry: delete it, under the writer lock, and only if it is still the file we read
  // (a writer may have just renamed a good one into place). Best effort.
  try {
    const FileLock lock =
        *FileLock::acquire(path.parent_path() / fmt::format("{}{}", key, kLockSuffix), true, true);
    struct stat now {};
    if (::stat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino) {
      ::unlink(path.c_str());
    }
  } catch (const Error&) {
    // A read-only cache: leave the bad entry; it stays a miss.
  }
  return std::nullopt;
}

void DiskCache::put(std::string_view key, std::string_view payload) const {
  const fs::path path = entry_path(key);
  const fs::path dir = path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    throw Error(fmt::format("{}: cannot create directory: {}", dir.string(), ec.message()));
  }
  {
    const FileLock lock =
        *FileLock::acquire(dir / fmt::format("{}{}", key, kLockSuffix), true, true);
    std::string tmp = (dir / fmt::format("{}{}XXXXXX", key, kTempInfix)).string();
    Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (fd.get() < 0) {
      throw Error(
          fmt::format("{}: cannot create a temporary file: {}", path.string(), errno_text(errno)));
    }
    try {
      const Header h = make_header(key, payload);
      write_all(fd.get(), h.bytes, sizeof h.bytes, path);
      write_all(fd.get(), payload.data(), payload.size(), path);
      if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) {
        throw Error(fmt::format("{}: cannot finish writing: {}", path.string(), errno_text(errno)));
      }
      if (const int err = fd.close(); err != 0) {
        throw Error(fmt::format("{}: cannot finish writing: {}", path.string(), errno_text(err)));
      }
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        throw Error(fmt::format("{}: cannot rename the temporary file into place: {}",
                                path.string(), errno_text(errno)));
      }
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  evict(path);
}

DiskCache::Stats DiskCache::stats() const {
  Stats stats;
  for (const CacheFile& f : list_files(m_root)) {
    if (f.kind == FileKind::entry) {
      stats.bytes += static_cast<std::uint64_t>(f.st.st_size);
      ++stats.entries;
    }
  }
  return stats;
}

void DiskCache::evict(const fs::path& keep) const {
  const FileLock lock = *FileLock::acquire(m_root / ".evict.lock", true, false);
  std::vector<CacheFile> entries;
  std::uint64_t total = 0;
  const std::time_t stale_before = std::time(nullptr) - kStaleTempSeconds;
  for (CacheFile& f : list_files(m_root)) {
    if (f.kind == FileKind::entry) {
      total += static_cast<std::uint64_t>(f.st.st_size);
      entries.push_back(std::move(f));
    } else if (f.kind == FileKind::temp && f.st.st_mtim.tv_sec < stale_before) {
      ::unlink(f.path.c_str()); // left by a killed writer
    }
  }
  if (m_max_bytes == 0 || total <= m_max_bytes) {
    return;
  }
  std::sort(entries.begin(), entries.end(), [](const CacheFile& a, const CacheFile& b) {
    return older(a.st, b.st) || (!older(b.st, a.st) && a.path < b.path);
  });
  for (const CacheFile& f : entries) {
    if (total <= m_max_bytes) {
      break;
    }
    if (f.path == keep) {
      continue;
    }
    if (::unlink(f.path.c_str()) == 0 || errno == ENOENT) {
      total -= static_cast<std::uint64_t>(f.st.st_size);
    }
  }
}

DiskCache::Stats DiskCache::clear() const {
  const FileLock lock = *FileLock::acquire(m_root / ".evict.lock", true, false);
  std::vector<fs::path> shards;
  Stats removed;
  for (const CacheFile& f : list_files(m_root, &shards)) {
    if (f.kind == FileKind::lock) {
      // Unused (left by a killed writer) unless someone holds it; a held one stays.
      (void)FileLock::acquire(f.path, false, true);
    } else {
      remove_file(f.path);
      if (f.kind == FileKind::entry) {
        removed.entries += 1;
        removed.bytes += static_cast<std::uint64_t>(f.st.st_size);
      }
    }
  }
  for (const fs::path& shard : shards) {
    ::rmdir(shard.c_str()); // fails harmlessly when a writer's files remain
  }
  return removed;
}

} // namespace fibkit::util
