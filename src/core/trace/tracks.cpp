#include "fibkit/core/trace/tracks.hpp"

namespace fibkit::core {

const std::vector<Track>& contest_tracks() {
  static const std::vector<Track> tracks{
      {"fused_moe", {"moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048"}},
      {"sparse_attention",
       {"dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64",
        "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64"}},
      {"gated_delta_net", {"gdn_decode_qk4_v8_d128_k_last", "gdn_prefill_qk4_v8_d128_k_last"}},
  };
  return tracks;
}

const Track* find_track(std::string_view name) {
  for (const Track& t : contest_tracks()) {
    if (t.name == name) {
      return &t;
    }
  }
  return nullptr;
}

const Track* track_of_definition(std::string_view definition) {
  for (const Track& t : contest_tracks()) {
    for (std::string_view d : t.definitions) {
      if (d == definition) {
        return &t;
      }
    }
  }
  return nullptr;
}

std::string track_names() {
  std::string out;
  for (const Track& t : contest_tracks()) {
    out += out.empty() ? "" : ", ";
    out += t.name;
  }
  return out;
}

} // namespace fibkit::core
