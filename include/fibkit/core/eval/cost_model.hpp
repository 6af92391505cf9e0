// The roofline cost of one workload of the five contest definitions: the useful FLOPs and the
// minimum HBM traffic, as the "Cost model" paragraphs of the project's contest notes define
// them (contest-dataset.md §1 MoE, §2 DSA sparse attention, §3 DSA top-k indexer, §4 GDN decode,
// §5 GDN prefill). `fibkit bench` divides them by the measured latency and compares the rates
// with the device's peaks (device_peaks.hpp).
//
// Several quantities depend on the data, not only on the axes; given the trial's inputs they are
// computed exactly as the notes define them:
//   - MoE: P (routed (token, local expert) pairs) and E_act (local experts with a token), from
//     the DeepSeek-V3 no-aux grouped top-k routing of the definition's reference;
//   - DSA sparse attention: n_t (valid indices of token t, i.e. != -1) and U (distinct rows);
//   - DSA top-k indexer: Σ L_b from seq_lens and the K pages read (block_table);
//   - GDN prefill: T and N from cu_seqlens.
// Without inputs the notes' expected-value or upper-bound approximations are used, and `basis`
// says so.
#pragma once

#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/trace/definition.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::core {

/// The roofline cost of one workload.
struct Cost {
  double flops = 0.0; ///< useful floating-point operations (an FMA counts 2)
  double bytes = 0.0; ///< minimum HBM traffic: every input read once, every output written once
  /// What the figures rest on, for the report: the data-dependent quantities and whether they
  /// were counted from the inputs or approximated, e.g. "P=812 selected experts, 31 active".
  std::string basis;
};

/// The names of the five contest definitions that estimate_cost knows (the dataset's and
/// examples/ use the same names).
const std::vector<std::string>& costed_definitions();

/// The cost of one workload of `definition`, or nullopt when the definition is not one of
/// costed_definitions(). The sizes (H, I, heads, head dims, page size, ...) are read from the
/// definition's const axes; `axes` gives the var axes (const axes may be repeated there).
///
/// `inputs` are the trial's inputs in definition input order, scalars as 0-D tensors; empty
/// means "not known", and then the notes' approximations are used (MoE: uniform routing,
/// E[P] = T and E[E_act] = 32·(1-(31/32)^T); DSA: the upper bound n_t = topk, U = topk·T capped
/// by the cache's rows; indexer: the upper bound L_b = 64·max_num_pages, pages capped by
/// num_pages; GDN: T, N and B from the axes).
/// When given, only the inputs the formulas read must hold data (MoE: routing_logits,
/// routing_bias, local_expert_offset; DSA: sparse_indices; indexer: seq_lens, block_table; GDN
/// prefill: cu_seqlens); the others may be empty placeholders.
///
/// Throws fibkit::Error when a var axis is missing, or when `inputs` is not empty but has the
/// wrong count, or an input that is read has the wrong dtype or shape.
std::optional<Cost> estimate_cost(const Definition& definition,
                                  const std::map<std::string, std::int64_t>& axes,
                                  const std::vector<HostTensor>& inputs = {});

/// The result of route_moe.
struct MoeRouting {
  std::int64_t pairs = 0;               ///< P: Σ_t selected experts of t that are local
  std::int64_t active_experts = 0;      ///< E_act: local experts selected by at least one token
  std::vector<std::int64_t> per_expert; ///< tokens per local expert [num_local]
};

/// The local experts a MoE routing selects (contest-dataset.md §1, "Routing"): for each token,
/// the DeepSeek-V3 no-aux grouped top-k over all experts of `routing_logits` [T, E] (sigmoid,
/// plus `routing_bias` [E] for the selection, `n_group` groups scored by the sum of their top-2,
/// the best `topk_group` groups kept, the best `top_k` experts in them), counted for the experts
/// [local_offset, local_offset + num_local). Float32 arithmetic as in the reference; ties go to
/// the lower index (torch leaves them unspecified). Throws fibkit::Error for inconsistent shapes
/// or a grouping the expert count does not allow.
MoeRouting route_moe(const HostTensor& routing_logits, const HostTensor& routing_bias,
                     std::int64_t local_offset, std::int64_t num_local, int n_group = 8,
                     int topk_group = 4, int top_k = 8);

} // namespace fibkit::core
