#include "fibkit/core/eval/cost_model.hpp"

#include "fibkit/core/eval/traits.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <unordered_set>

namespace fibkit::core {

namespace {

// Every formula below is from the "Cost model" paragraph of the contest notes
// (contest-dataset.md §1-§5); the byte counts use the definitions' dtypes (fp8 and int8 1 B,
// bf16 2 B, float32 and int32 4 B, int64 8 B).

const std::string k_moe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";
const std::string k_dsa = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64";
const std::string k_indexer = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64";
const std::string k_gdn_decode = "gdn_decode_qk4_v8_d128_k_last";
const std::string k_gdn_prefill = "gdn_prefill_qk4_v8_d128_k_last";

/// The value of axis `name`: the definition's const value, else the caller's var value.
std::int64_t axis_value(const Definition& definition,
                        const std::map<std::string, std::int64_t>& axes, std::string_view name) {
  if (const Axis* axis = definition.find_axis(name); axis != nullptr && axis->is_const) {
    return axis->value;
  }
  if (const auto it = axes.find(std::string(name)); it != axes.end()) {
    return it->second;
  }
  throw Error(fmt::format("definition \"{}\": the cost model needs a value for axis \"{}\"",
                          definition.name, name));
}

/// Input `name` of the trial, checked: the integer-ness of the definition's dtype (scalars may
/// arrive widened, e.g. an int32 scalar as int64), the byte count and the concrete shape.
const HostTensor& read_input(const Definition& definition,
                             const std::map<std::string, std::int64_t>& axes,
                             const std::vector<HostTensor>& inputs, std::string_view name) {
  for (std::size_t i = 0; i < definition.inputs.size(); ++i) {
    const TensorSpec& spec = definition.inputs[i];
    if (spec.name != name) {
      continue;
    }
    const HostTensor& tensor = inputs.at(i);
    if (dtype_is_integer(tensor.dtype) != dtype_is_integer(spec.dtype)) {
      throw Error(fmt::format("{}: input \"{}\" is {}, the definition says {}", definition.name,
                              name, dtype_name(tensor.dtype), dtype_name(spec.dtype)));
    }
    check_host_tensor(tensor, dtype_size(tensor.dtype));
    if (tensor.shape != definition.concrete_shape(spec, axes)) {
      throw Error(fmt::format("{}: input \"{}\" does not have the shape of the workload's axes",
                              definition.name, name));
    }
    return tensor;
  }
  throw Error(fmt::format("{}: the cost model needs an input \"{}\"", definition.name, name));
}

/// The order of torch.topk(largest=True): NaN above everything, then larger values; equal
/// values go to the lower index (torch leaves that unspecified).
bool ranks_before(float a, std::int64_t a_index, float b, std::int64_t b_index) {
  const bool a_nan = std::isnan(a);
  const bool b_nan = std::isnan(b);
  if (a_nan != b_nan) {
    return a_nan;
  }
  if (!a_nan && a != b) {
    return a > b;
  }
  return a_index < b_index;
}

std::string count_text(double value) {
  return value == std::floor(value) ? fmt::format("{:.0f}", value) : fmt::format("{:.1f}", value);
}

// --- §1 MoE ---------------------------------------------------------------------------------

Cost moe_cost(const Definition& def, const std::map<std::string, std::int64_t>& axes,
              const std::vector<HostTensor>& inputs) {
  const double tokens = static_cast<double>(axis_value(def, axes, "seq_len"));
  const std::int64_t experts = axis_value(def, axes, "num_experts");
  const std::int64_t local = axis_value(def, axes, "num_local_experts");
  const double hidden = static_cast<double>(axis_value(def, axes, "hidden_size"));
  const double inter = static_cast<double>(axis_value(def, axes, "intermediate_size"));
  const double hidden_blocks = static_cast<double>(axis_value(def, axes, "num_hidden_blocks"));
  const double inter_blocks = static_cast<double>(axis_value(def, axes, "num_intermediate_blocks"));
  const double gemm1_blocks = static_cast<double>(axis_value(def, axes, "num_gemm1_out_blocks"));
  // The routing constants are in the name: topk8, ng8 (groups), kg4 (kept groups).
  constexpr int k_top_k = 8;
  constexpr int k_groups = 8;
  constexpr int k_kept_groups = 4;

  // P = Σ_t selected experts of t in the local group; E_act = local experts with a token.
  double pairs = 0.0;
  double active = 0.0;
  std::string basis;
  if (inputs.empty()) {
    // Near-uniform routing: each token picks top_k of num_experts, so a given expert with
    // probability top_k/E (1/32): E[P] = T·top_k·E_local/E (= T) and
    // E[E_act] = E_local·(1 - (1 - top_k/E)^T) (contest-dataset.md §1; performance-anchors.md B1).
    const double hit = static_cast<double>(k_top_k) / static_cast<double>(experts);
    pairs = tokens * hit * static_cast<double>(local);
    active = static_cast<double>(local) * (1.0 - std::pow(1.0 - hit, tokens));
    basis = fmt::format("uniform routing (no inputs): E[P]={} selected experts, E[E_act]={} active",
                        count_text(pairs), count_text(active));
  } else {
    const HostTensor& logits = read_input(def, axes, inputs, "routing_logits");
    const HostTensor& bias = read_input(def, axes, inputs, "routing_bias");
    const HostTensor& offset = read_input(def, axes, inputs, "local_expert_offset");
    const MoeRouting routing =
        route_moe(logits, bias, offset.int_at(0), local, k_groups, k_kept_groups, k_top_k);
    pairs = static_cast<double>(routing.pairs);
    active = static_cast<double>(routing.active_experts);
    basis = fmt::format("P={} selected experts, {} active", routing.pairs, routing.active_experts);
  }

  // FLOPs = 2·P·H·2I (GEMM1) + 2·P·I·H (GEMM2) = 6·P·H·I = 88,080,384·P; SwiGLU and routing
  // are negligible and not counted.
  const double flops = 6.0 * pairs * hidden * inter;
  // Bytes = 44,050,944·E_act + 22,752·T + 512:
  //   per active expert: fp8 W13 [2I, H] + W2 [H, I] = 44,040,192 B, and their float32 block
  //   scales [2I/128, H/128] + [H/128, I/128] = 10,752 B;
  //   per token: fp8 hidden H + float32 scales H/128 + float32 logits E + bf16 output H;
  //   once: the bf16 routing bias [E].
  const double expert_bytes =
      3.0 * hidden * inter + 4.0 * (gemm1_blocks * hidden_blocks + hidden_blocks * inter_blocks);
  const double token_bytes =
      hidden + 4.0 * hidden_blocks + 4.0 * static_cast<double>(experts) + 2.0 * hidden;
  const double bytes = expert_bytes * active + token_bytes * tokens + 2.0 * experts;
  return Cost{flops, bytes, basis};
}

// --- §2 DSA sparse attention -----------------------------------------------------------------

Cost dsa_cost(const Definition& def, const std::map<std::string, std::int64_t>& axes,
              const std::vector<HostTensor>& inputs) {
  const std::int64_t tokens = axis_value(def, axes, "num_tokens");
  const double heads = static_cast<double>(axis_value(def, axes, "num_qo_heads"));
  const double ckv = static_cast<double>(axis_value(def, axes, "head_dim_ckv"));
  const double kpe = static_cast<double>(axis_value(def, axes, "head_dim_kpe"));
  const std::int64_t topk = axis_value(def, axes, "topk");
  const std::int64_t rows = axis_value(def, axes, "num_pages") * axis_value(def, axes, "page_size");

  // n = Σ_t n_t (valid indices, != -1); U = distinct rows gathered.
  double valid = 0.0;
  double distinct = 0.0;
  std::string basis;
  if (inputs.empty()) {
    // Upper bound: every token uses all topk slots, all distinct (§2 "Upper bound with
    // U = 2048·T"), but never more rows than the cache holds.
    valid = static_cast<double>(topk * tokens);
    distinct = static_cast<double>(std::min(topk * tokens, rows));
    basis =
        fmt::format("upper bound (no inputs): n_t=topk={}, U={} rows", topk, count_text(distinct));
  } else {
    const HostTensor& indices = read_input(def, axes, inputs, "sparse_indices");
    std::vector<std::int64_t> gathered;
    gathered.reserve(indices.numel());
    for (std::size_t i = 0; i < indices.numel(); ++i) {
      if (const std::int64_t index = indices.int_at(i); index != -1) {
        gathered.push_back(index);
      }
    }
    valid = static_cast<double>(gathered.size());
    std::sort(gathered.begin(), gathered.end());
    distinct = static_cast<double>(
        std::distance(gathered.begin(), std::unique(gathered.begin(), gathered.end())));
    basis = fmt::format("Σn_t={} valid indices over {} tokens, U={} distinct rows",
                        count_text(valid), tokens, count_text(distinct));
  }

  // FLOPs = 34,816·Σ_t n_t: per head and index, the logit q·[Kc;Kp] (2·576) and the
  // softmax-weighted sum of Kc (2·512); the softmax itself (~16·n·5) is left out, as in the notes.
  const double flops = heads * (2.0 * (ckv + kpe) + 2.0 * ckv) * valid;
  // Bytes = 1152·U + 43,072·T: a gathered row is bf16 ckv+kpe (1152 B); per token the bf16 q
  // (nope+pe, 18,432 B), the int32 index row (8,192 B), the bf16 output (16,384 B) and the
  // float32 lse (64 B).
  const double row_bytes = 2.0 * (ckv + kpe);
  const double token_bytes =
      2.0 * heads * (ckv + kpe) + 4.0 * static_cast<double>(topk) + 2.0 * heads * ckv + 4.0 * heads;
  const double bytes = row_bytes * distinct + token_bytes * static_cast<double>(tokens);
  return Cost{flops, bytes, basis};
}

// --- §3 DSA top-k indexer --------------------------------------------------------------------

Cost indexer_cost(const Definition& def, const std::map<std::string, std::int64_t>& axes,
                  const std::vector<HostTensor>& inputs) {
  const std::int64_t batch = axis_value(def, axes, "batch_size");
  const std::int64_t max_pages = axis_value(def, axes, "max_num_pages");
  const std::int64_t num_pages = axis_value(def, axes, "num_pages");
  const std::int64_t page_size = axis_value(def, axes, "page_size");
  const double heads = static_cast<double>(axis_value(def, axes, "num_index_heads"));
  const double head_dim = static_cast<double>(axis_value(def, axes, "index_head_dim"));
  const double page_width = static_cast<double>(axis_value(def, axes, "head_dim_with_scale"));
  const double topk = static_cast<double>(axis_value(def, axes, "topk"));

  // Σ_b L_b (scored tokens) and the K pages read: p_b = ceil(L_b/64) per row, a page shared by
  // several rows counted once.
  double scored = 0.0;
  double pages = 0.0;
  std::string basis;
  if (inputs.empty()) {
    // Upper bound L_b = 64·M (§3 "Upper bound"), at most the pages the cache holds.
    scored = static_cast<double>(batch * page_size * max_pages);
    pages = static_cast<double>(std::min(batch * max_pages, num_pages));
    basis = fmt::format("upper bound (no inputs): L_b=page_size·max_num_pages={}, {} K pages",
                        page_size * max_pages, count_text(pages));
  } else {
    const HostTensor& seq_lens = read_input(def, axes, inputs, "seq_lens");
    const HostTensor& block_table = read_input(def, axes, inputs, "block_table");
    std::unordered_set<std::int64_t> read_pages;
    std::int64_t page_sum = 0;
    for (std::int64_t b = 0; b < batch; ++b) {
      // A length beyond the block table cannot be gathered (the reference keeps what it has).
      const std::int64_t length = std::clamp<std::int64_t>(
          seq_lens.int_at(static_cast<std::size_t>(b)), 0, page_size * max_pages);
      const std::int64_t row_pages = (length + page_size - 1) / page_size;
      scored += static_cast<double>(length);
      page_sum += row_pages;
      for (std::int64_t j = 0; j < row_pages; ++j) {
        read_pages.insert(block_table.int_at(static_cast<std::size_t>(b * max_pages + j)));
      }
    }
    pages = static_cast<double>(read_pages.size());
    basis = fmt::format("ΣL_b={} tokens scored, {} distinct K pages (Σp_b={})", count_text(scored),
                        read_pages.size(), page_sum);
  }

  // FLOPs ≈ 16,576·Σ_b L_b: per scored token and head the fp8 q·k dot (2·128) plus relu,
  // weight and sum (3); the top-k selection (O(L_b)) is not counted.
  const double flops = heads * (2.0 * head_dim + 3.0) * scored;
  // Bytes ≈ 8448·pages + B·(16,644 + 4·M): a K page is 64 tokens of 128 fp8 bytes plus a
  // float32 scale (8448 B); per row the fp8 q (8192 B), float32 weights (256 B), the int32
  // seq_len (4 B), the int32 block-table row (4·M) and the int32 output (8192 B).
  const double page_bytes = static_cast<double>(page_size) * page_width;
  const double row_bytes =
      heads * head_dim + 4.0 * heads + 4.0 + 4.0 * static_cast<double>(max_pages) + 4.0 * topk;
  const double bytes = page_bytes * pages + row_bytes * static_cast<double>(batch);
  return Cost{flops, bytes, basis};
}

// --- §4 and §5 GDN decode and prefill ---------------------------------------------------------

/// The sizes shared by GDN decode and prefill.
struct GdnSizes {
  double q_heads, k_heads, v_heads, head_size;

  explicit GdnSizes(const Definition& def, const std::map<std::string, std::int64_t>& axes)
      : q_heads(static_cast<double>(axis_value(def, axes, "num_q_heads"))),
        k_heads(static_cast<double>(axis_value(def, axes, "num_k_heads"))),
        v_heads(static_cast<double>(axis_value(def, axes, "num_v_heads"))),
        head_size(static_cast<double>(axis_value(def, axes, "head_size"))) {}

  /// 7·K·V FLOPs per token and v-head (decay, k·S, the rank-1 update, q·S): 917,504 per token.
  double flops_per_token() const { return 7.0 * head_size * head_size * v_heads; }
  /// Per token: bf16 q and k (2048 B), bf16 v (2048 B), bf16 a and b (32 B), bf16 output
  /// (2048 B): 6,176 B.
  double bytes_per_token() const {
    return 2.0 * (q_heads + k_heads) * head_size + 2.0 * v_heads * head_size + 2.0 * 2.0 * v_heads +
           2.0 * v_heads * head_size;
  }
  /// Per sequence: the float32 state [Hv, V, K] read and new_state written: 1,048,576 B.
  double bytes_per_state() const { return 2.0 * 4.0 * v_heads * head_size * head_size; }
  /// Once: the float32 A_log and dt_bias [Hv]: 64 B.
  double gate_bytes() const { return 2.0 * 4.0 * v_heads; }
};

Cost gdn_decode_cost(const Definition& def, const std::map<std::string, std::int64_t>& axes) {
  const GdnSizes sizes(def, axes);
  const std::int64_t batch = axis_value(def, axes, "batch_size");
  const double b = static_cast<double>(batch);
  // §4: FLOPs ≈ 917,504·B; bytes = 1,054,752·B + 64 (one token and one state per sequence).
  const double flops = sizes.flops_per_token() * b;
  const double bytes = (sizes.bytes_per_token() + sizes.bytes_per_state()) * b + sizes.gate_bytes();
  return Cost{flops, bytes, fmt::format("B={} sequences", batch)};
}

Cost gdn_prefill_cost(const Definition& def, const std::map<std::string, std::int64_t>& axes,
                      const std::vector<HostTensor>& inputs) {
  const GdnSizes sizes(def, axes);
  std::int64_t tokens = 0;
  std::int64_t seqs = 0;
  std::string source;
  if (inputs.empty()) {
    tokens = axis_value(def, axes, "total_seq_len");
    seqs = axis_value(def, axes, "num_seqs");
    source = "axes";
  } else {
    // T = cu_seqlens[-1] and N = len(cu_seqlens) - 1 (the definition's constraints).
    const HostTensor& cu_seqlens = read_input(def, axes, inputs, "cu_seqlens");
    const std::size_t length = cu_seqlens.numel();
    seqs = length == 0 ? 0 : static_cast<std::int64_t>(length) - 1;
    tokens = length == 0 ? 0 : std::max<std::int64_t>(cu_seqlens.int_at(length - 1), 0);
    source = "cu_seqlens";
  }
  const double t = static_cast<double>(tokens);
  const double n = static_cast<double>(seqs);
  // §5: FLOPs (recurrent form) = 917,504·T; bytes = 6,176·T + 1,048,576·N + 8N + 72, where
  // 8N + 8 is the int64 cu_seqlens [N+1] and 64 the gate parameters.
  const double flops = sizes.flops_per_token() * t;
  const double bytes = sizes.bytes_per_token() * t + sizes.bytes_per_state() * n + 8.0 * (n + 1.0) +
                       sizes.gate_bytes();
  return Cost{flops, bytes,
              fmt::format("T={} tokens in N={} sequences ({})", tokens, seqs, source)};
}

} // namespace

const std::vector<std::string>& costed_definitions() {
  static const std::vector<std::string> names{k_moe, k_dsa, k_indexer, k_gdn_decode, k_gdn_prefill};
  return names;
}

std::optional<Cost> estimate_cost(const Definition& definition,
                                  const std::map<std::string, std::int64_t>& axes,
                                  const std::vector<HostTensor>& inputs) {
  const std::string& name = definition.name;
  const CostModelKind kind = definition_traits(definition).cost;
  if (kind == CostModelKind::none) {
    return std::nullopt;
  }
  if (!inputs.empty() && inputs.size() != definition.inputs.size()) {
    throw Error(fmt::format("{}: the cost model got {} inputs, the definition has {}", name,
                            inputs.size(), definition.inputs.size()));
  }
  switch (kind) {
  case CostModelKind::moe:
    return moe_cost(definition, axes, inputs);
  case CostModelKind::dsa_attention:
    return dsa_cost(definition, axes, inputs);
  case CostModelKind::dsa_indexer:
    return indexer_cost(definition, axes, inputs);
  case CostModelKind::gdn_decode:
    return gdn_decode_cost(definition, axes);
  case CostModelKind::gdn_prefill:
    return gdn_prefill_cost(definition, axes, inputs);
  case CostModelKind::none:
    break;
  }
  return std::nullopt;
}

MoeRouting route_moe(const HostTensor& routing_logits, const HostTensor& routing_bias,
                     std::int64_t local_offset, std::int64_t num_local, int n_group, int topk_group,
                     int top_k) {
  check_host_tensor(routing_logits, dtype_size(routing_logits.dtype));
  check_host_tensor(routing_bias, dtype_size(routing_bias.dtype));
  if (routing_logits.shape.size() != 2) {
    throw Error("MoE routing: routing_logits must be [T, E]");
  }
  const std::int64_t tokens = routing_logits.shape[0];
  const std::int64_t experts = routing_logits.shape[1];
  if (static_cast<std::int64_t>(routing_bias.numel()) != experts) {
    throw Error(fmt::format("MoE routing: routing_bias has {} elements for {} experts",
                            routing_bias.numel(), experts));
  }
  if (n_group <= 0 || experts % n_group != 0 || experts / n_group < 2 || topk_group <= 0 ||
      topk_group > n_group || top_k <= 0 || top_k > topk_group * (experts / n_group) ||
      num_local < 0) {
    throw Error(fmt::format("MoE routing: {} experts cannot be routed with {} groups, top-{} "
                            "groups and top-{} experts",
                            experts, n_group, topk_group, top_k));
  }
  const std::int64_t group_size = experts / n_group;

  // The reference's routing (contest-dataset.md §1 step 2), in float32:
  //   s = 1 / (1 + exp(-logits)), choice = s + bias (selection only);
  //   group score = sum of the group's top-2 choice values; keep the top `topk_group` groups;
  //   chosen = the top `top_k` choice values among the experts of the kept groups.
  std::vector<float> bias(static_cast<std::size_t>(experts));
  for (std::int64_t e = 0; e < experts; ++e) {
    bias[static_cast<std::size_t>(e)] =
        static_cast<float>(routing_bias.at(static_cast<std::size_t>(e)));
  }
  MoeRouting result;
  result.per_expert.assign(static_cast<std::size_t>(num_local), 0);
  std::vector<float> choice(static_cast<std::size_t>(experts));
  std::vector<float> group_score(static_cast<std::size_t>(n_group));
  std::vector<std::int64_t> groups(static_cast<std::size_t>(n_group));
  std::vector<std::int64_t> candidates;
  for (std::int64_t t = 0; t < tokens; ++t) {
    for (std::int64_t e = 0; e < experts; ++e) {
      const float logit =
          static_cast<float>(routing_logits.at(static_cast<std::size_t>(t * experts + e)));
      const float s = 1.0f / (1.0f + std::exp(-logit));
      choice[static_cast<std::size_t>(e)] = s + bias[static_cast<std::size_t>(e)];
    }
    const auto before = [&](std::int64_t a, std::int64_t b) {
      return ranks_before(choice[static_cast<std::size_t>(a)], a,
                          choice[static_cast<std::size_t>(b)], b);
    };
    for (std::int64_t g = 0; g < n_group; ++g) {
      std::int64_t first = g * group_size;
      std::int64_t second = first + 1;
      if (before(second, first)) {
        std::swap(first, second);
      }
      for (std::int64_t e = g * group_size + 2; e < (g + 1) * group_size; ++e) {
        if (before(e, first)) {
          second = first;
          first = e;
        } else if (before(e, second)) {
          second = e;
        }
      }
      group_score[static_cast<std::size_t>(g)] =
          choice[static_cast<std::size_t>(first)] + choice[static_cast<std::size_t>(second)];
      groups[static_cast<std::size_t>(g)] = g;
    }
    std::partial_sort(groups.begin(), groups.begin() + topk_group, groups.end(),
                      [&](std::int64_t a, std::int64_t b) {
                        return ranks_before(group_score[static_cast<std::size_t>(a)], a,
                                            group_score[static_cast<std::size_t>(b)], b);
                      });
    candidates.clear();
    for (int k = 0; k < topk_group; ++k) {
      const std::int64_t g = groups[static_cast<std::size_t>(k)];
      for (std::int64_t e = g * group_size; e < (g + 1) * group_size; ++e) {
        candidates.push_back(e);
      }
    }
    std::partial_sort(candidates.begin(), candidates.begin() + top_k, candidates.end(), before);
    for (int k = 0; k < top_k; ++k) {
      const std::int64_t local = candidates[static_cast<std::size_t>(k)] - local_offset;
      if (local >= 0 && local < num_local) {
        ++result.per_expert[static_cast<std::size_t>(local)];
        ++result.pairs;
      }
    }
  }
  result.active_experts =
      static_cast<std::int64_t>(std::count_if(result.per_expert.begin(), result.per_expert.end(),
                                              [](std::int64_t count) { return count > 0; }));
  return result;
}

} // namespace fibkit::core
