// Tests for the synthetic stand-ins of the contest's safetensors blobs
// (include/fibkit/core/eval/synth.hpp): the host dtype conversions, determinism, the structure of
// every synthesised contest tensor on the examples' workloads (sparse indices, seq_lens and
// block tables, GDN tensors and cu_seqlens, MoE routing), the official random distributions,
// and the blob files written for a TraceSet passing check_blobs.
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/eval/synth.hpp"
#include "fibkit/core/trace/blobs.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/safetensors.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace fibkit;
using core::DType;
using core::HostTensor;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;

namespace {

const std::string k_sparse = "dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64";
const std::string k_indexer = "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64";
const std::string k_decode = "gdn_decode_qk4_v8_d128_k_last";
const std::string k_prefill = "gdn_prefill_qk4_v8_d128_k_last";
const std::string k_moe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";

const core::TraceSet& examples() {
  static const core::TraceSet set = core::load_embedded_examples();
  return set;
}

const core::Definition& def_of(const std::string& name) {
  const core::Definition* def = examples().find_definition(name);
  REQUIRE(def != nullptr);
  return *def;
}

std::vector<core::Workload> workloads_of(const std::string& name) {
  std::vector<core::Workload> out;
  for (const core::Trace& t : examples().workloads_of(name)) {
    out.push_back(t.workload);
  }
  REQUIRE(!out.empty());
  return out;
}

std::int64_t axis(const core::Workload& w, const std::string& name) {
  const std::int64_t* value = w.find_axis(name);
  REQUIRE(value != nullptr);
  return *value;
}

/// The workload with the largest value of `axis_name`.
core::Workload largest(const std::string& def, const std::string& axis_name) {
  const std::vector<core::Workload> all = workloads_of(def);
  return *std::max_element(all.begin(), all.end(), [&](const auto& a, const auto& b) {
    return axis(a, axis_name) < axis(b, axis_name);
  });
}

/// The elements of a tensor widened to double.
std::vector<double> values(const HostTensor& t) {
  std::vector<double> out(t.numel());
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = t.at(i);
  }
  return out;
}

double mean(const std::vector<double>& v) {
  double sum = 0.0;
  for (const double x : v) {
    sum += x;
  }
  return sum / static_cast<double>(v.size());
}

double stddev(const std::vector<double>& v) {
  const double m = mean(v);
  double sum = 0.0;
  for (const double x : v) {
    sum += (x - m) * (x - m);
  }
  return std::sqrt(sum / static_cast<double>(v.size()));
}

/// Checks that every row of the last dimension has an L2 norm of about 1.
void check_unit_rows(const HostTensor& t) {
  REQUIRE(t.dtype == DType::bfloat16);
  const auto dim = static_cast<std::size_t>(t.shape.back());
  for (std::size_t base = 0; base < t.numel(); base += dim) {
    double sum = 0.0;
    for (std::size_t j = 0; j < dim; ++j) {
      sum += t.at(base + j) * t.at(base + j);
    }
    REQUIRE(std::sqrt(sum) == Approx(1.0).margin(1e-2));
  }
}

float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}
float softplus(float x) {
  return x > 20.0f ? x : std::log1p(std::exp(x));
}

} // namespace

TEST_CASE("synth: float conversions round to nearest even and match the decoders",
          "[core][synth]") {
  // Exact values survive; ties go to the even neighbour.
  CHECK(core::float_to_bf16(1.0f) == 0x3f80);
  CHECK(core::float_to_bf16(-2.0f) == 0xc000);
  CHECK(core::float_to_bf16(1.0f + 0x1.0p-8f) == 0x3f80);     // tie -> even (down)
  CHECK(core::float_to_bf16(1.0f + 3 * 0x1.0p-8f) == 0x3f82); // tie -> even (up)
  CHECK(core::float_to_bf16(std::nanf("")) == 0x7fc0);
  CHECK(core::float_to_fp16(1.0f) == 0x3c00);
  CHECK(core::float_to_fp16(65504.0f) == 0x7bff);
  CHECK(core::float_to_fp16(65520.0f) == 0x7c00);   // tie past max -> inf
  CHECK(core::float_to_fp16(0x1.0p-24f) == 0x0001); // smallest subnormal
  CHECK(core::float_to_fp16(0x1.0p-25f) == 0x0000); // tie -> even zero
  CHECK(core::float_to_fp16(-0.0f) == 0x8000);
  CHECK(core::float_to_fp8_e4m3fn(448.0f) == 0x7e);
  CHECK(core::float_to_fp8_e4m3fn(464.0f) == 0x7e); // tie -> 448
  CHECK(core::float_to_fp8_e4m3fn(470.0f) == 0x7f); // past 464 -> NaN
  CHECK(core::float_to_fp8_e4m3fn(-1e9f) == 0xff);
  CHECK(core::float_to_fp8_e4m3fn(0x1.0p-9f) == 0x01); // smallest subnormal
  CHECK(core::float_to_fp8_e4m3fn(1.0625f) == 0x38);   // tie -> even (1.0)
  CHECK(core::float_to_fp8_e5m2(57344.0f) == 0x7b);
  CHECK(core::float_to_fp8_e5m2(1e6f) == 0x7c);
  CHECK(core::float_to_fp8_e5m2(-std::numeric_limits<float>::infinity()) == 0xfc);
  CHECK(core::float_to_fp8_e5m2(0x1.0p-16f) == 0x01);
  // Every finite code of the 8-bit formats round-trips through its decoder.
  for (int b = 0; b < 256; ++b) {
    const auto bits = static_cast<std::uint8_t>(b);
    const float e4 = core::fp8_e4m3fn_to_float(bits);
    if (!std::isnan(e4) && bits != 0x80) {
      CHECK(core::float_to_fp8_e4m3fn(e4) == bits);
    }
    const float e5 = core::fp8_e5m2_to_float(bits);
    if (std::isfinite(e5) && bits != 0x80) {
      CHECK(core::float_to_fp8_e5m2(e5) == bits);
    }
  }
  // And every finite fp16 code (including subnormals) and a sweep of bf16 codes.
  for (std::uint32_t b = 0; b < 0x10000; ++b) {
    const auto bits = static_cast<std::uint16_t>(b);
    const float h = core::fp16_to_float(bits);
    if (std::isfinite(h)) {
      REQUIRE(core::float_to_fp16(h) == bits);
    }
    const float bf = core::bf16_to_float(bits);
    if (std::isfinite(bf)) {
      REQUIRE(core::float_to_bf16(bf) == bits);
    }
  }
}

TEST_CASE("synth: deterministic in seed, definition, workload and input", "[core][synth]") {
  const core::Definition& def = def_of(k_decode);
  const std::vector<core::Workload> all = workloads_of(k_decode);
  const core::Workload& w = all.at(0);
  const HostTensor a = core::synthesize_input(def, w, "q", 7);
  const HostTensor b = core::synthesize_input(def, w, "q", 7);
  CHECK(a.bytes == b.bytes);
  CHECK(a.shape == std::vector<std::int64_t>{axis(w, "batch_size"), 1, 4, 128});
  CHECK(core::synthesize_input(def, w, "q", 8).bytes != a.bytes);
  CHECK(core::synthesize_input(def, w, "k", 7).bytes != a.bytes);
  // Same shape, other workload uuid.
  const auto other = std::find_if(all.begin() + 1, all.end(), [&](const core::Workload& x) {
    return axis(x, "batch_size") == axis(w, "batch_size");
  });
  REQUIRE(other != all.end());
  CHECK(core::synthesize_input(def, *other, "q", 7).bytes != a.bytes);
  // Structured integer tensors too.
  const core::Definition& sparse = def_of(k_sparse);
  const core::Workload ws = workloads_of(k_sparse).back();
  CHECK(core::synthesize_input(sparse, ws, "sparse_indices", 1).bytes ==
        core::synthesize_input(sparse, ws, "sparse_indices", 1).bytes);
  CHECK(core::synthesize_input(sparse, ws, "sparse_indices", 1).bytes !=
        core::synthesize_input(sparse, ws, "sparse_indices", 2).bytes);
}

TEST_CASE("synth: dsa sparse_indices have distinct valid slots at the front, then -1",
          "[core][synth]") {
  const core::Definition& def = def_of(k_sparse);
  std::size_t full_rows = 0;
  std::size_t low_density_rows = 0;
  std::size_t rows = 0;
  std::size_t tokens_total = 0;
  for (const core::Workload& w : workloads_of(k_sparse)) {
    tokens_total += static_cast<std::size_t>(axis(w, "num_tokens"));
    const HostTensor t = core::synthesize_input(def, w, "sparse_indices", 42);
    const std::int64_t tokens = axis(w, "num_tokens");
    const std::int64_t slots = axis(w, "num_pages") * 64;
    REQUIRE(t.dtype == DType::int32);
    REQUIRE(t.shape == std::vector<std::int64_t>{tokens, 2048});
    for (std::int64_t row = 0; row < tokens; ++row) {
      std::set<std::int64_t> seen;
      std::int64_t n = 0;
      bool padding = false;
      for (std::int64_t j = 0; j < 2048; ++j) {
        const std::int64_t v = t.int_at(static_cast<std::size_t>(row * 2048 + j));
        if (v == -1) {
          padding = true;
          continue;
        }
        INFO("workload " << w.uuid << " row " << row << " column " << j);
        REQUIRE(!padding); // valid entries only before the first -1
        REQUIRE(v >= 0);
        REQUIRE(v < slots);
        REQUIRE(seen.insert(v).second);
        ++n;
      }
      REQUIRE(n >= 1);
      ++rows;
      full_rows += n == 2048;
      low_density_rows += n >= 100 && n <= 500;
    }
  }
  CHECK(rows == tokens_total);
  CHECK(workloads_of(k_sparse).size() == 23);
  CHECK(full_rows > rows / 4);
  CHECK(low_density_rows > 0);
  CHECK(full_rows < rows);
}

TEST_CASE("synth: indexer seq_lens and block_table are consistent paged tables", "[core][synth]") {
  const core::Definition& def = def_of(k_indexer);
  std::size_t short_rows = 0;
  std::size_t full_rows = 0;
  for (const core::Workload& w : workloads_of(k_indexer)) {
    INFO("workload " << w.uuid);
    const std::int64_t batch = axis(w, "batch_size");
    const std::int64_t width = axis(w, "max_num_pages");
    const std::int64_t pages = axis(w, "num_pages");
    const HostTensor lens = core::synthesize_input(def, w, "seq_lens", 3);
    const HostTensor table = core::synthesize_input(def, w, "block_table", 3);
    REQUIRE(lens.dtype == DType::int32);
    REQUIRE(lens.shape == std::vector<std::int64_t>{batch});
    REQUIRE(table.dtype == DType::int32);
    REQUIRE(table.shape == std::vector<std::int64_t>{batch, width});
    std::int64_t widest = 0;
    std::set<std::int64_t> table_pages;
    for (std::int64_t b = 0; b < batch; ++b) {
      const std::int64_t length = lens.int_at(static_cast<std::size_t>(b));
      REQUIRE(length >= 1);
      REQUIRE(length <= width * 64);
      const std::int64_t needed = (length + 63) / 64;
      widest = std::max(widest, needed);
      short_rows += length <= 64;
      full_rows += length == width * 64;
      std::set<std::int64_t> row_pages;
      for (std::int64_t j = 0; j < width; ++j) {
        const std::int64_t page = table.int_at(static_cast<std::size_t>(b * width + j));
        REQUIRE(page >= 0);
        REQUIRE(page < pages);
        REQUIRE(row_pages.insert(page).second); // distinct within the row (all slots)
        table_pages.insert(page);
      }
    }
    CHECK(widest == width); // the table is exactly as wide as the longest sequence needs
    CHECK(static_cast<std::int64_t>(table_pages.size()) == batch * width); // owned pages
  }
  CHECK(short_rows > 10);
  CHECK(full_rows > 10);
}

TEST_CASE("synth: indexer k cache is the packed deep_gemm FP8 layout", "[core][synth]") {
  const core::Definition& def = def_of(k_indexer);
  core::Workload w = workloads_of(k_indexer).at(0);
  for (auto& [name, value] : w.axes) {
    if (name == "num_pages") {
      value = 3; // keep it small; the layout is per page
    }
  }
  const HostTensor t = core::synthesize_input(def, w, "k_index_cache_fp8", 5);
  REQUIRE(t.dtype == DType::int8);
  REQUIRE(t.shape == std::vector<std::int64_t>{3, 64, 1, 132});
  for (std::size_t p = 0; p < 3; ++p) {
    const std::uint8_t* page = t.bytes.data() + p * 8448;
    for (std::size_t s = 0; s < 64; ++s) {
      float scale = 0.0f;
      std::memcpy(&scale, page + 64 * 128 + s * 4, 4);
      REQUIRE(scale > 0.0f);
      REQUIRE(scale < 6.0f / 448.0f);
      float amax = 0.0f;
      for (std::size_t c = 0; c < 128; ++c) {
        const float x = core::fp8_e4m3fn_to_float(page[s * 128 + c]);
        REQUIRE(std::isfinite(x));
        amax = std::max(amax, std::fabs(x));
      }
      REQUIRE(amax == Approx(448.0f).epsilon(0.02)); // the row's amax maps to the fp8 max
    }
  }
}

TEST_CASE("synth: gdn decode tensors have the model's structure and keep outputs bounded",
          "[core][synth]") {
  const core::Definition& def = def_of(k_decode);
  const core::Workload w = largest(k_decode, "batch_size");
  const std::int64_t batch = axis(w, "batch_size");
  REQUIRE(batch == 64);
  const HostTensor q = core::synthesize_input(def, w, "q", 11);
  const HostTensor k = core::synthesize_input(def, w, "k", 11);
  check_unit_rows(q);
  check_unit_rows(k);
  const HostTensor v = core::synthesize_input(def, w, "v", 11);
  CHECK(v.dtype == DType::bfloat16);
  CHECK(mean(values(v)) == Approx(0.0).margin(0.02));
  CHECK(stddev(values(v)) == Approx(1.0).epsilon(0.03));
  const HostTensor state = core::synthesize_input(def, w, "state", 11);
  CHECK(state.dtype == DType::float32);
  CHECK(state.shape == std::vector<std::int64_t>{batch, 8, 128, 128});
  CHECK(stddev(values(state)) == Approx(0.1).epsilon(0.01));
  const HostTensor a_log = core::synthesize_input(def, w, "A_log", 11);
  const HostTensor dt_bias = core::synthesize_input(def, w, "dt_bias", 11);
  const HostTensor a = core::synthesize_input(def, w, "a", 11);
  const HostTensor b = core::synthesize_input(def, w, "b", 11);
  CHECK(stddev(values(a)) == Approx(1.0).epsilon(0.15));
  CHECK(stddev(values(b)) == Approx(1.0).epsilon(0.15));
  for (std::size_t h = 0; h < 8; ++h) {
    REQUIRE(std::exp(a_log.at(h)) >= 1.0 - 1e-6);
    REQUIRE(std::exp(a_log.at(h)) <= 16.0 + 1e-5);
    REQUIRE(dt_bias.at(h) < -2.0); // inverse softplus of dt in [1e-3, 1e-1]
    REQUIRE(dt_bias.at(h) > -7.0);
  }
  // The reference recurrence on the first 4 sequences: gates in (0,1), finite bounded outputs.
  const float scale = 1.0f / std::sqrt(128.0f);
  double max_out = 0.0;
  for (std::size_t s = 0; s < 4; ++s) {
    for (std::size_t h = 0; h < 8; ++h) {
      const std::size_t gate = s * 8 + h;
      const float g = std::exp(-std::exp(static_cast<float>(a_log.at(h))) *
                               softplus(static_cast<float>(a.at(gate) + dt_bias.at(h))));
      const float beta = sigmoid(static_cast<float>(b.at(gate)));
      REQUIRE(g > 0.0f);
      REQUIRE(g < 1.0f);
      const std::size_t qk = (s * 4 + h / 2) * 128;
      const std::size_t sv = (s * 8 + h) * 128 * 128; // [V][K]
      std::vector<float> old_v(128, 0.0f);
      for (std::size_t i = 0; i < 128; ++i) {
        for (std::size_t j = 0; j < 128; ++j) {
          old_v[i] += static_cast<float>(k.at(qk + j) * state.at(sv + i * 128 + j)) * g;
        }
      }
      for (std::size_t i = 0; i < 128; ++i) {
        const float delta = beta * (static_cast<float>(v.at((s * 8 + h) * 128 + i)) - old_v[i]);
        float out = 0.0f;
        for (std::size_t j = 0; j < 128; ++j) {
          const float updated = g * static_cast<float>(state.at(sv + i * 128 + j)) +
                                static_cast<float>(k.at(qk + j)) * delta;
          out += static_cast<float>(q.at(qk + j)) * updated;
        }
        REQUIRE(std::isfinite(out));
        max_out = std::max(max_out, std::fabs(static_cast<double>(out * scale)));
      }
    }
  }
  CHECK(max_out < 2.0);
  CHECK(max_out > 1e-3);
}

TEST_CASE("synth: gdn prefill cu_seqlens partition total_seq_len", "[core][synth]") {
  const core::Definition& def = def_of(k_prefill);
  bool saw_short = false;
  for (const core::Workload& w : workloads_of(k_prefill)) {
    INFO("workload " << w.uuid);
    const std::int64_t total = axis(w, "total_seq_len");
    const std::int64_t seqs = axis(w, "num_seqs");
    REQUIRE(axis(w, "len_cu_seqlens") == seqs + 1);
    const HostTensor cu = core::synthesize_input(def, w, "cu_seqlens", 9);
    REQUIRE(cu.dtype == DType::int64);
    REQUIRE(cu.shape == std::vector<std::int64_t>{seqs + 1});
    REQUIRE(cu.int_at(0) == 0);
    REQUIRE(cu.int_at(static_cast<std::size_t>(seqs)) == total);
    for (std::int64_t i = 0; i < seqs; ++i) {
      const std::int64_t length =
          cu.int_at(static_cast<std::size_t>(i + 1)) - cu.int_at(static_cast<std::size_t>(i));
      REQUIRE(length >= (total >= seqs ? 1 : 0));
      REQUIRE(length <= total);
      saw_short = saw_short || (seqs > 4 && length * seqs * 4 < total);
    }
  }
  CHECK(saw_short); // lengths are uneven, not total / N each
}

TEST_CASE("synth: gdn prefill q and k are unit rows on the largest workload", "[core][synth]") {
  const core::Definition& def = def_of(k_prefill);
  const core::Workload w = largest(k_prefill, "total_seq_len");
  const std::int64_t total = axis(w, "total_seq_len");
  REQUIRE(total == 8192);
  const HostTensor q = core::synthesize_input(def, w, "q", 1);
  const HostTensor k = core::synthesize_input(def, w, "k", 1);
  CHECK(q.shape == std::vector<std::int64_t>{total, 4, 128});
  check_unit_rows(q);
  check_unit_rows(k);
  const HostTensor state = core::synthesize_input(def, w, "state", 1);
  CHECK(state.shape == std::vector<std::int64_t>{axis(w, "num_seqs"), 8, 128, 128});
}

TEST_CASE("synth: a prefill sequence stays bounded through the delta rule", "[core][synth]") {
  const core::Definition& def = def_of(k_prefill);
  // The shortest single-sequence workload of at least 100 tokens.
  std::vector<core::Workload> all = workloads_of(k_prefill);
  std::sort(all.begin(), all.end(), [](const auto& x, const auto& y) {
    return axis(x, "total_seq_len") < axis(y, "total_seq_len");
  });
  const auto it = std::find_if(all.begin(), all.end(), [](const core::Workload& x) {
    return axis(x, "num_seqs") == 1 && axis(x, "total_seq_len") >= 100;
  });
  REQUIRE(it != all.end());
  const core::Workload& w = *it;
  const auto tokens = static_cast<std::size_t>(axis(w, "total_seq_len"));
  const HostTensor q = core::synthesize_input(def, w, "q", 4);
  const HostTensor k = core::synthesize_input(def, w, "k", 4);
  const HostTensor v = core::synthesize_input(def, w, "v", 4);
  const HostTensor a = core::synthesize_input(def, w, "a", 4);
  const HostTensor b = core::synthesize_input(def, w, "b", 4);
  const HostTensor a_log = core::synthesize_input(def, w, "A_log", 4);
  const HostTensor dt_bias = core::synthesize_input(def, w, "dt_bias", 4);
  const HostTensor state0 = core::synthesize_input(def, w, "state", 4);
  // One v head (h = 0, q/k head 0) over the whole sequence.
  std::vector<float> state(128 * 128); // [V][K]
  for (std::size_t i = 0; i < state.size(); ++i) {
    state[i] = static_cast<float>(state0.at(i));
  }
  double max_out = 0.0;
  for (std::size_t t = 0; t < tokens; ++t) {
    const float g = std::exp(-std::exp(static_cast<float>(a_log.at(0))) *
                             softplus(static_cast<float>(a.at(t * 8) + dt_bias.at(0))));
    const float beta = sigmoid(static_cast<float>(b.at(t * 8)));
    for (std::size_t i = 0; i < 128; ++i) {
      float old_v = 0.0f;
      for (std::size_t j = 0; j < 128; ++j) {
        state[i * 128 + j] *= g;
        old_v += static_cast<float>(k.at(t * 512 + j)) * state[i * 128 + j];
      }
      const float delta = beta * (static_cast<float>(v.at(t * 1024 + i)) - old_v);
      float out = 0.0f;
      for (std::size_t j = 0; j < 128; ++j) {
        state[i * 128 + j] += static_cast<float>(k.at(t * 512 + j)) * delta;
        out += static_cast<float>(q.at(t * 512 + j)) * state[i * 128 + j];
      }
      REQUIRE(std::isfinite(out));
      max_out = std::max(max_out, std::fabs(static_cast<double>(out)) / std::sqrt(128.0));
    }
  }
  CHECK(max_out < 2.0);
}

TEST_CASE("synth: moe routing tensors and the official random distributions", "[core][synth]") {
  const core::Definition& def = def_of(k_moe);
  const core::Workload w = largest(k_moe, "seq_len");
  const std::int64_t tokens = axis(w, "seq_len");
  const HostTensor logits = core::synthesize_input(def, w, "routing_logits", 2);
  CHECK(logits.dtype == DType::float32);
  CHECK(logits.shape == std::vector<std::int64_t>{tokens, 256});
  const std::vector<double> lv = values(logits);
  CHECK(mean(lv) == Approx(0.0).margin(0.01));
  CHECK(stddev(lv) == Approx(2.0).epsilon(0.01));
  const HostTensor bias = core::synthesize_input(def, w, "routing_bias", 2);
  CHECK(bias.dtype == DType::bfloat16);
  CHECK(bias.shape == std::vector<std::int64_t>{256});
  CHECK(stddev(values(bias)) == Approx(0.1).epsilon(0.2));
  // Random inputs of the smallest workload: fp8 clamp(randn, +-2), float32 N(0,1).
  const core::Workload small = workloads_of(k_moe).at(0);
  const HostTensor hidden = core::synthesize_input(def, small, "hidden_states", 2);
  CHECK(hidden.dtype == DType::float8_e4m3fn);
  const std::vector<double> hv = values(hidden);
  CHECK(*std::max_element(hv.begin(), hv.end()) == 2.0);
  CHECK(*std::min_element(hv.begin(), hv.end()) == -2.0);
  CHECK(stddev(hv) == Approx(0.95).epsilon(0.05));
  const HostTensor hs_scale = core::synthesize_input(def, small, "hidden_states_scale", 2);
  CHECK(hs_scale.shape == std::vector<std::int64_t>{56, axis(small, "seq_len")});
  // Inline scalars keep their value.
  const HostTensor factor = core::synthesize_input(def, small, "routed_scaling_factor", 2);
  CHECK(factor.shape.empty());
  CHECK(factor.at(0) == Approx(2.5));
  CHECK(error_of([&] {
          core::synthesize_input(def, small, "nope", 2);
        }).find("no input \"nope\"") != std::string::npos);
}

TEST_CASE("synth: integer, bool and narrow float random inputs", "[core][synth]") {
  core::Definition def;
  def.name = "toy";
  def.op_type = "toy";
  def.axes.push_back(core::Axis{"M", false, 0, {}});
  for (const auto& [name, dtype] :
       std::vector<std::pair<std::string, DType>>{{"i32", DType::int32},
                                                  {"i64", DType::int64},
                                                  {"i8", DType::int8},
                                                  {"flag", DType::boolean},
                                                  {"half", DType::float16},
                                                  {"e5", DType::float8_e5m2},
                                                  {"f4", DType::float4_e2m1}}) {
    def.inputs.push_back(core::TensorSpec{name, std::vector<std::string>{"M"}, dtype, {}});
  }
  core::Workload w;
  w.uuid = "u";
  w.axes = {{"M", 20000}};
  auto range = [&](const std::string& name) {
    const HostTensor t = core::synthesize_input(def, w, name, 0);
    std::int64_t lo = 0;
    std::int64_t hi = 0;
    for (std::size_t i = 0; i < t.numel(); ++i) {
      lo = std::min(lo, t.int_at(i));
      hi = std::max(hi, t.int_at(i));
    }
    return std::make_pair(lo, hi);
  };
  CHECK(range("i32") == std::make_pair<std::int64_t, std::int64_t>(-1024, 1023));
  CHECK(range("i64") == std::make_pair<std::int64_t, std::int64_t>(-1024, 1023));
  CHECK(range("i8") == std::make_pair<std::int64_t, std::int64_t>(-128, 127));
  CHECK(range("flag") == std::make_pair<std::int64_t, std::int64_t>(0, 1));
  const std::vector<double> half = values(core::synthesize_input(def, w, "half", 0));
  CHECK(stddev(half) == Approx(1.0).epsilon(0.03));
  const std::vector<double> e5 = values(core::synthesize_input(def, w, "e5", 0));
  CHECK(*std::max_element(e5.begin(), e5.end()) == 2.0);
  CHECK(error_of([&] { core::synthesize_input(def, w, "f4", 0); }).find("float4_e2m1") !=
        std::string::npos);
}

TEST_CASE("synth: synthesized_inputs lists the safetensors inputs in definition order",
          "[core][synth]") {
  const core::Definition& prefill = def_of(k_prefill);
  CHECK(
      core::synthesized_inputs(prefill, workloads_of(k_prefill).at(0)) ==
      std::vector<std::string>{"q", "k", "v", "state", "A_log", "a", "dt_bias", "b", "cu_seqlens"});
  CHECK(core::synthesized_inputs(def_of(k_moe), workloads_of(k_moe).at(0)) ==
        std::vector<std::string>{"routing_logits", "routing_bias"});
  CHECK(core::synthesized_inputs(def_of(k_indexer), workloads_of(k_indexer).at(0)) ==
        std::vector<std::string>{"seq_lens", "block_table"});
}

TEST_CASE("synth: written blobs make a TraceSet's blobs present and valid", "[core][synth]") {
  TempDir dir;
  const fs::path source(FIBKIT_SOURCE_DIR);
  std::ifstream def_in(source / "examples/definitions/gdn" / (k_decode + ".json"));
  std::stringstream def_text;
  def_text << def_in.rdbuf();
  dir.write("definitions/gdn/" + k_decode + ".json", def_text.str());
  std::ifstream lines_in(source / "examples/workloads/gdn" / (k_decode + ".jsonl"));
  std::string line;
  std::string lines;
  for (int i = 0; i < 2 && std::getline(lines_in, line); ++i) {
    lines += line + "\n";
  }
  dir.write("workloads/gdn/" + k_decode + ".jsonl", lines);

  const core::TraceSet set = core::load_trace_set(dir.path());
  const core::Definition* def = set.find_definition(k_decode);
  REQUIRE(def != nullptr);
  REQUIRE(set.workloads_of(k_decode).size() == 2);
  const core::BlobReport before = core::check_blobs(set, *def, false);
  CHECK(before.referenced == 2);
  CHECK(before.missing.size() == 2);

  core::write_synthesized_blobs(set, dir.path(), 77);
  const core::BlobReport after = core::check_blobs(set, *def, false);
  CHECK(after.referenced == 2);
  CHECK(after.missing.empty());
  CHECK(after.invalid.empty());

  // One file per workload with all eight keys, holding exactly synthesize_input's bytes.
  const core::Workload& w = set.workloads_of(k_decode).at(1).workload;
  const fs::path file = set.blob_path(w.find_input("q")->path);
  const util::SafetensorsFile st = util::SafetensorsFile::open(file);
  CHECK(st.tensors().size() == 8);
  for (const std::string& name : core::synthesized_inputs(*def, w)) {
    const util::TensorInfo* info = st.find(w.find_input(name)->tensor_key);
    REQUIRE(info != nullptr);
    const util::ByteSpan span = st.data(*info);
    const HostTensor expected = core::synthesize_input(*def, w, name, 77);
    REQUIRE(std::vector<std::uint8_t>(span.data, span.data + span.size) == expected.bytes);
  }

  // Present files are left alone.
  const auto stamp = fs::last_write_time(file);
  const auto size = fs::file_size(file);
  core::write_synthesized_blobs(set, dir.path(), 78);
  CHECK(fs::last_write_time(file) == stamp);
  CHECK(fs::file_size(file) == size);
}
