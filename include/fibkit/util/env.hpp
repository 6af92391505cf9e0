// The process environment: variables and the PATH.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace fibkit::util {

/// The value of environment variable `name`, or "" when it is unset.
std::string env_var(const char* name);

/// The first executable `program` in the folders of $PATH; empty when there is none.
std::filesystem::path find_on_path(std::string_view program);

} // namespace fibkit::util
