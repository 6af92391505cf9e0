#include "fibkit/core/eval/latency_cache.hpp"

#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <stdexcept>

namespace fs = std::filesystem;

namespace fibkit::core {

namespace {

/// The version of the payload format; part of the key, so a new format never reads old entries.
/// (Format 1 was a JSON file per key in a "latency" folder beside the disk cache's entries.)
constexpr std::int64_t k_format = 2;

/// The key fields with their JSON names, in file order.
struct Field {
  const char* name;
  std::string LatencyKey::*member;
};
constexpr Field k_fields[] = {
    {"definition", &LatencyKey::definition},
    {"workload", &LatencyKey::workload},
    {"gpu", &LatencyKey::gpu},
    {"mode", &LatencyKey::mode},
    {"counts", &LatencyKey::counts},
    {"reference_hash", &LatencyKey::reference_hash},
};

bool valid_latency(double ms) {
  return std::isfinite(ms) && ms > 0.0;
}

} // namespace

bool LatencyKey::operator==(const LatencyKey& other) const {
  for (const Field& f : k_fields) {
    if (this->*f.member != other.*f.member) {
      return false;
    }
  }
  return true;
}

fs::path LatencyCache::default_dir() {
  return util::DiskCache::writable_dir();
}

std::string LatencyCache::entry_key(const LatencyKey& key) {
  util::Hasher hasher;
  hasher.update(fmt::format("fibkit-latency-v{}", k_format));
  for (const Field& f : k_fields) {
    hasher.update(key.*f.member);
  }
  return hasher.hex_digest();
}

fs::path LatencyCache::entry_path(const LatencyKey& key) const {
  return util::DiskCache::entry_path(m_dir, entry_key(key));
}

std::optional<double> LatencyCache::get(const LatencyKey& key) const {
  std::error_code ec;
  if (!fs::is_directory(m_dir, ec)) {
    return std::nullopt; // nothing stored yet; get() creates nothing
  }
  try {
    const std::string entry = entry_key(key);
    const std::optional<std::string> text = util::DiskCache(m_dir, 0).get(entry);
    if (!text) {
      return std::nullopt;
    }
    util::JsonParser parser;
    const util::JsonValue root = util::parse_json(
        parser, *text, util::JsonOrigin{util::DiskCache::entry_path(m_dir, entry).string()});
    if (root.at("format").as_int() != k_format) {
      return std::nullopt;
    }
    LatencyKey stored;
    for (const Field& f : k_fields) {
      stored.*f.member = root.at(f.name).as_string();
    }
    const double ms = root.at("latency_ms").as_double();
    if (stored != key || !valid_latency(ms)) {
      return std::nullopt;
    }
    return ms;
  } catch (const std::exception&) {
    return std::nullopt; // unreadable or corrupt: a miss, and the next put() replaces it
  }
}

void LatencyCache::put(const LatencyKey& key, double ms) const {
  if (!valid_latency(ms)) {
    throw std::invalid_argument(fmt::format("latency cache: invalid latency {} ms", ms));
  }
  util::JsonWriter out(2);
  out.begin_object().key("format").value(k_format);
  for (const Field& f : k_fields) {
    out.key(f.name).value(key.*f.member);
  }
  out.key("latency_ms").value(ms).end_object();
  util::DiskCache(m_dir).put(entry_key(key), out.str() + "\n");
}

} // namespace fibkit::core
