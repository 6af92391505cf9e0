// Tests for the official correctness rules (include/fibkit/core/eval/compare.hpp): dtype
// conversions against known bit patterns, compute_error_stats in float32, the per-output checks of
// the Default, LowBit, DsaSparseAttention and DsaTopkIndexer evaluators, tolerance resolution and
// the merge of trials.
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

using namespace fibkit;
using core::DType;
using core::EvaluationStatus;
using core::HostTensor;

namespace {

constexpr float k_inf = std::numeric_limits<float>::infinity();
constexpr float k_nan = std::numeric_limits<float>::quiet_NaN();

HostTensor f32(std::vector<std::int64_t> shape, const std::vector<float>& values) {
  return core::make_host_tensor(DType::float32, std::move(shape), values);
}

HostTensor i32(std::vector<std::int64_t> shape, const std::vector<std::int32_t>& values) {
  return core::make_host_tensor(DType::int32, std::move(shape), values);
}

/// A definition with the given outputs (names only matter for logs).
core::Definition definition(const std::string& name, const std::string& op_type,
                            std::vector<std::string> outputs = {"out"}) {
  core::Definition def;
  def.name = name;
  def.op_type = op_type;
  for (auto& output : outputs) {
    core::TensorSpec spec;
    spec.name = output;
    spec.shape = std::vector<std::string>{};
    def.outputs.push_back(spec);
  }
  return def;
}

std::vector<double> values_of(const HostTensor& tensor) {
  std::vector<double> values;
  for (std::size_t i = 0; i < tensor.numel(); ++i) {
    values.push_back(tensor.at(i));
  }
  return values;
}

template <typename T> HostTensor bits(DType dtype, const std::vector<T>& raw) {
  return core::make_host_tensor(dtype, {static_cast<std::int64_t>(raw.size())}, raw);
}

/// The indexer fixture: page_size 4, 4 pages, head_dim 2, one head; q = [1, 0], weight 1, every
/// K row is fp8 [1, 1] with scale 1 + global index, so score(index) = 1 + index.
/// Row 0: seq_len 10 over pages [2, 0, 3] -> valid {8..11, 0..3, 12, 13}; top-4 = 13, 12, 11, 10.
/// Row 1: seq_len 2 over pages [3, 0, 0] -> valid {12, 13}; reference 13, 12, -1, -1.
struct Indexer {
  core::Definition def;
  std::vector<HostTensor> inputs;
  HostTensor reference = i32({2, 4}, {13, 12, 11, 10, 13, 12, -1, -1});

  Indexer() {
    def = definition("dsa_topk_indexer_fp8_test", "dsa_paged", {"topk_indices"});
    def.axes.push_back(core::Axis{"page_size", true, 4, std::nullopt});
    for (const char* name :
         {"q_index_fp8", "k_index_cache_fp8", "weights", "seq_lens", "block_table"}) {
      core::TensorSpec spec;
      spec.name = name;
      def.inputs.push_back(spec);
    }
    const std::vector<std::uint8_t> q{0x38, 0x00, 0x38, 0x00};
    std::vector<std::uint8_t> cache;
    for (int page = 0; page < 4; ++page) {
      for (int slot = 0; slot < 4; ++slot) {
        cache.push_back(0x38);
        cache.push_back(0x38);
      }
      for (int slot = 0; slot < 4; ++slot) {
        const float scale = static_cast<float>(1 + page * 4 + slot);
        std::uint8_t raw[4];
        std::memcpy(raw, &scale, 4);
        cache.insert(cache.end(), raw, raw + 4);
      }
    }
    inputs.push_back(core::make_host_tensor(DType::float8_e4m3fn, {2, 1, 2}, q));
    inputs.push_back(core::make_host_tensor(DType::int8, {4, 4, 1, 6}, cache));
    inputs.push_back(f32({2, 1}, {1.0f, 1.0f}));
    inputs.push_back(i32({2}, {10, 2}));
    inputs.push_back(i32({2, 3}, {2, 0, 3, 3, 0, 0}));
  }

  core::OutputCheck check(const std::vector<std::int32_t>& solution) const {
    return core::check_outputs(def, {i32({2, 4}, solution)}, {reference}, core::Tolerance{},
                               inputs);
  }
};

} // namespace

// --- conversions ------------------------------------------------------------------------------

TEST_CASE("bfloat16 converts like torch", "[core][compare]") {
  const auto t = bits<std::uint16_t>(DType::bfloat16,
                                     {0x3f80, 0x4049, 0xc2f7, 0x0001, 0x3dcd, 0x7f80, 0xff80});
  const auto v = values_of(t);
  CHECK(v[0] == 1.0);
  CHECK(v[1] == 3.140625);
  CHECK(v[2] == -123.5);
  CHECK(v[3] == 9.183549615799121e-41);
  CHECK(v[4] == 0.10009765625);
  CHECK(v[5] == std::numeric_limits<double>::infinity());
  CHECK(v[6] == -std::numeric_limits<double>::infinity());
  CHECK(std::isnan(core::bf16_to_float(0x7fc0)));
}

TEST_CASE("float16 converts like torch, subnormals and specials included", "[core][compare]") {
  const auto v = values_of(bits<std::uint16_t>(
      DType::float16, {0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0xc000, 0x3555, 0x7c00, 0xfc00}));
  CHECK(v[0] == 5.960464477539063e-08);
  CHECK(v[1] == 6.097555160522461e-05);
  CHECK(v[2] == 6.103515625e-05);
  CHECK(v[3] == 1.0);
  CHECK(v[4] == 65504.0);
  CHECK(v[5] == -2.0);
  CHECK(v[6] == 0.333251953125);
  CHECK(std::isinf(v[7]));
  CHECK(v[8] < 0);
  CHECK(std::isnan(core::fp16_to_float(0x7e00)));
  CHECK(std::signbit(core::fp16_to_float(0x8000)));
}

TEST_CASE("float8_e4m3fn converts like torch: no inf, 0x7f and 0xff are NaN", "[core][compare]") {
  const auto v = values_of(bits<std::uint8_t>(
      DType::float8_e4m3fn, {0x00, 0x01, 0x03, 0x07, 0x08, 0x38, 0x40, 0x7b, 0x7e, 0xb8, 0xfe}));
  CHECK(v == std::vector<double>{0.0, 0.001953125, 0.005859375, 0.013671875, 0.015625, 1.0, 2.0,
                                 352.0, 448.0, -1.0, -448.0});
  CHECK(std::isnan(core::fp8_e4m3fn_to_float(0x7f)));
  CHECK(std::isnan(core::fp8_e4m3fn_to_float(0xff)));
  CHECK(std::signbit(core::fp8_e4m3fn_to_float(0x80)));
}

TEST_CASE("float8_e5m2 converts like torch, inf and NaN included", "[core][compare]") {
  const auto v = values_of(bits<std::uint8_t>(
      DType::float8_e5m2, {0x01, 0x03, 0x04, 0x38, 0x40, 0x7b, 0xb8, 0x7c, 0xfc}));
  CHECK(v[0] == 1.52587890625e-05);
  CHECK(v[1] == 4.57763671875e-05);
  CHECK(v[2] == 6.103515625e-05);
  CHECK(v[3] == 0.5);
  CHECK(v[4] == 2.0);
  CHECK(v[5] == 57344.0);
  CHECK(v[6] == -0.5);
  CHECK(v[7] == std::numeric_limits<double>::infinity());
  CHECK(v[8] == -std::numeric_limits<double>::infinity());
  for (const std::uint8_t nan : {0x7d, 0x7e, 0x7f, 0xfd, 0xfe, 0xff}) {
    CHECK(std::isnan(core::fp8_e5m2_to_float(nan)));
  }
}

TEST_CASE("integers and bool convert through float32; int_at stays exact", "[core][compare]") {
  const auto i32s = bits<std::int32_t>(DType::int32, {16777217, -1024, 7});
  CHECK(values_of(i32s) == std::vector<double>{16777216.0, -1024.0, 7.0});
  CHECK(i32s.int_at(0) == 16777217);
  const auto i64s = bits<std::int64_t>(DType::int64, {(std::int64_t{1} << 53) + 1, -5});
  CHECK(values_of(i64s) == std::vector<double>{9007199254740992.0, -5.0});
  CHECK(i64s.int_at(0) == (std::int64_t{1} << 53) + 1);
  CHECK(values_of(bits<std::int16_t>(DType::int16, {-32768, 300})) ==
        std::vector<double>{-32768.0, 300.0});
  CHECK(values_of(bits<std::int8_t>(DType::int8, {-128, 127})) ==
        std::vector<double>{-128.0, 127.0});
  CHECK(values_of(bits<std::uint8_t>(DType::boolean, {0, 1})) == std::vector<double>{0.0, 1.0});
  CHECK_THROWS_AS(f32({1}, {1.0f}).int_at(0), Error);
  CHECK_THROWS_AS(bits<std::uint8_t>(DType::float4_e2m1, {0x12}).at(0), Error);
}

TEST_CASE("make_host_tensor checks element size and count", "[core][compare]") {
  CHECK_THROWS_AS(core::make_host_tensor(DType::float32, {3}, std::vector<float>{1, 2}), Error);
  CHECK_THROWS_AS(core::make_host_tensor(DType::bfloat16, {1}, std::vector<float>{1}), Error);
  CHECK(core::make_host_tensor(DType::float32, {}, std::vector<float>{5}).numel() == 1);
  CHECK(f32({2, 0}, {}).numel() == 0);
}

// --- compute_error_stats --------------------------------------------------------------------

TEST_CASE("an element fails only when both atol and rtol are exceeded", "[core][compare]") {
  const core::Tolerance tol{0.5, 0.1, std::nullopt};
  // |d| = 1 > atol but rel = 1/100 <= rtol: matched.
  auto s = core::compute_error_stats(f32({1}, {101}), f32({1}, {100}), tol);
  CHECK_FALSE(s.exceeds);
  CHECK(s.max_abs == 1.0);
  // rel = 0.4/0.001 > rtol but |d| <= atol: matched.
  s = core::compute_error_stats(f32({1}, {0.401f}), f32({1}, {0.001f}), tol);
  CHECK_FALSE(s.exceeds);
  CHECK(s.max_rel > 100);
  // both exceeded: fails.
  s = core::compute_error_stats(f32({2}, {3, 1}), f32({2}, {1, 1}), tol);
  CHECK(s.exceeds);
  CHECK(s.matched_ratio == 0.5);
  CHECK(s.max_abs == 2.0);
  CHECK(s.max_rel == static_cast<double>(2.0f / (1.0f + 1e-8f)));
}

TEST_CASE("thresholds compare in float32 like torch", "[core][compare]") {
  // |13 - 10| / (10 + 1e-8) = 0.3f; torch casts rtol 0.3 to float32, so 0.3f > 0.3f is false.
  const auto s =
      core::compute_error_stats(f32({1}, {13}), f32({1}, {10}), core::Tolerance{1, 0.3, {}});
  CHECK(s.max_rel == static_cast<double>(0.3f));
  CHECK_FALSE(s.exceeds);
}

TEST_CASE("matched ratio exactly at the required ratio passes", "[core][compare]") {
  std::vector<float> x(10, 1.0f);
  const std::vector<float> y(10, 1.0f);
  x[3] = 5.0f;
  auto s = core::compute_error_stats(f32({10}, x), f32({10}, y), core::Tolerance{0.01, 0.01, 0.9});
  CHECK(s.matched_ratio == 0.9);
  CHECK_FALSE(s.exceeds);
  s = core::compute_error_stats(f32({10}, x), f32({10}, y), core::Tolerance{0.01, 0.01, 0.91});
  CHECK(s.exceeds);
  s = core::compute_error_stats(f32({10}, x), f32({10}, y), core::Tolerance{});
  CHECK(s.exceeds); // unset ratio = 1.0
}

TEST_CASE("numel 0 gives zero errors and ratio 1", "[core][compare]") {
  const auto s = core::compute_error_stats(f32({0, 3}, {}), f32({0, 3}, {}), core::Tolerance{});
  CHECK(s.max_abs == 0.0);
  CHECK(s.max_rel == 0.0);
  CHECK(s.matched_ratio == 1.0);
  CHECK_FALSE(s.exceeds);
  const auto check =
      core::check_outputs(definition("d", "t"), {f32({0}, {})}, {f32({0}, {})}, core::Tolerance{});
  CHECK(check.status == EvaluationStatus::passed);
  REQUIRE(check.correctness);
  CHECK(check.correctness->max_absolute_error == 0.0);
}

TEST_CASE("integer outputs are compared after a float32 cast", "[core][compare]") {
  const auto check = core::check_outputs(definition("d", "t"), {i32({2}, {5, 16777217})},
                                         {i32({2}, {5, 16777216})}, core::Tolerance{});
  CHECK(check.status == EvaluationStatus::passed); // 16777217 rounds to 16777216 in float32
  const auto bad = core::check_outputs(definition("d", "t"), {i32({2}, {5, 7})}, {i32({2}, {5, 6})},
                                       core::Tolerance{});
  CHECK(bad.status == EvaluationStatus::incorrect_numerical);
  CHECK(bad.correctness->max_absolute_error == 1.0);
}

// --- check_outputs (Default) ----------------------------------------------------------------

TEST_CASE("inf or NaN in the solution fails at once", "[core][compare]") {
  const auto def = definition("d", "t", {"a", "b"});
  const core::Tolerance tol;
  // inf wins over NaN, and a reference inf at the same place does not help.
  auto check = core::check_outputs(def, {f32({2}, {k_nan, k_inf}), f32({1}, {0})},
                                   {f32({2}, {0, k_inf}), f32({2}, {0, 0})}, tol);
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(check.stopped);
  CHECK(std::isinf(check.correctness->max_absolute_error));
  CHECK(std::isinf(check.correctness->max_relative_error));
  CHECK(check.correctness->extra_json.empty());
  // NaN only: (NaN, NaN); the later output's wrong shape is never looked at.
  check = core::check_outputs(def, {f32({2}, {k_nan, 1}), f32({1}, {0})},
                              {f32({2}, {k_nan, 1}), f32({2}, {0, 0})}, tol);
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(std::isnan(check.correctness->max_absolute_error));
  CHECK(std::isnan(check.correctness->max_relative_error));
}

TEST_CASE("a NaN in the reference matches and is dropped from the maxima", "[core][compare]") {
  const auto stats =
      core::compute_error_stats(f32({2}, {0, 1}), f32({2}, {k_nan, 1}), core::Tolerance{});
  CHECK(std::isnan(stats.max_abs));
  CHECK(stats.matched_ratio == 1.0);
  const auto check =
      core::check_outputs(definition("d", "t", {"a", "b"}), {f32({2}, {0, 1}), f32({1}, {1.005f})},
                          {f32({2}, {k_nan, 1}), f32({1}, {1})}, core::Tolerance{});
  CHECK(check.status == EvaluationStatus::passed);
  CHECK(check.correctness->max_absolute_error == static_cast<double>(1.005f - 1.0f));
  REQUIRE(check.outputs.size() == 2);
  CHECK(std::isnan(check.outputs[0].max_rel));
}

TEST_CASE("a reference inf against a finite solution matches (rel is NaN)", "[core][compare]") {
  const auto check = core::check_outputs(definition("d", "t"), {f32({2}, {3, 1})},
                                         {f32({2}, {k_inf, 1})}, core::Tolerance{});
  CHECK(check.status == EvaluationStatus::passed);
  CHECK(std::isinf(check.correctness->max_absolute_error));
  CHECK(check.correctness->max_relative_error == 0.0); // NaN dropped by Python max
}

TEST_CASE("shape and dtype mismatches stop with their statuses", "[core][compare]") {
  const auto def = definition("d", "t");
  auto check = core::check_outputs(def, {f32({2, 1}, {1, 2})}, {f32({2}, {1, 2})}, {});
  CHECK(check.status == EvaluationStatus::incorrect_shape);
  CHECK_FALSE(check.correctness);
  CHECK(check.stopped);
  CHECK(check.log == "output \"out\": shape [2, 1] differs from the reference [2]");
  // Shape is checked before dtype.
  check = core::check_outputs(def, {i32({3}, {1, 2, 3})}, {f32({2}, {1, 2})}, {});
  CHECK(check.status == EvaluationStatus::incorrect_shape);
  check = core::check_outputs(def, {i32({2}, {1, 2})}, {f32({2}, {1, 2})}, {});
  CHECK(check.status == EvaluationStatus::incorrect_dtype);
  CHECK_FALSE(check.correctness);
  // A failing output does not stop the loop; a later shape error does.
  check = core::check_outputs(definition("d", "t", {"a", "b"}), {f32({1}, {9}), f32({1}, {0})},
                              {f32({1}, {1}), f32({2}, {0, 0})}, {});
  CHECK(check.status == EvaluationStatus::incorrect_shape);
  // A wrong number of outputs is a runtime error (normalize_result raises).
  check = core::check_outputs(def, {f32({1}, {1}), f32({1}, {1})}, {f32({1}, {1})}, {});
  CHECK(check.status == EvaluationStatus::runtime_error);
}

TEST_CASE("errors take the maxima over outputs; any failing output fails", "[core][compare]") {
  const auto check =
      core::check_outputs(definition("d", "t", {"a", "b"}), {f32({1}, {3}), f32({1}, {1.001f})},
                          {f32({1}, {1}), f32({1}, {1})}, core::Tolerance{});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK_FALSE(check.stopped);
  CHECK(check.correctness->max_absolute_error == 2.0);
  CHECK(check.correctness->extra_json.empty());
  CHECK(check.log.rfind("output \"a\": matched ratio 0.0000 below 1", 0) == 0);
}

// --- evaluators and tolerances --------------------------------------------------------------

TEST_CASE("evaluators are selected by definition name", "[core][compare]") {
  using core::EvaluatorKind;
  CHECK(core::select_evaluator(definition("gemm_n4096_k4096", "gemm")) ==
        EvaluatorKind::default_evaluator);
  CHECK(core::select_evaluator(
            definition("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048", "moe")) ==
        EvaluatorKind::low_bit);
  CHECK(core::select_evaluator(definition("dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64",
                                          "dsa_paged")) == EvaluatorKind::dsa_sparse_attention);
  CHECK(core::select_evaluator(definition("dsa_sparse_attention_h16_other", "dsa_paged")) ==
        EvaluatorKind::default_evaluator);
  CHECK(core::select_evaluator(definition("dsa_topk_indexer_fp8_h64_d128_topk2048_ps64",
                                          "dsa_paged")) == EvaluatorKind::dsa_topk_indexer);
  CHECK(core::select_evaluator(definition("top_k_sampling", "sampling")) ==
        EvaluatorKind::sampling);
  CHECK_THROWS_AS(core::select_evaluator(definition("dsa_topk_indexer_moe_fp8_block_scale", "x")),
                  Error);
}

TEST_CASE("LowBit defaults to a 0.95 ratio and reports the smallest matched ratio",
          "[core][compare]") {
  const auto moe =
      definition("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048", "moe");
  std::vector<float> x(100, 1.0f);
  const std::vector<float> y(100, 1.0f);
  for (int i = 0; i < 4; ++i) {
    x[static_cast<std::size_t>(i)] = 9.0f;
  }
  auto check = core::check_outputs(moe, {f32({100}, x)}, {f32({100}, y)}, core::Tolerance{});
  CHECK(check.status == EvaluationStatus::passed);
  CHECK(check.correctness->extra_json == R"({"matched_ratio":0.96})");
  CHECK(check.min_matched_ratio == 0.96);
  // The default evaluator keeps 1.0; an explicit ratio wins over LowBit's default.
  check = core::check_outputs(definition("gemm", "gemm"), {f32({100}, x)}, {f32({100}, y)},
                              core::Tolerance{});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  check =
      core::check_outputs(moe, {f32({100}, x)}, {f32({100}, y)}, core::Tolerance{1e-2, 1e-2, 1.0});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(check.correctness->extra_json == R"({"matched_ratio":0.96})");
  // A non-finite solution returns early, without extra.
  x[50] = k_nan;
  check = core::check_outputs(moe, {f32({100}, x)}, {f32({100}, y)}, core::Tolerance{});
  CHECK(check.correctness->extra_json.empty());
}

TEST_CASE("tolerances: evaluator defaults, the contest preset and flags", "[core][compare]") {
  const auto moe =
      definition("moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048", "moe");
  const auto gdn = definition("gdn_decode_qk4_v8_d128_k_last", "gdn");
  auto t = core::resolve_tolerance(gdn);
  CHECK(t.atol == 1e-2);
  CHECK(t.rtol == 1e-2);
  CHECK_FALSE(t.required_matched_ratio);
  t = core::resolve_tolerance(moe);
  CHECK(t.atol == 1e-2);
  CHECK(t.required_matched_ratio == 0.95);

  core::ToleranceFlags contest;
  contest.preset = core::TolerancePreset::contest;
  t = core::resolve_tolerance(moe, contest);
  CHECK(t.atol == 1.0);
  CHECK(t.rtol == 0.3);
  CHECK(t.required_matched_ratio == 0.9);
  t = core::resolve_tolerance(gdn, contest);
  CHECK(t.atol == 1e-2);
  CHECK(t.rtol == 1e-2);
  CHECK_FALSE(t.required_matched_ratio);

  // Flags win over the preset.
  contest.rtol = 0.5;
  contest.required_matched_ratio = 1.0;
  t = core::resolve_tolerance(moe, contest);
  CHECK(t.atol == 1.0);
  CHECK(t.rtol == 0.5);
  CHECK(t.required_matched_ratio == 1.0);
  core::ToleranceFlags flags;
  flags.atol = 2e-3;
  t = core::resolve_tolerance(gdn, flags);
  CHECK(t.atol == 2e-3);

  flags.atol = 0.0;
  CHECK_THROWS_AS(core::resolve_tolerance(gdn, flags), UsageError);
  flags.atol.reset();
  flags.required_matched_ratio = 1.5;
  CHECK_THROWS_AS(core::resolve_tolerance(gdn, flags), UsageError);
}

TEST_CASE("DSA sparse attention compares output and lse; lse may be omitted", "[core][compare]") {
  const auto def = definition("dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64", "dsa_paged",
                              {"output", "lse"});
  const std::vector<HostTensor> ref{f32({2}, {1, 2}), f32({1}, {5})};
  auto check = core::check_outputs(def, {f32({2}, {1, 2}), f32({1}, {5})}, ref, {});
  CHECK(check.status == EvaluationStatus::passed);
  CHECK(check.outputs.size() == 2);
  check = core::check_outputs(def, {f32({2}, {1, 2}), f32({1}, {7})}, ref, {});
  CHECK(check.status == EvaluationStatus::incorrect_numerical); // DPS: lse is compared
  check = core::check_outputs(def, {f32({2}, {1, 2})}, ref, {});
  CHECK(check.status == EvaluationStatus::passed);
  CHECK(check.outputs.size() == 1);
  check = core::check_outputs(def, {f32({2}, {1, 2}), f32({1}, {5}), f32({1}, {5})}, ref, {});
  CHECK(check.status == EvaluationStatus::incorrect_shape);
  check = core::check_outputs(def, {f32({2}, {1, 2})}, {ref[0]}, {});
  CHECK(check.status == EvaluationStatus::runtime_error);
}

TEST_CASE("merging trials: maxima, the first stopped trial, the smallest ratio",
          "[core][compare]") {
  core::OutputCheck a;
  a.correctness = core::Correctness{0.5, 0.25, ""};
  core::OutputCheck b;
  b.status = EvaluationStatus::incorrect_numerical;
  b.correctness = core::Correctness{0.125, 1.0, ""};
  b.log = "trial b";
  auto merged = core::merge_trials({a, b, a});
  CHECK(merged.status == EvaluationStatus::incorrect_numerical);
  CHECK(merged.correctness->max_relative_error == 0.5);
  CHECK(merged.correctness->max_absolute_error == 1.0);
  CHECK(merged.log == "trial b");

  core::OutputCheck nan_trial;
  nan_trial.status = EvaluationStatus::incorrect_numerical;
  nan_trial.stopped = true;
  nan_trial.correctness = core::Correctness{k_nan, k_nan, ""};
  core::OutputCheck shape;
  shape.status = EvaluationStatus::incorrect_shape;
  shape.stopped = true;
  merged = core::merge_trials({b, nan_trial, shape});
  CHECK(merged.status == EvaluationStatus::incorrect_numerical);
  CHECK(std::isnan(merged.correctness->max_absolute_error));
  CHECK(merged.stopped);

  a.min_matched_ratio = 0.97;
  b.min_matched_ratio = 0.96;
  merged = core::merge_trials({a, b});
  CHECK(merged.correctness->extra_json == R"({"matched_ratio":0.96})");
  merged = core::merge_trials({});
  CHECK(merged.status == EvaluationStatus::passed);
}

// --- DsaTopkIndexer -------------------------------------------------------------------------

TEST_CASE("indexer: a permutation of the reference indices passes", "[core][compare]") {
  const Indexer ix;
  const auto check = ix.check({10, 11, 12, 13, -1, 12, 13, -1});
  CHECK(check.status == EvaluationStatus::passed);
  CHECK(check.correctness->max_absolute_error == 0.0);
  CHECK(check.correctness->max_relative_error == 0.0);
}

TEST_CASE("indexer: a duplicate index fails with inf errors", "[core][compare]") {
  const Indexer ix;
  const auto check = ix.check({13, 12, 11, 10, 13, 13, -1, -1});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(check.stopped);
  CHECK(std::isinf(check.correctness->max_absolute_error));
  CHECK(std::isinf(check.correctness->max_relative_error));
  CHECK(check.log == "duplicate indices in batch [1]");
}

TEST_CASE("indexer: an index beyond seq_lens fails", "[core][compare]") {
  const Indexer ix;
  // 14 is page 3 slot 2 = position 10 of row 0 (seq_len 10); 0 is page 0 = position 4 of row 1.
  const auto check = ix.check({14, 12, 11, 10, 13, 0, -1, -1});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(std::isinf(check.correctness->max_absolute_error));
  CHECK(check.log == "out-of-range indices in batch [0, 1]");
}

TEST_CASE("indexer: a page outside the block table fails", "[core][compare]") {
  const Indexer ix;
  const auto check = ix.check({4, 12, 11, 10, 13, 12, -1, -1}); // page 1 is in no row's table
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(check.log == "out-of-range indices in batch [0]");
}

TEST_CASE("indexer: -1 padding is accepted anywhere, a missing index is not", "[core][compare]") {
  const Indexer ix;
  CHECK(ix.check({11, 13, 10, 12, -1, 13, -1, 12}).status == EvaluationStatus::passed);
  const auto check = ix.check({13, 12, 11, 10, 13, -1, -1, -1});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK_FALSE(check.stopped);
  CHECK(std::isinf(check.correctness->max_absolute_error));
  CHECK(check.outputs.at(0).matched_ratio == 7.0 / 8.0);
}

TEST_CASE("indexer: a set with worse scores fails numerically", "[core][compare]") {
  const Indexer ix;
  // Scores 14, 13, 12, 10 against 14, 13, 12, 11.
  const auto check = ix.check({13, 12, 11, 9, 13, 12, -1, -1});
  CHECK(check.status == EvaluationStatus::incorrect_numerical);
  CHECK(check.correctness->max_absolute_error == 1.0);
  CHECK(check.correctness->max_relative_error == static_cast<double>(1.0f / (11.0f + 1e-8f)));
  CHECK(check.log == "score mismatch: max_abs=1.000000 max_rel=0.090909 matched_ratio=0.8750");
}

TEST_CASE("indexer score stats: shared non-finite matches, one-sided forces inf",
          "[core][compare]") {
  const core::Tolerance tol;
  auto s =
      core::compute_score_error_stats({k_nan, -k_inf, k_inf, 2}, {k_nan, -k_inf, k_inf, 2}, tol);
  CHECK_FALSE(s.exceeds);
  CHECK(s.max_abs == 0.0);
  s = core::compute_score_error_stats({k_inf, 2}, {-k_inf, 2}, tol);
  CHECK(s.exceeds);
  CHECK(s.matched_ratio == 0.5);
  CHECK(std::isinf(s.max_abs));
  CHECK(std::isinf(s.max_rel));
}
