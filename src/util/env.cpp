#include "fibkit/util/env.hpp"

#include <algorithm>
#include <cstdlib>
#include <unistd.h>

namespace fs = std::filesystem;

namespace fibkit::util {

std::string env_var(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

fs::path find_on_path(std::string_view program) {
  const std::string all = env_var("PATH");
  for (std::size_t start = 0; start < all.size();) {
    const std::size_t end = std::min(all.find(':', start), all.size());
    if (end > start) {
      const fs::path candidate = fs::path(all.substr(start, end - start)) / program;
      if (::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    start = end + 1;
  }
  return {};
}

} // namespace fibkit::util
