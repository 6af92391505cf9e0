// What fibkit knows about a definition beyond its JSON, in one place: the official evaluator
// that judges it (chosen by the official registry's name matching), its tolerances and timing
// counts under the contest's flags, the inputs the contest draws specially, the family of
// structured stand-ins for its missing blobs, and its cost model. Every consumer (compare,
// verify, bench, synth, cost_model) reads these traits instead of matching names itself.
#pragma once

#include "fibkit/core/trace/definition.hpp"

#include <optional>
#include <string>

namespace fibkit::core {

/// The evaluator flashinfer-bench picks for a definition (bench/evaluators/registry.py).
enum class EvaluatorKind {
  default_evaluator,
  low_bit,              ///< name contains "moe_fp8_block_scale"
  dsa_sparse_attention, ///< the two dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps{1,64}
  dsa_topk_indexer,     ///< name starts with "dsa_topk_indexer"
  sampling,             ///< op_type "sampling" (statistical; not supported by check_outputs)
};

/// Selects the evaluator like the official registry: one match -> it, none -> default, several
/// -> fibkit::Error.
EvaluatorKind select_evaluator(const Definition& definition);

/// Which structured stand-ins `synth` draws for missing blobs (core/eval/synth.hpp).
enum class StandInFamily { none, dsa_attention, dsa_indexer, gdn, moe };

/// Which cost model (core/eval/cost_model.hpp) applies: the five contest definitions, exactly.
enum class CostModelKind { none, moe, dsa_attention, dsa_indexer, gdn_decode, gdn_prefill };

struct DefinitionTraits {
  EvaluatorKind evaluator = EvaluatorKind::default_evaluator;
  /// The ratio of the bundled eval_config.yaml (op_type "moe": 0.95), before any flag.
  std::optional<double> bundled_matched_ratio;
  /// `--preset contest` uses the contest's MoE tolerance (atol 1, rtol 0.3, ratio 0.9).
  bool contest_moe_tolerance = false;
  /// `--preset contest` timing counts (the contest's GDN prefill command: 1 warmup, 5
  /// iterations); unset: the official defaults.
  std::optional<int> contest_warmup;
  std::optional<int> contest_iterations;
  /// The input the contest draws as a packed fp8 K cache ([page][fp8 values][fp32 scales]) when
  /// it is random; empty when none.
  std::string packed_fp8_k_cache;
  StandInFamily stand_ins = StandInFamily::none;
  CostModelKind cost = CostModelKind::none;
};

/// The traits of `definition` (throws like select_evaluator).
DefinitionTraits definition_traits(const Definition& definition);

} // namespace fibkit::core
