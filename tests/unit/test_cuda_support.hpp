// Helpers shared by the tests of the cuda layer.
#pragma once

#include "fibkit/cuda/signature.hpp"

#include <string>
#include <vector>

namespace fibkit::testing {

/// The `text` of every parameter, in order.
inline std::vector<std::string> texts(const std::vector<cuda::ParamType>& params) {
  std::vector<std::string> out;
  for (const cuda::ParamType& p : params) {
    out.push_back(p.text);
  }
  return out;
}

/// The by-value `size` of every parameter, in order.
inline std::vector<std::size_t> sizes(const std::vector<cuda::ParamType>& params) {
  std::vector<std::size_t> out;
  for (const cuda::ParamType& p : params) {
    out.push_back(p.size);
  }
  return out;
}

} // namespace fibkit::testing
