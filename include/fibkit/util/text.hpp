// Small text utilities shared by the layers.
#pragma once

#include <cstddef>
#include <string_view>

namespace fibkit::util {

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// adjacent characters each count as one edit. For "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

} // namespace fibkit::util
