// Errors and exit codes shared by every layer.
#pragma once

#include <stdexcept>
#include <string>

namespace fibkit {

/// Process exit codes (documented in README and `fibkit --help`).
enum class ExitCode : int {
  ok = 0,        ///< success
  failed = 1,    ///< checks failed, or the input was invalid
  usage = 2,     ///< bad command line
  internal = 3,  ///< an unexpected internal error
  no_device = 4, ///< the command needs a GPU / CUDA driver and none is usable
  interrupted = 130,
};

/// An error the user can act on: bad input, a failed validation, a missing file.
/// The message already says where (`file:line: $.json.path: what`). Exit code 1.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// A bad command line (exit code 2).
class UsageError : public Error {
public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

/// The command needs a CUDA device or driver and none is usable (exit code 4).
class NoDeviceError : public Error {
public:
  explicit NoDeviceError(const std::string& message) : Error(message) {}
};

} // namespace fibkit
