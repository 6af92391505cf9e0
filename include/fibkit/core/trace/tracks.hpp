// The contest tracks and their definitions (MLSys 2026 FlashInfer-Bench kernel contest).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fibkit::core {

struct Track {
  std::string_view name;                     ///< e.g. "fused_moe"; also the kernels/ folder name
  std::vector<std::string_view> definitions; ///< contest definitions of the track
};

/// The three contest tracks.
const std::vector<Track>& contest_tracks();
/// The track named `name`, or nullptr.
const Track* find_track(std::string_view name);
/// The track that holds definition `definition`, or nullptr.
const Track* track_of_definition(std::string_view definition);
/// "fused_moe, sparse_attention, gated_delta_net".
std::string track_names();

} // namespace fibkit::core
