#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pwd.h>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace fibkit::util;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using fibkit::testing::EnvGuard;
using fibkit::testing::TempDir;

namespace {

/// The cache key of one string.
std::string key_of(const std::string& text) {
  return Hasher().update(text).hex_digest();
}

/// A deterministic payload of `size` bytes (all byte values, NULs included) for `seed`.
std::string payload_of(const std::string& seed, std::size_t size) {
  std::string out = seed + ":";
  std::uint32_t x = 2166136261u;
  for (char c : seed) {
    x = (x ^ static_cast<unsigned char>(c)) * 16777619u;
  }
  while (out.size() < size) {
    x = x * 1664525u + 1013904223u;
    out += static_cast<char>(x >> 24);
  }
  out.resize(size);
  return out;
}

std::string read_bytes(const fs::path& path) {
  return read_file(path);
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

/// The names of the files below `dir`, relative to it, sorted.
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

} // namespace

TEST_CASE("Hasher: deterministic 32-hex digests", "[util][cache]") {
  const std::string a = Hasher().update("nvrtc").update("-O3").hex_digest();
  CHECK(a == Hasher().update("nvrtc").update("-O3").hex_digest());
  CHECK(a.size() == 32);
  CHECK(std::all_of(a.begin(), a.end(),
                    [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }));
  CHECK(a != Hasher().update("nvrtc").update("-O2").hex_digest());
  CHECK(a != Hasher().update("-O3").update("nvrtc").hex_digest());

  // hex_digest() does not reset, and a copy continues independently from the same prefix.
  Hasher h;
  h.update("prefix");
  Hasher copy = h;
  CHECK(h.hex_digest() == copy.hex_digest());
  h.update("x");
  copy.update("y");
  CHECK(h.hex_digest() == Hasher().update("prefix").update("x").hex_digest());
  CHECK(copy.hex_digest() == Hasher().update("prefix").update("y").hex_digest());
  Hasher moved = std::move(copy);
  CHECK(moved.hex_digest() == Hasher().update("prefix").update("y").hex_digest());
}

TEST_CASE("Hasher: each piece is prefixed by its length", "[util][cache]") {
  CHECK(Hasher().update("ab").update("c").hex_digest() !=
        Hasher().update("a").update("bc").hex_digest());
  CHECK(Hasher().update("abc").hex_digest() != Hasher().update("ab").update("c").hex_digest());
  CHECK(Hasher().hex_digest() != Hasher().update("").hex_digest());
  CHECK(Hasher().update("").hex_digest() != Hasher().update("").update("").hex_digest());
  const std::string with_nul("a\0b", 3);
  CHECK(Hasher().update(with_nul).hex_digest() != Hasher().update("a").hex_digest());
}

TEST_CASE("DiskCache::default_dir: FIB_CACHE_PATH, then XDG_CACHE_HOME, then HOME",
          "[util][cache]") {
  const EnvGuard fib("FIB_CACHE_PATH", "/tmp/fib-cache");
  const EnvGuard xdg("XDG_CACHE_HOME", "/tmp/xdg");
  const EnvGuard home("HOME", "/tmp/home");
  CHECK(DiskCache::default_dir() == fs::path("/tmp/fib-cache"));
  CHECK(DiskCache::default_dir_choice().from == "$FIB_CACHE_PATH");

  ::setenv("FIB_CACHE_PATH", "", 1); // empty counts as unset
  CHECK(DiskCache::default_dir() == fs::path("/tmp/xdg/fibkit"));
  CHECK(DiskCache::default_dir_choice().from == "$XDG_CACHE_HOME/fibkit");

  ::unsetenv("FIB_CACHE_PATH");
  ::setenv("XDG_CACHE_HOME", "relative/xdg", 1); // the XDG spec: ignore relative paths
  CHECK(DiskCache::default_dir() == fs::path("/tmp/home/.cache/fibkit"));
  CHECK(DiskCache::default_dir_choice().from == "$HOME/.cache/fibkit");

  ::unsetenv("XDG_CACHE_HOME");
  CHECK(DiskCache::default_dir() == fs::path("/tmp/home/.cache/fibkit"));

  ::unsetenv("HOME"); // falls back to the password database
  const struct passwd* pw = ::getpwuid(::getuid());
  if (pw != nullptr && pw->pw_dir != nullptr && pw->pw_dir[0] != '\0') {
    CHECK(DiskCache::default_dir() == fs::path(pw->pw_dir) / ".cache" / "fibkit");
  } else {
    CHECK_THROWS_WITH(DiskCache::default_dir(), Contains("FIB_CACHE_PATH"));
  }
}

TEST_CASE("DiskCache: put then get returns the payload", "[util][cache]") {
  TempDir dir;
  const fs::path root = dir.path() / "nested" / "cache";
  DiskCache cache(root, 0);
  CHECK(cache.root() == root);
  CHECK_THAT(read_bytes(root / "CACHEDIR.TAG"),
             StartsWith("Signature: 8a477f597d28d172789f06886806bc55"));
  CHECK(cache.entry_count() == 0);
  CHECK(cache.size_bytes() == 0);

  const std::string binary = payload_of("cubin", 100000); // NULs and all byte values
  const std::string key = key_of("kernel-1");
  cache.put(key, binary);
  CHECK(cache.get(key) == binary);
  CHECK(cache.entry_path(key) == root / key.substr(0, 2) / (key + ".bin"));
  CHECK(fs::file_size(cache.entry_path(key)) == binary.size() + DiskCache::kHeaderSize);

  const std::string empty_key = key_of("empty");
  cache.put(empty_key, "");
  CHECK(cache.get(empty_key) == std::string());

  // Another object on the same directory sees the same entries.
  const DiskCache again(root, 0);
  CHECK(again.get(key) == binary);
  CHECK(again.entry_count() == 2);
  CHECK(again.size_bytes() == binary.size() + 2 * DiskCache::kHeaderSize);
  const DiskCache::Stats stats = again.stats();
  CHECK(stats.entries == 2);
  CHECK(stats.bytes == again.size_bytes());
  // No lock or temporary files remain after a put.
  std::vector<std::string> expected{
      ".evict.lock",          "CACHEDIR.TAG",
      key.substr(0, 2),       key.substr(0, 2) + "/" + key + ".bin",
      empty_key.substr(0, 2), empty_key.substr(0, 2) + "/" + empty_key + ".bin"};
  std::sort(expected.begin(), expected.end());
  CHECK(tree(root) == expected);
}

TEST_CASE("DiskCache: a missing entry is a miss; keys are validated", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 0);
  CHECK_FALSE(cache.get(key_of("absent")).has_value());
  CHECK(cache.entry_count() == 0);
  CHECK(DiskCache::is_valid_key(key_of("x")));
  CHECK_FALSE(DiskCache::is_valid_key("0123456789abcdef0123456789ABCDEF"));
  CHECK_FALSE(DiskCache::is_valid_key("0123456789abcdef"));
  CHECK_FALSE(DiskCache::is_valid_key("../../../../../../../../etc/pass"));
  CHECK_THROWS_AS(cache.get("../x"), std::invalid_argument);
  CHECK_THROWS_AS(cache.put("0123456789abcdef0123456789abcdeg", "p"), std::invalid_argument);
}

TEST_CASE("DiskCache: put replaces an existing entry", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 0);
  const std::string key = key_of("k");
  cache.put(key, "first version");
  cache.put(key, "second, longer version");
  CHECK(cache.get(key) == "second, longer version");
  cache.put(key, "3");
  CHECK(cache.get(key) == "3");
  CHECK(cache.entry_count() == 1);
  CHECK(cache.size_bytes() == 1 + DiskCache::kHeaderSize);
}

TEST_CASE("DiskCache: a truncated or corrupt entry is a miss and is deleted", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 0);
  const std::string key = key_of("victim");
  const std::string payload = payload_of("victim", 5000);
  cache.put(key, payload);
  const fs::path path = cache.entry_path(key);
  std::string bytes = read_bytes(path);
  REQUIRE(bytes.size() == payload.size() + DiskCache::kHeaderSize);

  SECTION("truncated in the payload") {
    bytes.resize(bytes.size() / 2);
  }
  SECTION("truncated in the header") {
    bytes.resize(10);
  }
  SECTION("empty") {
    bytes.clear();
  }
  SECTION("a payload byte flipped") {
    bytes[DiskCache::kHeaderSize + 1234] ^= 0x01;
  }
  SECTION("the last byte flipped") {
    bytes.back() ^= static_cast<char>(0x80);
  }
  SECTION("the magic flipped") {
    bytes[0] ^= 0x20;
  }
  SECTION("the checksum flipped") {
    bytes[24] ^= 0x01;
  }
  SECTION("the format version changed") {
    bytes[8] = 99;
  }
  SECTION("a byte appended") {
    bytes += 'x';
  }
  SECTION("another key's entry") {
    const std::string other = key_of("other");
    cache.put(other, payload);
    bytes = read_bytes(cache.entry_path(other));
  }
  write_bytes(path, bytes);

  CHECK_FALSE(cache.get(key).has_value());
  CHECK_FALSE(fs::exists(path));
  CHECK_FALSE(fs::exists(path.parent_path() / (key + ".lock")));
  cache.put(key, payload); // and the key can be written again
  CHECK(cache.get(key) == payload);
}

TEST_CASE("DiskCache: a killed writer's leftovers are ignored and cleaned", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 0);
  const std::string key = key_of("interrupted");
  const fs::path shard = dir.path() / key.substr(0, 2);
  fs::create_directories(shard);
  // A writer killed mid-way leaves its temporary file and its (no longer locked) lock file.
  const fs::path fresh_tmp = shard / (key + ".tmp.AbC123");
  const fs::path stale_tmp = shard / (key + ".tmp.ZyX987");
  write_bytes(fresh_tmp, payload_of("partial", 100));
  write_bytes(stale_tmp, payload_of("partial", 200));
  write_bytes(shard / (key + ".lock"), "");
  fs::last_write_time(stale_tmp, fs::file_time_type::clock::now() - std::chrono::hours(2));

  CHECK(cache.entry_count() == 0);
  CHECK(cache.size_bytes() == 0);
  CHECK_FALSE(cache.get(key).has_value());

  // The stale lock file does not block the next writer; the eviction pass after put()
  // removes temporary files older than an hour but leaves recent ones (maybe still written).
  cache.put(key, "complete");
  CHECK(cache.get(key) == "complete");
  CHECK(cache.entry_count() == 1);
  CHECK_FALSE(fs::exists(stale_tmp));
  CHECK(fs::exists(fresh_tmp));
  CHECK_FALSE(fs::exists(shard / (key + ".lock")));

  write_bytes(shard / (key + ".lock"), "");
  cache.clear();
  CHECK(tree(dir.path()) == std::vector<std::string>{".evict.lock", "CACHEDIR.TAG"});
}

TEST_CASE("DiskCache: evicts the least recently used entries beyond max_bytes", "[util][cache]") {
  TempDir dir;
  constexpr std::size_t kPayload = 1000;
  constexpr std::uint64_t kEntry = kPayload + DiskCache::kHeaderSize;
  DiskCache cache(dir.path(), 3 * kEntry);
  const auto now = fs::file_time_type::clock::now();
  const auto set_age = [&](const std::string& name, int seconds) {
    fs::last_write_time(cache.entry_path(key_of(name)), now - std::chrono::seconds(seconds));
  };
  const auto present = [&](const std::string& name) {
    return fs::exists(cache.entry_path(key_of(name)));
  };

  for (const char* name : {"a", "b", "c"}) {
    cache.put(key_of(name), payload_of(name, kPayload));
  }
  CHECK(cache.entry_count() == 3);
  set_age("a", 300);
  set_age("b", 100);
  set_age("c", 200);

  cache.put(key_of("d"), payload_of("d", kPayload)); // evicts the oldest: a
  CHECK_FALSE(present("a"));
  CHECK(present("b"));
  CHECK(present("c"));
  CHECK(present("d"));
  CHECK(cache.size_bytes() == 3 * kEntry);

  CHECK(cache.get(key_of("c")) == payload_of("c", kPayload)); // c becomes the newest
  cache.put(key_of("e"), payload_of("e", kPayload));          // evicts b, now the oldest
  CHECK_FALSE(present("b"));
  CHECK(present("c"));
  CHECK(present("d"));
  CHECK(present("e"));

  // A larger entry evicts as many as needed.
  set_age("c", 30);
  set_age("d", 20);
  set_age("e", 10);
  cache.put(key_of("big"), payload_of("big", 2 * kPayload));
  CHECK_FALSE(present("c"));
  CHECK_FALSE(present("d"));
  CHECK(present("e"));
  CHECK(present("big"));
  CHECK(cache.size_bytes() == kEntry + 2 * kPayload + DiskCache::kHeaderSize);
  CHECK(cache.size_bytes() <= cache.max_bytes());
}

TEST_CASE("DiskCache: the entry just written is never evicted", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 500);
  cache.put(key_of("small"), "s");
  // Even when it alone exceeds the limit, and even when its mtime is the oldest.
  fs::last_write_time(cache.entry_path(key_of("small")),
                      fs::file_time_type::clock::now() + std::chrono::hours(1));
  const std::string huge = payload_of("huge", 4000);
  cache.put(key_of("huge"), huge);
  CHECK(cache.get(key_of("huge")) == huge);
  CHECK_FALSE(cache.get(key_of("small")).has_value());
  CHECK(cache.entry_count() == 1);
}

TEST_CASE("DiskCache: concurrent processes writing the same and different keys", "[util][cache]") {
  TempDir dir;
  constexpr int kProcesses = 6;
  constexpr int kRounds = 25;
  const std::string shared = key_of("shared");
  const auto own_name = [](int p, int r) {
    return "p" + std::to_string(p) + "r" + std::to_string(r);
  };
  const auto shared_payload = [](int p, int r) {
    return payload_of("shared" + std::to_string(p) + "." + std::to_string(r),
                      20000 + 997 * static_cast<std::size_t>(p * kRounds + r));
  };
  // Every payload of the shared key that some process wrote.
  std::vector<std::string> valid_shared;
  for (int p = 0; p < kProcesses; ++p) {
    for (int r = 0; r < kRounds; ++r) {
      valid_shared.push_back(shared_payload(p, r));
    }
  }
  const auto is_valid_shared = [&](const std::optional<std::string>& got) {
    return got && std::find(valid_shared.begin(), valid_shared.end(), *got) != valid_shared.end();
  };

  std::uint64_t max_bytes = 0;
  SECTION("without a size limit") {
    max_bytes = 0;
  }
  SECTION("with eviction running concurrently") {
    max_bytes = 200000;
  }
  const DiskCache setup(dir.path(), max_bytes); // creates the directory before the race

  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int status = 0;
      try {
        const DiskCache cache(dir.path(), max_bytes);
        for (int r = 0; r < kRounds; ++r) {
          cache.put(shared, shared_payload(p, r));
          cache.put(key_of(own_name(p, r)), payload_of(own_name(p, r), 3000 + 37 * r));
          const std::optional<std::string> got = cache.get(shared);
          // Without a limit the shared entry is always there; with one, another
          // process may just have evicted it.
          if (max_bytes == 0 ? !is_valid_shared(got) : (got && !is_valid_shared(got))) {
            status = 2;
          }
        }
      } catch (...) {
        status = 3;
      }
      ::_exit(status);
    }
    children.push_back(pid);
  }
  for (const pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  const DiskCache cache(dir.path(), max_bytes);
  if (max_bytes == 0) {
    CHECK(cache.entry_count() == 1 + kProcesses * kRounds);
    CHECK(is_valid_shared(cache.get(shared)));
  } else {
    CHECK(cache.size_bytes() <= max_bytes);
    const std::optional<std::string> got = cache.get(shared);
    CHECK((!got || is_valid_shared(got)));
  }
  for (int p = 0; p < kProcesses; ++p) {
    for (int r = 0; r < kRounds; ++r) {
      const std::optional<std::string> got = cache.get(key_of(own_name(p, r)));
      if (max_bytes == 0 || got) {
        REQUIRE(got == payload_of(own_name(p, r), 3000 + 37 * r));
      }
    }
  }
  // Only entries remain: no temporary or lock files.
  for (const std::string& name : tree(dir.path())) {
    CHECK((name.size() == 2 || name.size() == 2 + 1 + 32 + 4 || name == "CACHEDIR.TAG" ||
           name == ".evict.lock"));
  }
}

TEST_CASE("DiskCache: concurrent threads with their own DiskCache objects", "[util][cache]") {
  TempDir dir;
  constexpr int kThreads = 4;
  constexpr int kRounds = 30;
  const std::string shared = key_of("shared");
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        const DiskCache cache(dir.path(), 0);
        for (int r = 0; r < kRounds; ++r) {
          const std::string own = "t" + std::to_string(t) + "r" + std::to_string(r);
          cache.put(shared, payload_of("shared", 50000)); // same bytes from every thread
          cache.put(key_of(own), payload_of(own, 1000 + r));
          if (cache.get(shared) != payload_of("shared", 50000)) {
            ++failures[t];
          }
        }
      } catch (...) {
        ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  CHECK(failures == std::vector<int>(kThreads, 0));
  const DiskCache cache(dir.path(), 0);
  CHECK(cache.entry_count() == 1 + kThreads * kRounds);
  for (int t = 0; t < kThreads; ++t) {
    for (int r = 0; r < kRounds; ++r) {
      const std::string own = "t" + std::to_string(t) + "r" + std::to_string(r);
      CHECK(cache.get(key_of(own)) == payload_of(own, 1000 + r));
    }
  }
}

TEST_CASE("DiskCache: clear removes the entries and keeps CACHEDIR.TAG", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 0);
  for (int i = 0; i < 20; ++i) {
    cache.put(key_of(std::to_string(i)), payload_of(std::to_string(i), 100));
  }
  write_bytes(dir.path() / "user-notes.txt", "not the cache's"); // foreign files are left alone
  CHECK(cache.entry_count() == 20);
  cache.clear();
  CHECK(cache.entry_count() == 0);
  CHECK(cache.size_bytes() == 0);
  CHECK(tree(dir.path()) ==
        std::vector<std::string>{".evict.lock", "CACHEDIR.TAG", "user-notes.txt"});
  cache.clear(); // idempotent
  cache.put(key_of("after"), "still works");
  CHECK(cache.get(key_of("after")) == "still works");
}

TEST_CASE("DiskCache: errors name the path", "[util][cache]") {
  TempDir dir;
  write_bytes(dir.path() / "file", "a regular file");
  CHECK_THROWS_WITH(DiskCache(dir.path() / "file" / "cache", 0),
                    Contains((dir.path() / "file" / "cache").string()));
  CHECK_THROWS_AS(DiskCache(dir.path() / "file", 0), fibkit::Error);

  if (::geteuid() != 0) { // root ignores permissions
    DiskCache cache(dir.path() / "ro", 0);
    fs::permissions(dir.path() / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    CHECK_THROWS_WITH(cache.put(key_of("x"), "payload"), Contains((dir.path() / "ro").string()));
    CHECK_FALSE(cache.get(key_of("x")).has_value());
    fs::permissions(dir.path() / "ro", fs::perms::owner_all);
  }
}

TEST_CASE("DiskCache: a folder with other files and no tag is refused, not tagged",
          "[util][cache]") {
  TempDir dir;
  write_bytes(dir.path() / "notes.txt", "mine");
  CHECK_THROWS_WITH(DiskCache(dir.path(), 0), Contains("not a fibkit cache") &&
                                                  Contains("notes.txt") &&
                                                  Contains("FIB_CACHE_PATH"));
  CHECK(!fs::exists(dir.path() / "CACHEDIR.TAG"));
  // A cache of fibkit's (tag present) keeps working with foreign files beside its entries.
  TempDir ours;
  { DiskCache cache(ours.path(), 0); }
  write_bytes(ours.path() / "notes.txt", "mine");
  CHECK_NOTHROW(DiskCache(ours.path(), 0));
}

TEST_CASE("DiskCache: clear returns what it removed", "[util][cache]") {
  TempDir dir;
  DiskCache cache(dir.path(), 0);
  cache.put(key_of("a"), payload_of("a", 100));
  cache.put(key_of("b"), payload_of("b", 200));
  const DiskCache::Stats before = cache.stats();
  const DiskCache::Stats removed = cache.clear();
  CHECK(removed.entries == 2);
  CHECK(removed.bytes == before.bytes);
  CHECK(cache.clear().entries == 0);
}
