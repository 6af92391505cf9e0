// Fixtures shared by the unit tests: an environment variable set for one scope, a temporary
// directory and the message of a fibkit::Error.
#pragma once

#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace fibkit::testing {

/// Sets an environment variable (or unsets it for nullopt) until the end of the scope.
class EnvGuard {
public:
  EnvGuard(const char* name, const std::optional<std::string>& value) : m_name(name) {
    if (const char* old = ::getenv(name)) {
      m_old = old;
    }
    set(value);
  }
  ~EnvGuard() { set(m_old); }
  EnvGuard(const EnvGuard&) = delete;
  EnvGuard& operator=(const EnvGuard&) = delete;

private:
  void set(const std::optional<std::string>& value) {
    if (value) {
      ::setenv(m_name, value->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }
  const char* m_name;
  std::optional<std::string> m_old;
};

/// A fresh temporary directory, removed with everything in it when the object goes away.
class TempDir {
public:
  /// Creates the directory (mkdtemp below the system's temporary directory).
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "fibkit-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    m_path = pattern;
  }
  /// Removes the directory and its contents, ignoring errors.
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory's absolute path.
  const std::filesystem::path& path() const { return m_path; }

  /// Writes `content` to `rel` below the directory, creating its parents; returns the full path.
  std::filesystem::path write(const std::filesystem::path& rel, std::string_view content) const {
    const std::filesystem::path file = m_path / rel;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    INFO("writing " << file.string());
    REQUIRE(out.good());
    return file;
  }

private:
  std::filesystem::path m_path;
};

/// The message of the fibkit::Error that `fn` throws, or "no error".
template <typename Fn> std::string error_of(Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace fibkit::testing
