#include "fibkit/core/eval/traits.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <string_view>
#include <vector>

namespace fibkit::core {

EvaluatorKind select_evaluator(const Definition& definition) {
  const std::string_view name = definition.name;
  std::vector<EvaluatorKind> matches;
  if (definition.op_type == "sampling") {
    matches.push_back(EvaluatorKind::sampling);
  }
  if (name.find("moe_fp8_block_scale") != std::string_view::npos) {
    matches.push_back(EvaluatorKind::low_bit);
  }
  if (name == "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps1" ||
      name == "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64") {
    matches.push_back(EvaluatorKind::dsa_sparse_attention);
  }
  if (name.substr(0, 16) == "dsa_topk_indexer") {
    matches.push_back(EvaluatorKind::dsa_topk_indexer);
  }
  if (matches.empty()) {
    return EvaluatorKind::default_evaluator;
  }
  if (matches.size() > 1) {
    throw Error(fmt::format("Multiple evaluator matches for definition '{}'", definition.name));
  }
  return matches.front();
}

DefinitionTraits definition_traits(const Definition& definition) {
  const std::string& name = definition.name;
  const auto starts = [&](std::string_view prefix) { return name.rfind(prefix, 0) == 0; };
  DefinitionTraits t;
  t.evaluator = select_evaluator(definition);
  const bool moe = definition.op_type == "moe";
  if (moe) {
    t.bundled_matched_ratio = 0.95; // bundled eval_config.yaml, op_type_config.moe
  }
  t.contest_moe_tolerance = moe || t.evaluator == EvaluatorKind::low_bit;
  if (starts("gdn_prefill")) {
    t.contest_warmup = 1; // the contest's GDN prefill command: --warmup-runs 1 --iterations 5
    t.contest_iterations = 5;
  }
  if (starts("dsa_topk_indexer")) {
    t.packed_fp8_k_cache = "k_index_cache_fp8";
  }
  if (starts("dsa_sparse_attention")) {
    t.stand_ins = StandInFamily::dsa_attention;
  } else if (starts("dsa_topk_indexer")) {
    t.stand_ins = StandInFamily::dsa_indexer;
  } else if (definition.op_type == "gdn" || starts("gdn")) {
    t.stand_ins = StandInFamily::gdn;
  } else if (moe || name.find("moe") != std::string::npos) {
    t.stand_ins = StandInFamily::moe;
  }
  // The cost models are the contest notes' formulas for these exact definitions.
  if (name == "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048") {
    t.cost = CostModelKind::moe;
  } else if (name == "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64") {
    t.cost = CostModelKind::dsa_attention;
  } else if (name == "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64") {
    t.cost = CostModelKind::dsa_indexer;
  } else if (name == "gdn_decode_qk4_v8_d128_k_last") {
    t.cost = CostModelKind::gdn_decode;
  } else if (name == "gdn_prefill_qk4_v8_d128_k_last") {
    t.cost = CostModelKind::gdn_prefill;
  }
  return t;
}

} // namespace fibkit::core
