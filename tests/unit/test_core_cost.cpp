// Tests for the roofline cost model and the device peaks (include/fibkit/core/eval/cost_model.hpp,
// device_peaks.hpp): the formulas against the worked examples of the contest notes
// (contest-dataset.md §1-§5 "Cost model"), the data-dependent quantities (MoE P and E_act, DSA
// n_t and U, indexer Σ L_b and pages, GDN prefill T and N) on hand-built inputs, the real
// definitions of examples/, device-name matching and roofline fractions.
#include "fibkit/core/eval/cost_model.hpp"
#include "fibkit/core/eval/device_peaks.hpp"
#include "fibkit/core/eval/synth.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/util/error.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

using namespace fibkit;
using core::DType;
using core::HostTensor;
using fibkit::testing::error_of;
namespace fs = std::filesystem;

namespace {

const std::string k_moe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";
const std::string k_dsa = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64";
const std::string k_indexer = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64";
const std::string k_decode = "gdn_decode_qk4_v8_d128_k_last";
const std::string k_prefill = "gdn_prefill_qk4_v8_d128_k_last";

using Axes = std::map<std::string, std::int64_t>;

/// fibkit's own TraceSet (examples/), loaded from the source tree.
const core::TraceSet& examples() {
  static const core::TraceSet set = core::load_trace_set(fs::path(FIBKIT_SOURCE_DIR) / "examples");
  return set;
}

const core::Definition& def_of(const std::string& name) {
  const core::Definition* def = examples().find_definition(name);
  REQUIRE(def != nullptr);
  return *def;
}

core::Cost cost_of(const std::string& name, const Axes& axes,
                   const std::vector<HostTensor>& inputs = {}) {
  const std::optional<core::Cost> cost = core::estimate_cost(def_of(name), axes, inputs);
  REQUIRE(cost.has_value());
  return *cost;
}

/// The trial inputs of `name` with only `given` filled in (the others empty placeholders).
std::vector<HostTensor> inputs_with(const std::string& name,
                                    const std::map<std::string, HostTensor>& given) {
  const core::Definition& def = def_of(name);
  std::vector<HostTensor> inputs(def.inputs.size());
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    if (const auto it = given.find(def.inputs[i].name); it != given.end()) {
      inputs[i] = it->second;
    }
  }
  return inputs;
}

HostTensor i32(std::vector<std::int64_t> shape, const std::vector<std::int32_t>& values) {
  return core::make_host_tensor(DType::int32, std::move(shape), values);
}

// --- MoE routing inputs ----------------------------------------------------------------------

constexpr std::int64_t k_experts = 256;
constexpr float k_low = -10.0f; // sigmoid ~ 4.5e-5: never selected over a raised expert

/// routing_logits [T, 256] at k_low, with `raised[t]` = {expert, logit} pairs.
HostTensor moe_logits(const std::vector<std::vector<std::pair<int, float>>>& raised) {
  std::vector<float> values(raised.size() * k_experts, k_low);
  for (std::size_t t = 0; t < raised.size(); ++t) {
    for (const auto& [expert, logit] : raised[t]) {
      values[t * k_experts + static_cast<std::size_t>(expert)] = logit;
    }
  }
  return core::make_host_tensor(DType::float32,
                                {static_cast<std::int64_t>(raised.size()), k_experts}, values);
}

/// routing_bias [256] in bf16, 0 except `raised` experts at `value`.
HostTensor moe_bias(const std::vector<int>& raised = {}, float value = 0.0f) {
  std::vector<std::uint16_t> bits(k_experts, 0);
  for (const int expert : raised) {
    bits[static_cast<std::size_t>(expert)] = core::float_to_bf16(value);
  }
  return core::make_host_tensor(DType::bfloat16, {k_experts}, bits);
}

std::vector<HostTensor> moe_inputs(const HostTensor& logits, const HostTensor& bias,
                                   std::int32_t offset) {
  return inputs_with(k_moe,
                     {{"routing_logits", logits},
                      {"routing_bias", bias},
                      {"local_expert_offset", i32({}, {offset})},
                      {"routed_scaling_factor",
                       core::make_host_tensor(DType::float32, {}, std::vector<float>{2.5f})}});
}

/// Three tokens with known routing (groups of 32 experts; group 1 = experts 32..63):
///   t0: experts 32..39 raised: all 8 choices in group 1;
///   t1: two experts raised in each of groups 0..3 (0,1 / 40,41 / 64,65 / 96,97): those 8;
///   t2: expert 50 of group 1 raised highest, but alone; groups 0, 2, 3, 4 have two raised
///       experts each, so their top-2 sums win and group 1 is dropped: 0,1 / 64,65 / 96,97 /
///       128,129 are chosen, 50 is not.
HostTensor three_token_logits() {
  std::vector<std::pair<int, float>> t0;
  for (int e = 32; e < 40; ++e) {
    t0.emplace_back(e, 4.0f + 0.01f * static_cast<float>(e));
  }
  const std::vector<std::pair<int, float>> t1{{0, 4.0f},  {1, 4.1f},  {40, 4.2f}, {41, 4.3f},
                                              {64, 4.4f}, {65, 4.5f}, {96, 4.6f}, {97, 4.7f}};
  const std::vector<std::pair<int, float>> t2{{50, 6.0f}, {0, 3.0f},   {1, 3.1f},
                                              {64, 3.2f}, {65, 3.3f},  {96, 3.4f},
                                              {97, 3.5f}, {128, 3.6f}, {129, 3.7f}};
  return moe_logits({t0, t1, t2});
}

} // namespace

// --- formulas against the notes' worked examples ---------------------------------------------

TEST_CASE("cost: the five contest definitions are costed, others are not", "[core][cost]") {
  CHECK(core::costed_definitions() ==
        std::vector<std::string>{k_moe, k_dsa, k_indexer, k_decode, k_prefill});
  for (const std::string& name : core::costed_definitions()) {
    INFO(name);
    CHECK(examples().find_definition(name) != nullptr);
  }
  core::Definition other = def_of(k_decode);
  other.name = "gdn_decode_qk16_v32_d128_k_last";
  CHECK_FALSE(core::estimate_cost(other, {{"batch_size", 4}}).has_value());
}

TEST_CASE("cost: MoE constants 88,080,384 FLOP per pair and 44,050,944 B per expert (§1)",
          "[core][cost]") {
  // T = 1 without inputs: E[P] = 1 and E[E_act] = 32·(1 - 31/32) = 1 exactly.
  const core::Cost one = cost_of(k_moe, {{"seq_len", 1}});
  CHECK(one.flops == 88080384.0);
  CHECK(one.bytes == 44050944.0 + 22752.0 + 512.0);
  CHECK_THAT(one.basis, Catch::Contains("uniform routing"));
  CHECK_THAT(one.basis, Catch::Contains("E[P]=1 "));

  // T = 16: E[E_act] ≈ 12.7 (performance-anchors.md B1), E[P] = T.
  const core::Cost sixteen = cost_of(k_moe, {{"seq_len", 16}});
  const double active16 = 32.0 * (1.0 - std::pow(31.0 / 32.0, 16.0));
  CHECK(active16 == Approx(12.7).margin(0.05));
  CHECK(sixteen.flops == 88080384.0 * 16);
  CHECK(sixteen.bytes == Approx(44050944.0 * active16 + 22752.0 * 16 + 512.0));

  // T = 14107 gives 1.24 TFLOP; with all 32 experts active, the weights are 1.41 GB, about
  // 176 µs at 8 TB/s.
  const core::Cost large = cost_of(k_moe, {{"seq_len", 14107}});
  CHECK(large.flops / 1e12 == Approx(1.24).margin(0.005));
  CHECK(44050944.0 * 32 / 1e9 == Approx(1.41).margin(0.005));
  CHECK(44050944.0 * 32 / 8e12 * 1e6 == Approx(176).margin(0.5));
  CHECK(large.bytes == Approx(44050944.0 * 32 + 22752.0 * 14107 + 512.0).epsilon(1e-12));
}

TEST_CASE("cost: MoE with all 32 local experts active (§1)", "[core][cost]") {
  // 32 tokens; token t raises the 8 experts 32 + (t..t+7) mod 32 of group 1, so every local
  // expert of offset 32 is chosen by 8 tokens.
  std::vector<std::vector<std::pair<int, float>>> raised(32);
  for (int t = 0; t < 32; ++t) {
    for (int k = 0; k < 8; ++k) {
      raised[static_cast<std::size_t>(t)].emplace_back(32 + (t + k) % 32,
                                                       3.0f + 0.1f * static_cast<float>(k));
    }
  }
  const core::Cost cost =
      cost_of(k_moe, {{"seq_len", 32}}, moe_inputs(moe_logits(raised), moe_bias(), 32));
  CHECK(cost.flops == 88080384.0 * 256);
  CHECK(cost.bytes == 44050944.0 * 32 + 22752.0 * 32 + 512.0);
  CHECK(cost.basis == "P=256 selected experts, 32 active");

  // The neighbouring rank (offset 64) holds none of them.
  const core::Cost other =
      cost_of(k_moe, {{"seq_len", 32}}, moe_inputs(moe_logits(raised), moe_bias(), 64));
  CHECK(other.flops == 0.0);
  CHECK(other.bytes == 22752.0 * 32 + 512.0);
  CHECK(other.basis == "P=0 selected experts, 0 active");
}

TEST_CASE("cost: MoE routing counts P and E_act with the grouped top-k", "[core][cost]") {
  const HostTensor logits = three_token_logits();
  const core::MoeRouting group1 = core::route_moe(logits, moe_bias(), 32, 32);
  CHECK(group1.pairs == 10); // t0: 8, t1: 2 (40, 41), t2: 0 (group 1 dropped)
  CHECK(group1.active_experts == 10);
  CHECK(group1.per_expert.size() == 32);
  CHECK(group1.per_expert[0] == 1);  // expert 32
  CHECK(group1.per_expert[8] == 1);  // expert 40
  CHECK(group1.per_expert[18] == 0); // expert 50: highest score of t2, but its group lost

  const core::MoeRouting group0 = core::route_moe(logits, moe_bias(), 0, 32);
  CHECK(group0.pairs == 4); // t1: 0, 1; t2: 0, 1
  CHECK(group0.active_experts == 2);
  CHECK(group0.per_expert[0] == 2);

  const core::MoeRouting group4 = core::route_moe(logits, moe_bias(), 128, 32);
  CHECK(group4.pairs == 2); // t2: 128, 129
  CHECK(group4.active_experts == 2);

  // Through estimate_cost: the same P and E_act.
  const core::Cost cost = cost_of(k_moe, {{"seq_len", 3}}, moe_inputs(logits, moe_bias(), 32));
  CHECK(cost.flops == 88080384.0 * 10);
  CHECK(cost.bytes == 44050944.0 * 10 + 22752.0 * 3 + 512.0);
  CHECK(cost.basis == "P=10 selected experts, 10 active");
}

TEST_CASE("cost: MoE routing selects with the bias but not beyond the kept groups",
          "[core][cost]") {
  // Group 0 experts 0..7 at logit 3 (s = 0.953); group 1 experts 32..39 at logit 0 (s = 0.5).
  std::vector<std::pair<int, float>> raised;
  for (int e = 0; e < 8; ++e) {
    raised.emplace_back(e, 3.0f);
    raised.emplace_back(32 + e, 0.0f);
  }
  const HostTensor logits = moe_logits({raised});
  // Without bias group 0's experts are the best 8.
  CHECK(core::route_moe(logits, moe_bias(), 32, 32).pairs == 0);
  CHECK(core::route_moe(logits, moe_bias(), 0, 32).pairs == 8);
  // A +1 bias on 32..39 makes their biased score 1.5 > 0.953: they win (the bias selects).
  const HostTensor bias = moe_bias({32, 33, 34, 35, 36, 37, 38, 39}, 1.0f);
  const core::MoeRouting biased = core::route_moe(logits, bias, 32, 32);
  CHECK(biased.pairs == 8);
  CHECK(biased.active_experts == 8);
  CHECK(core::route_moe(logits, bias, 0, 32).pairs == 0);
}

TEST_CASE("cost: MoE routing rejects inconsistent shapes", "[core][cost]") {
  const HostTensor logits = moe_logits({{}});
  CHECK_THAT(error_of([&] {
               (void)core::route_moe(
                   logits,
                   core::make_host_tensor(DType::bfloat16, {8}, std::vector<std::uint16_t>(8, 0)),
                   0, 32);
             }),
             Catch::Contains("routing_bias has 8 elements for 256 experts"));
  CHECK_THAT(error_of([&] { (void)core::route_moe(logits, moe_bias(), 0, 32, 7); }),
             Catch::Contains("cannot be routed"));
  // estimate_cost checks the shapes against the axes.
  CHECK_THAT(error_of([&] {
               (void)core::estimate_cost(def_of(k_moe), {{"seq_len", 2}},
                                         moe_inputs(logits, moe_bias(), 0));
             }),
             Catch::Contains("\"routing_logits\" does not have the shape"));
}

TEST_CASE("cost: DSA attention upper bound 2.40 MB per token, 19.2 MB at T=8 (§2)",
          "[core][cost]") {
  const core::Cost one = cost_of(k_dsa, {{"num_tokens", 1}, {"num_pages", 8462}});
  CHECK(one.bytes == 1152.0 * 2048 + 43072.0);
  CHECK(one.bytes / 1e6 == Approx(2.40).margin(0.005));
  CHECK(one.flops == 34816.0 * 2048);
  CHECK(one.flops / 1e6 == Approx(71.3).margin(0.05));

  const core::Cost eight = cost_of(k_dsa, {{"num_tokens", 8}, {"num_pages", 8462}});
  CHECK(eight.bytes == 1152.0 * 2048 * 8 + 43072.0 * 8);
  CHECK(eight.bytes / 1e6 == Approx(19.2).margin(0.05));
  CHECK(eight.bytes / 8e12 * 1e6 == Approx(2.4).margin(0.05));
  CHECK(eight.flops / eight.bytes == Approx(30).margin(0.5)); // "about 30 FLOP/B"
  CHECK_THAT(eight.basis, Catch::Contains("upper bound"));

  // U never exceeds the rows of the cache.
  const core::Cost tiny = cost_of(k_dsa, {{"num_tokens", 2}, {"num_pages", 1}});
  CHECK(tiny.bytes == 1152.0 * 64 + 43072.0 * 2);
}

TEST_CASE("cost: DSA attention counts n_t (!= -1) and distinct rows U", "[core][cost]") {
  std::vector<std::int32_t> indices(2 * 2048, -1);
  indices[0] = 5;
  indices[1] = 7;
  indices[2] = 9;
  indices[2048] = 7;
  indices[2049] = 100;
  const Axes axes{{"num_tokens", 2}, {"num_pages", 2}};
  const core::Cost cost =
      cost_of(k_dsa, axes, inputs_with(k_dsa, {{"sparse_indices", i32({2, 2048}, indices)}}));
  CHECK(cost.flops == 34816.0 * 5);
  CHECK(cost.bytes == 1152.0 * 4 + 43072.0 * 2);
  CHECK(cost.basis == "Σn_t=5 valid indices over 2 tokens, U=4 distinct rows");

  // A token with no valid index costs only its own row traffic.
  std::vector<std::int32_t> none(2048, -1);
  const core::Cost empty = cost_of(k_dsa, {{"num_tokens", 1}, {"num_pages", 2}},
                                   inputs_with(k_dsa, {{"sparse_indices", i32({1, 2048}, none)}}));
  CHECK(empty.flops == 0.0);
  CHECK(empty.bytes == 43072.0);
}

TEST_CASE("cost: indexer upper bound 30 x 91 pages is about 23 MB (§3)", "[core][cost]") {
  const core::Cost cost =
      cost_of(k_indexer, {{"batch_size", 30}, {"max_num_pages", 91}, {"num_pages", 11923}});
  CHECK(cost.bytes == 8448.0 * 30 * 91 + 30 * (16644.0 + 4 * 91));
  CHECK(8448.0 * 30 * 91 / 1e6 == Approx(23).margin(0.1));
  CHECK(cost.bytes / 8e12 * 1e6 == Approx(3).margin(0.1)); // "about 3 µs"
  CHECK(cost.flops == 16576.0 * 30 * 91 * 64);
  CHECK_THAT(cost.basis, Catch::Contains("upper bound"));
}

TEST_CASE("cost: indexer counts Σ L_b and the pages read, a shared page once", "[core][cost]") {
  // Row 0: L = 100 -> pages 3, 4; row 1: L = 0; row 2: L = 64 -> page 4 again.
  const Axes axes{{"batch_size", 3}, {"max_num_pages", 2}, {"num_pages", 8}};
  const core::Cost cost =
      cost_of(k_indexer, axes,
              inputs_with(k_indexer, {{"seq_lens", i32({3}, {100, 0, 64})},
                                      {"block_table", i32({3, 2}, {3, 4, 0, 0, 4, -1})}}));
  CHECK(cost.flops == 16576.0 * 164);
  CHECK(cost.bytes == 8448.0 * 2 + 3 * (16644.0 + 4 * 2));
  CHECK(cost.basis == "ΣL_b=164 tokens scored, 2 distinct K pages (Σp_b=3)");
}

TEST_CASE("cost: GDN decode B=64 moves 67.5 MB, 8.4 µs at 8 TB/s (§4)", "[core][cost]") {
  const core::Cost cost = cost_of(k_decode, {{"batch_size", 64}});
  CHECK(cost.bytes == 1054752.0 * 64 + 64);
  CHECK(cost.bytes / 1e6 == Approx(67.5).margin(0.05));
  CHECK(cost.bytes / 8e12 * 1e6 == Approx(8.4).margin(0.05));
  CHECK(cost.flops == 917504.0 * 64);
  CHECK(cost.flops / cost.bytes == Approx(0.87).margin(0.005));
  CHECK(cost.basis == "B=64 sequences");
  // 0.132 µs per sequence at 8 TB/s.
  CHECK(cost_of(k_decode, {{"batch_size", 1}}).bytes / 8e12 * 1e6 == Approx(0.132).margin(0.001));
}

TEST_CASE("cost: GDN prefill T=8192 N=57 is 110 MB and 7.5 GFLOP (§5)", "[core][cost]") {
  const core::Cost cost =
      cost_of(k_prefill, {{"total_seq_len", 8192}, {"num_seqs", 57}, {"len_cu_seqlens", 58}});
  CHECK(cost.bytes == 6176.0 * 8192 + 1048576.0 * 57 + 8.0 * 57 + 72);
  CHECK(cost.bytes / 1e6 == Approx(110).margin(0.5));
  CHECK(cost.bytes / 8e12 * 1e6 == Approx(14).margin(0.5));
  CHECK(cost.flops == 917504.0 * 8192);
  CHECK(cost.flops / 1e9 == Approx(7.5).margin(0.05));
  CHECK(cost.basis == "T=8192 tokens in N=57 sequences (axes)");
}

TEST_CASE("cost: GDN prefill takes T and N from cu_seqlens", "[core][cost]") {
  const Axes axes{{"total_seq_len", 10}, {"num_seqs", 3}, {"len_cu_seqlens", 4}};
  const HostTensor cu =
      core::make_host_tensor(DType::int64, {4}, std::vector<std::int64_t>{0, 3, 3, 10});
  const core::Cost cost = cost_of(k_prefill, axes, inputs_with(k_prefill, {{"cu_seqlens", cu}}));
  CHECK(cost.flops == 917504.0 * 10);
  CHECK(cost.bytes == 6176.0 * 10 + 1048576.0 * 3 + 8.0 * 3 + 72);
  CHECK(cost.basis == "T=10 tokens in N=3 sequences (cu_seqlens)");
}

TEST_CASE("cost: bad axes and inputs are errors", "[core][cost]") {
  CHECK_THAT(error_of([&] { (void)core::estimate_cost(def_of(k_decode), {}); }),
             Catch::Contains("needs a value for axis \"batch_size\""));
  CHECK_THAT(error_of([&] {
               (void)core::estimate_cost(def_of(k_decode), {{"batch_size", 1}},
                                         std::vector<HostTensor>(3));
             }),
             Catch::Contains("got 3 inputs, the definition has 9"));
  // An input the formula reads must have data of the right kind.
  const Axes axes{{"num_tokens", 1}, {"num_pages", 1}};
  CHECK_THAT(
      error_of([&] { (void)core::estimate_cost(def_of(k_dsa), axes, inputs_with(k_dsa, {})); }),
      Catch::Contains("\"sparse_indices\" is float32"));
  CHECK_THAT(error_of([&] {
               (void)core::estimate_cost(
                   def_of(k_dsa), axes,
                   inputs_with(k_dsa, {{"sparse_indices", i32({1, 4}, {0, 1, 2, 3})}}));
             }),
             Catch::Contains("does not have the shape"));
}

// --- the real definitions --------------------------------------------------------------------

TEST_CASE("cost: every example workload is costed, with and without stand-in inputs",
          "[core][cost]") {
  for (const std::string& name : core::costed_definitions()) {
    const core::Definition& def = def_of(name);
    const std::vector<core::Trace>& traces = examples().workloads_of(name);
    REQUIRE(!traces.empty());
    for (std::size_t i = 0; i < traces.size(); i += 7) { // a sample keeps the test quick
      const core::Workload& w = traces[i].workload;
      INFO(name << " workload " << w.uuid);
      const Axes axes(w.axes.begin(), w.axes.end());
      const core::Cost approx = *core::estimate_cost(def, axes);
      CHECK(approx.flops > 0.0);
      CHECK(approx.bytes > 0.0);

      // The inputs the formulas read, from the structured stand-ins of the missing blobs (the
      // others stay empty placeholders: the MoE weights alone are 1.4 GB).
      std::map<std::string, HostTensor> read;
      for (const char* input : {"routing_logits", "routing_bias", "local_expert_offset",
                                "sparse_indices", "seq_lens", "block_table", "cu_seqlens"}) {
        if (def.find_input(input) != nullptr) {
          read[input] = core::synthesize_input(def, w, input, 1);
        }
      }
      const core::Cost exact = *core::estimate_cost(def, axes, inputs_with(name, read));
      CHECK(exact.bytes > 0.0);
      CHECK(exact.flops <= approx.flops * (name == k_moe ? 8.0 : 1.0));
      if (name == k_decode || name == k_prefill) {
        CHECK(exact.flops == approx.flops); // the stand-in cu_seqlens agree with the axes
        CHECK(exact.bytes == approx.bytes);
      }
      if (name == k_moe) {
        const double tokens = static_cast<double>(axes.at("seq_len"));
        CHECK(exact.flops <= 88080384.0 * 8 * tokens);                    // P <= 8T
        CHECK(exact.bytes <= 44050944.0 * 32 + 22752.0 * tokens + 512.0); // E_act <= 32
      }
    }
  }
}

TEST_CASE("cost: the contest dataset's definitions cost the same as examples/", "[core][cost]") {
  const fs::path root(FIBKIT_CONTEST_DATASET);
  if (!fs::exists(root / "definitions")) {
    WARN("no contest dataset at " << root.string());
    return;
  }
  const std::vector<std::pair<std::string, Axes>> cases{
      {"moe/" + k_moe, {{"seq_len", 901}}},
      {"dsa_paged/" + k_dsa, {{"num_tokens", 8}, {"num_pages", 8462}}},
      {"dsa_paged/" + k_indexer, {{"batch_size", 30}, {"max_num_pages", 91}, {"num_pages", 11923}}},
      {"gdn/" + k_decode, {{"batch_size", 48}}},
      {"gdn/" + k_prefill, {{"total_seq_len", 5709}, {"num_seqs", 2}, {"len_cu_seqlens", 3}}},
  };
  for (const auto& [file, axes] : cases) {
    INFO(file);
    const fs::path path = root / "definitions" / (file + ".json");
    const core::Definition official = core::load_definition(path, file);
    const core::Cost a = *core::estimate_cost(official, axes);
    const core::Cost b = *core::estimate_cost(def_of(official.name), axes);
    CHECK(a.flops == b.flops);
    CHECK(a.bytes == b.bytes);
    CHECK(a.basis == b.basis);
  }
}

// --- device peaks and the roofline ------------------------------------------------------------

TEST_CASE("cost: device names map to their datasheet peaks", "[core][cost]") {
  const auto model_of = [](std::string_view name) {
    const std::optional<core::DevicePeaks> peaks = core::find_device_peaks(name);
    return peaks ? peaks->model : std::string("none");
  };
  CHECK(model_of("NVIDIA H100 80GB HBM3") == "H100 SXM");
  CHECK(model_of("NVIDIA H100") == "H100 SXM");
  CHECK(model_of("NVIDIA H100 PCIe") == "H100 PCIe");
  CHECK(model_of("nvidia h100 pcie") == "H100 PCIe");
  CHECK(model_of("NVIDIA H100 NVL") == "H100 NVL");
  CHECK(model_of("NVIDIA H200") == "H200 SXM");
  CHECK(model_of("NVIDIA H200 NVL") == "H200 NVL");
  CHECK(model_of("NVIDIA B200") == "B200");
  CHECK(model_of("NVIDIA GB200") == "GB200");
  CHECK(model_of("NVIDIA GH200 480GB") == "none");
  CHECK(model_of("NVIDIA A100-SXM4-80GB") == "none");
  CHECK(model_of("NVIDIA GeForce RTX 4090") == "none");
  CHECK(model_of("NVIDIA H100 80GB HBM3 MIG 1g.10gb") == "none");
  CHECK(model_of("") == "none");

  // The figures of performance-anchors.md B0.
  const core::DevicePeaks h100 = *core::find_device_peaks("NVIDIA H100 80GB HBM3");
  CHECK(h100.hbm_bytes_per_s == 3.35e12);
  CHECK(h100.bf16_dense_flops == 989e12);
  CHECK(h100.fp8_dense_flops == 1979e12);
  CHECK(h100.l2_bytes == 50.0 * 1024 * 1024);
  CHECK(h100.practical_hbm_bytes_per_s == 3.0e12);
  const core::DevicePeaks h200 = *core::find_device_peaks("NVIDIA H200");
  CHECK(h200.hbm_bytes_per_s == 4.8e12);
  CHECK(h200.practical_hbm_bytes_per_s == 4.3e12);
  const core::DevicePeaks b200 = *core::find_device_peaks("NVIDIA B200");
  CHECK(b200.hbm_bytes_per_s == 8.0e12);
  CHECK(b200.bf16_dense_flops == 2250e12);
  CHECK(b200.fp8_dense_flops == 4500e12);
  CHECK_THAT(b200.practical_note, Catch::Contains("not measured"));

  for (const core::DevicePeaks& peaks : core::known_device_peaks()) {
    INFO(peaks.model);
    CHECK(!peaks.source.empty());
    // Users see these in bench's report: they name datasheets, not fibkit's internal notes.
    CHECK_THAT(peaks.source, !Catch::Contains("performance-anchors") && Catch::Contains("NVIDIA"));
    CHECK_THAT(peaks.practical_note, !Catch::Contains("performance-anchors"));
    CHECK(peaks.fp8_dense_flops == Approx(2.0 * peaks.bf16_dense_flops).epsilon(0.002));
    CHECK(peaks.l2_bytes > 0.0);
    if (peaks.practical_hbm_bytes_per_s) {
      CHECK(*peaks.practical_hbm_bytes_per_s < peaks.hbm_bytes_per_s);
      CHECK(!peaks.practical_note.empty());
    }
  }
}

TEST_CASE("cost: the FP8 peak applies to the definitions with fp8 inputs", "[core][cost]") {
  CHECK(core::uses_fp8_tensor_cores(def_of(k_moe)));
  CHECK(core::uses_fp8_tensor_cores(def_of(k_indexer)));
  CHECK_FALSE(core::uses_fp8_tensor_cores(def_of(k_dsa)));
  CHECK_FALSE(core::uses_fp8_tensor_cores(def_of(k_decode)));
  CHECK_FALSE(core::uses_fp8_tensor_cores(def_of(k_prefill)));
}

TEST_CASE("cost: roofline fractions and the bound", "[core][cost]") {
  const core::DevicePeaks h100 = *core::find_device_peaks("NVIDIA H100 80GB HBM3");

  // GDN decode B=64 in 25 µs: 2.70 TB/s, 81 % of 3.35 TB/s, 90 % of the practical 3.0 TB/s.
  const core::Cost decode = cost_of(k_decode, {{"batch_size", 64}});
  const core::Roofline r = core::roofline(decode, 25e-6, h100, false);
  CHECK(r.achieved_bytes_per_s == Approx(decode.bytes / 25e-6));
  CHECK(r.achieved_flops_per_s == Approx(decode.flops / 25e-6));
  CHECK(r.bw_fraction == Approx(decode.bytes / 25e-6 / 3.35e12));
  CHECK(r.flop_fraction == Approx(decode.flops / 25e-6 / 989e12));
  CHECK(r.bw_fraction == Approx(0.806).margin(0.001));
  REQUIRE(r.practical_bw_fraction.has_value());
  CHECK(*r.practical_bw_fraction == Approx(0.900).margin(0.001));
  CHECK(r.bound == "memory");

  // MoE T=14107 (uniform routing) in 1 ms: 1.24 PFLOP/s is 63 % of the FP8 peak but the
  // 1.73 TB/s only 52 % of HBM: compute.
  const core::Cost moe = cost_of(k_moe, {{"seq_len", 14107}});
  const core::Roofline fp8 = core::roofline(moe, 1e-3, h100, true);
  CHECK(fp8.flop_fraction == Approx(moe.flops / 1e-3 / 1979e12));
  CHECK(fp8.flop_fraction == Approx(0.628).margin(0.001));
  CHECK(fp8.bw_fraction == Approx(0.517).margin(0.001));
  CHECK(fp8.bound == "compute");
  // Against the BF16 peak the same run would be above 100 %.
  CHECK(core::roofline(moe, 1e-3, h100, false).flop_fraction > 1.0);

  // No practical ceiling known: no practical fraction. A tie is "memory".
  const core::DevicePeaks pcie = *core::find_device_peaks("NVIDIA H100 PCIe");
  CHECK_FALSE(core::roofline(decode, 25e-6, pcie, false).practical_bw_fraction.has_value());
  const core::Cost tie{2.0e12 * 756.5, 2.0e12 * 2.0, "tie"};
  CHECK(core::roofline(tie, 1.0, pcie, false).bound == "memory");

  CHECK_THAT(error_of([&] { (void)core::roofline(decode, 0.0, h100, false); }),
             Catch::Contains("latency must be positive"));
  CHECK_THAT(error_of([&] { (void)core::roofline(decode, std::nan(""), h100, false); }),
             Catch::Contains("latency must be positive"));
}
