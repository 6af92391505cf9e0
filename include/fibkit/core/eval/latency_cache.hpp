// A persistent on-disk cache of measured reference latencies, so that `fibkit bench` times the
// reference of a workload once per GPU and settings rather than on every run.
//
// The latencies are one kind of entry of the checksummed disk cache (util::DiskCache: writer
// locks, atomic writes, checksums, LRU eviction, `build --clear-cache`), in the compile cache's
// folder: the entry's key is the XXH3-128 digest (util::Hasher) of a format tag and the six key
// fields, its payload a small JSON document with the key fields and the latency, e.g.
//   {"format": 2, "definition": "gemm_n128_k2048", "workload": "3f2a…", "gpu": "NVIDIA H100
//    80GB HBM3", "mode": "cuda-events", "counts": "10/50/3", "reference_hash": "9c1e…",
//    "latency_ms": 0.01234}
// get() checks the stored key fields against the requested key, so a hash collision is a miss;
// a corrupt entry fails the disk cache's checksum and is a miss too.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

namespace fibkit::core {

/// What a cached reference latency depends on. Any difference is a different entry.
struct LatencyKey {
  std::string definition;     ///< definition name
  std::string workload;       ///< workload uuid
  std::string gpu;            ///< GPU name, as the driver reports it
  std::string mode;           ///< timing mode, e.g. "cuda-events"
  std::string counts;         ///< warmup/iterations/trials, e.g. "10/50/3"
  std::string reference_hash; ///< fibkit's hash of the reference's sources

  bool operator==(const LatencyKey& other) const;
  bool operator!=(const LatencyKey& other) const { return !(*this == other); }
};

/// The reference latencies in the disk cache rooted at one directory. Cheap to construct: the
/// directory is created by the first put().
class LatencyCache {
public:
  /// util::DiskCache::writable_dir(): the compile cache's folder ($FIB_CACHE_PATH, else
  /// $XDG_CACHE_HOME/fibkit, else ~/.cache/fibkit; a per-user temporary folder when that cannot
  /// be used).
  static std::filesystem::path default_dir();

  /// The latencies of the disk cache rooted at `dir` (which need not exist yet).
  explicit LatencyCache(std::filesystem::path dir) : m_dir(std::move(dir)) {}

  /// The disk cache's root.
  const std::filesystem::path& dir() const { return m_dir; }
  /// The disk cache's key of `key` (32 hex characters).
  static std::string entry_key(const LatencyKey& key);
  /// The file that holds (or would hold) the entry of `key`.
  std::filesystem::path entry_path(const LatencyKey& key) const;

  /// The latency stored for `key` in milliseconds, or nullopt when there is none. Never throws
  /// for a bad entry: a missing, unreadable or corrupt file, one whose key fields differ from
  /// `key` (a hash collision), or one whose latency is not positive and finite is a miss.
  std::optional<double> get(const LatencyKey& key) const;
  /// Stores `ms` for `key`, replacing any previous entry, atomically (util::DiskCache::put);
  /// creates the directory when it is missing. Throws std::invalid_argument when `ms` is not
  /// positive and finite, and fibkit::Error when the entry cannot be written (any previous entry
  /// then stays).
  void put(const LatencyKey& key, double ms) const;

private:
  std::filesystem::path m_dir;
};

} // namespace fibkit::core
