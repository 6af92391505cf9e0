// Tests for util::write_output (include/fibkit/util/file.hpp): `-o TARGET` writes through
// symbolic links, character devices and FIFOs instead of replacing them, atomically for regular
// files, and reports failed writes.
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;
using fibkit::util::read_file;
using fibkit::util::write_output;

TEST_CASE("write_output writes a new file and replaces a regular one") {
  const TempDir dir;
  const fs::path file = dir.path() / "sub" / "out.json";
  write_output(file.string(), "one");
  CHECK(read_file(file) == "one");
  write_output(file.string(), "two");
  CHECK(read_file(file) == "two");
}

TEST_CASE("write_output writes through a symbolic link and keeps it") {
  const TempDir dir;
  const fs::path target = dir.write("real.json", "old");
  const fs::path link = dir.path() / "link.json";
  fs::create_symlink("real.json", link); // relative, resolved against the link's directory
  write_output(link.string(), "new");
  CHECK(fs::is_symlink(fs::symlink_status(link)));
  CHECK(read_file(target) == "new");
}

TEST_CASE("write_output creates the missing target of a dangling symbolic link") {
  const TempDir dir;
  const fs::path link = dir.path() / "link.json";
  fs::create_symlink(dir.path() / "later.json", link);
  write_output(link.string(), "made");
  CHECK(fs::is_symlink(fs::symlink_status(link)));
  CHECK(read_file(dir.path() / "later.json") == "made");
}

TEST_CASE("write_output writes into a character device without replacing it") {
  write_output("/dev/null", "discarded");
  struct stat st {};
  REQUIRE(::lstat("/dev/null", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
}

TEST_CASE("write_output reports a failed write to a device") {
  if (!fs::exists("/dev/full")) {
    WARN("no /dev/full: not checked");
    return;
  }
  CHECK(error_of([] { write_output("/dev/full", "x"); }).find("/dev/full: write failed") !=
        std::string::npos);
  struct stat st {};
  REQUIRE(::lstat("/dev/full", &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
}

TEST_CASE("write_output writes into a FIFO") {
  const TempDir dir;
  const fs::path fifo = dir.path() / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::string received;
  std::thread reader([&] { received = read_file(fifo); });
  write_output(fifo.string(), "through the pipe");
  reader.join();
  CHECK(received == "through the pipe");
  struct stat st {};
  REQUIRE(::lstat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));
}

TEST_CASE("write_output refuses a directory") {
  const TempDir dir;
  CHECK(error_of([&] { write_output(dir.path().string(), "x"); }).find("is a directory") !=
        std::string::npos);
}
