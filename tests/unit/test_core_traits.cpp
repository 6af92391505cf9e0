// The per-definition traits: the contest's rules for the five definitions, and nothing for a
// definition fibkit does not know.
#include "fibkit/core/eval/traits.hpp"

#include <catch2/catch.hpp>

using namespace fibkit;
using core::CostModelKind;
using core::EvaluatorKind;
using core::StandInFamily;

namespace {

core::Definition definition(std::string name, std::string op_type) {
  core::Definition d;
  d.name = std::move(name);
  d.op_type = std::move(op_type);
  return d;
}

} // namespace

TEST_CASE("traits: the five contest definitions", "[traits]") {
  const auto moe = core::definition_traits(
      definition("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048", "moe"));
  CHECK(moe.evaluator == EvaluatorKind::low_bit);
  CHECK(moe.bundled_matched_ratio == 0.95);
  CHECK(moe.contest_moe_tolerance);
  CHECK_FALSE(moe.contest_warmup);
  CHECK(moe.stand_ins == StandInFamily::moe);
  CHECK(moe.cost == CostModelKind::moe);

  const auto dsa = core::definition_traits(
      definition("dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64", "dsa_paged"));
  CHECK(dsa.evaluator == EvaluatorKind::dsa_sparse_attention);
  CHECK_FALSE(dsa.bundled_matched_ratio);
  CHECK_FALSE(dsa.contest_moe_tolerance);
  CHECK(dsa.stand_ins == StandInFamily::dsa_attention);
  CHECK(dsa.cost == CostModelKind::dsa_attention);

  const auto indexer = core::definition_traits(
      definition("dsa_topk_indexer_fp8_h64_d128_topk2048_ps64", "dsa_paged"));
  CHECK(indexer.evaluator == EvaluatorKind::dsa_topk_indexer);
  CHECK(indexer.packed_fp8_k_cache == "k_index_cache_fp8");
  CHECK(indexer.stand_ins == StandInFamily::dsa_indexer);
  CHECK(indexer.cost == CostModelKind::dsa_indexer);

  const auto decode = core::definition_traits(definition("gdn_decode_qk4_v8_d128_k_last", "gdn"));
  CHECK(decode.evaluator == EvaluatorKind::default_evaluator);
  CHECK_FALSE(decode.contest_warmup);
  CHECK(decode.packed_fp8_k_cache.empty());
  CHECK(decode.stand_ins == StandInFamily::gdn);
  CHECK(decode.cost == CostModelKind::gdn_decode);

  const auto prefill = core::definition_traits(definition("gdn_prefill_qk4_v8_d128_k_last", "gdn"));
  CHECK(prefill.contest_warmup == 1); // the contest's GDN prefill command: 1 warmup, 5 iterations
  CHECK(prefill.contest_iterations == 5);
  CHECK(prefill.cost == CostModelKind::gdn_prefill);
}

TEST_CASE("traits: another definition gets the official defaults and no cost model", "[traits]") {
  const auto gemm = core::definition_traits(definition("gemm_n4096_k4096", "gemm"));
  CHECK(gemm.evaluator == EvaluatorKind::default_evaluator);
  CHECK_FALSE(gemm.bundled_matched_ratio);
  CHECK_FALSE(gemm.contest_moe_tolerance);
  CHECK_FALSE(gemm.contest_warmup);
  CHECK(gemm.stand_ins == StandInFamily::none);
  CHECK(gemm.cost == CostModelKind::none);
  // A variant of a contest definition is judged by the registry's rules but has no cost model.
  const auto moe_variant = core::definition_traits(
      definition("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e64_h7168_i2048", "moe"));
  CHECK(moe_variant.evaluator == EvaluatorKind::low_bit);
  CHECK(moe_variant.cost == CostModelKind::none);
}
