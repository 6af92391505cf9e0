// A content-addressed on-disk cache of byte strings (e.g. compiled kernels), safe to share
// between concurrent processes and threads.
//
// Layout under the root directory:
//   CACHEDIR.TAG              marks the directory as a cache (backup tools skip it)
//   .evict.lock               flock()ed while evicting or clearing
//   <k0k1>/<key>.bin          an entry: a 64-byte header, then the payload
//   <k0k1>/<key>.lock         exists only while a writer of <key> holds it (flock)
//   <k0k1>/<key>.tmp.XXXXXX   a writer's temporary file (renamed to <key>.bin when complete)
// where <key> is 32 lowercase hex characters (util::Hasher::hex_digest()) and <k0k1> its first
// two. The header holds a magic, a format version, the payload length, the payload's XXH3-64
// and the key; get() checks all of them and the file size, and deletes an entry that fails
// (a miss, never a corrupt payload). Writers rename complete files into place, so readers take
// no lock. Recency is the entry's mtime: get() refreshes it, and put() evicts the entries with
// the oldest mtimes while the total size exceeds the limit.
//
// Errors are fibkit::Error naming the path. A cache is an optimization: callers should catch
// fibkit::Error from the constructor, get() and put(), warn, and carry on without the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace fibkit::util {

/// A cache directory of verified entries keyed by 32-hex-character keys, with LRU eviction.
/// All members are safe to call from several threads and processes at once; one object may be
/// shared between threads.
class DiskCache {
public:
  /// What the cache holds on disk.
  struct Stats {
    std::uint64_t bytes = 0; ///< total size of the entry files (headers included)
    std::size_t entries = 0; ///< number of entry files
  };

  /// The default size limit: 1 GiB.
  static constexpr std::uint64_t kDefaultMaxBytes = std::uint64_t{1} << 30;
  /// The size of the header that precedes each payload in an entry file.
  static constexpr std::size_t kHeaderSize = 64;

  /// $FIB_CACHE_PATH if set and non-empty; else $XDG_CACHE_HOME/fibkit if that is an absolute
  /// path; else $HOME/.cache/fibkit; else <home from the password database>/.cache/fibkit.
  /// Throws fibkit::Error when none of these is available.
  static std::filesystem::path default_dir();
  /// default_dir() and which of those rules gave it (e.g. "$FIB_CACHE_PATH"), for `fibkit env`.
  struct DirChoice {
    std::filesystem::path dir;
    std::string from;
  };
  static DirChoice default_dir_choice();
  /// default_dir() when it exists or can be created, else a per-user folder under the system's
  /// temporary directory (created): where fibkit keeps working files (official builds, the
  /// Python bridge's files) when the cache directory is unusable. Throws fibkit::Error only
  /// when neither can be created.
  static std::filesystem::path writable_dir();
  /// Whether `key` is a valid key: exactly 32 characters of [0-9a-f].
  static bool is_valid_key(std::string_view key);

  /// Opens (creating it and its parents if needed) the cache rooted at `root`, whose entries
  /// may total at most `max_bytes` (0: no limit), and writes CACHEDIR.TAG if it is missing.
  /// Throws fibkit::Error when the directory cannot be created or the tag written, and when it
  /// has no CACHEDIR.TAG but holds files a fibkit cache would not (it is not marked then).
  DiskCache(std::filesystem::path root, std::uint64_t max_bytes = kDefaultMaxBytes);

  /// The root directory.
  const std::filesystem::path& root() const { return m_root; }
  /// The size limit in bytes (0: no limit).
  std::uint64_t max_bytes() const { return m_max_bytes; }
  /// Where the entry for `key` lives (whether or not it exists). Throws std::invalid_argument
  /// for an invalid key.
  std::filesystem::path entry_path(std::string_view key) const { return entry_path(m_root, key); }
  /// Where the entry for `key` lives in the cache rooted at `root` (nothing is created).
  static std::filesystem::path entry_path(const std::filesystem::path& root, std::string_view key);

  /// The payload stored under `key`, or nullopt when there is none. Refreshes the entry's mtime
  /// (best effort). An entry that fails verification (truncated, corrupt, wrong key or format)
  /// is deleted and reported as a miss. Throws std::invalid_argument for an invalid key and
  /// fibkit::Error when an existing entry cannot be read (e.g. permissions).
  std::optional<std::string> get(std::string_view key) const;
  /// Stores `payload` under `key`, replacing any previous entry, atomically (a temporary file
  /// in the same directory, fsync, rename) while holding the key's writer lock; then evicts
  /// least-recently-used entries, never this one, while the total exceeds max_bytes(). Also
  /// removes temporary files left for over an hour by killed writers. Throws
  /// std::invalid_argument for an invalid key, and fibkit::Error when the entry cannot be
  /// written (any previous entry then stays) or the eviction lock cannot be taken.
  void put(std::string_view key, std::string_view payload) const;

  /// The number and total size of the entries (temporary and lock files not counted).
  Stats stats() const;
  /// The total size of the entry files in bytes, headers included (stats().bytes).
  std::uint64_t size_bytes() const { return stats().bytes; }
  /// The number of entries (stats().entries).
  std::size_t entry_count() const { return stats().entries; }
  /// Removes every entry, temporary file and unused lock file, and the emptied subdirectories;
  /// keeps the root, CACHEDIR.TAG and lock files that a writer holds. A put() running at the
  /// same time may fail (fibkit::Error) or survive the clear. Throws fibkit::Error when a file
  /// cannot be removed. Returns the entries it removed (number and bytes).
  Stats clear() const;

private:
  /// Evicts the oldest entries other than `keep` while the total exceeds m_max_bytes.
  void evict(const std::filesystem::path& keep) const;

  std::filesystem::path m_root;
  std::uint64_t m_max_bytes;
};

} // namespace fibkit::util
