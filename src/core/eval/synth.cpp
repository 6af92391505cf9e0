#include "fibkit/core/eval/synth.hpp"

#include "fibkit/core/eval/traits.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/safetensors.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace fibkit::core {

namespace {

constexpr double kPi = 3.14159265358979323846;

/// splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns the mixed value.
std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// FNV-1a 64 of `text`.
std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// xoshiro256** (Blackman, Vigna 2018) seeded through splitmix64, with the few draws the
/// synthesiser needs.
class Rng {
public:
  explicit Rng(std::uint64_t seed) {
    for (std::uint64_t& word : m_state) {
      word = splitmix64(seed);
    }
  }

  /// The next 64 random bits.
  std::uint64_t next() {
    const std::uint64_t result = rotl(m_state[1] * 5, 7) * 9;
    const std::uint64_t t = m_state[1] << 17;
    m_state[2] ^= m_state[0];
    m_state[3] ^= m_state[1];
    m_state[1] ^= m_state[2];
    m_state[0] ^= m_state[3];
    m_state[2] ^= t;
    m_state[3] = rotl(m_state[3], 45);
    return result;
  }
  /// Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  /// Uniform integer in [lo, hi] (inclusive).
  std::int64_t between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  /// N(0, 1) by Box-Muller (the second value of a pair is kept for the next call).
  double normal() {
    if (m_has_spare) {
      m_has_spare = false;
      return m_spare;
    }
    const double u1 = static_cast<double>((next() >> 11) + 1) * 0x1.0p-53; // (0, 1]
    const double u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    m_spare = r * std::sin(2.0 * kPi * u2);
    m_has_spare = true;
    return r * std::cos(2.0 * kPi * u2);
  }

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t m_state[4] = {};
  double m_spare = 0.0;
  bool m_has_spare = false;
};

/// The seed key of one input: splitmix64 over the seed and the three names' hashes.
std::uint64_t input_key(std::uint64_t seed, const Definition& def, const Workload& w,
                        std::string_view input) {
  std::uint64_t state = seed;
  std::uint64_t key = splitmix64(state);
  for (const std::string_view part :
       {std::string_view(def.name), std::string_view(w.uuid), input}) {
    state ^= fnv1a(part) + key;
    key = splitmix64(state);
  }
  return key;
}

/// Rounds a finite `magnitude` (>= 0) to nearest even in a binary minifloat with `man_bits`
/// mantissa bits and exponent `bias`; returns the magnitude bits (biased exponent << man_bits |
/// mantissa), possibly at or past the largest finite value (the caller decides overflow).
std::uint32_t round_minifloat(double magnitude, int man_bits, int bias) {
  const int emin = 1 - bias;
  if (magnitude < std::ldexp(1.0, emin)) {
    // Subnormal (q == 2^man_bits rounds up into the smallest normal, whose bits are q).
    return static_cast<std::uint32_t>(std::nearbyint(std::ldexp(magnitude, man_bits - emin)));
  }
  int exponent = 0;
  const double fraction = std::frexp(magnitude, &exponent); // [0.5, 1)
  exponent -= 1; // magnitude = f * 2^exponent, f in [1,2)
  auto q = static_cast<std::uint32_t>(std::nearbyint((fraction * 2.0 - 1.0) * (1 << man_bits)));
  if (q == (1U << man_bits)) {
    q = 0;
    exponent += 1;
  }
  return (static_cast<std::uint32_t>(exponent + bias) << man_bits) | q;
}

/// Stores `value` as one element of `dtype` at `dst`.
void put_float(DType dtype, std::uint8_t* dst, float value) {
  switch (dtype) {
  case DType::float32:
    std::memcpy(dst, &value, 4);
    return;
  case DType::bfloat16: {
    const std::uint16_t bits = float_to_bf16(value);
    std::memcpy(dst, &bits, 2);
    return;
  }
  case DType::float16: {
    const std::uint16_t bits = float_to_fp16(value);
    std::memcpy(dst, &bits, 2);
    return;
  }
  case DType::float8_e4m3fn:
    *dst = float_to_fp8_e4m3fn(value);
    return;
  case DType::float8_e5m2:
    *dst = float_to_fp8_e5m2(value);
    return;
  default:
    throw Error(fmt::format("cannot store a float as {}", dtype_name(dtype)));
  }
}

/// Stores integer `value` as one element of `dtype` (float dtypes get the rounded float).
void put_int(DType dtype, std::uint8_t* dst, std::int64_t value) {
  switch (dtype) {
  case DType::int64:
    std::memcpy(dst, &value, 8);
    return;
  case DType::int32: {
    const auto v = static_cast<std::int32_t>(value);
    std::memcpy(dst, &v, 4);
    return;
  }
  case DType::int16: {
    const auto v = static_cast<std::int16_t>(value);
    std::memcpy(dst, &v, 2);
    return;
  }
  case DType::int8:
    *dst = static_cast<std::uint8_t>(static_cast<std::int8_t>(value));
    return;
  case DType::boolean:
    *dst = value != 0 ? 1 : 0;
    return;
  default:
    put_float(dtype, dst, static_cast<float>(value));
  }
}

/// `k` distinct integers of [0, n) in random order (Floyd's algorithm, then a shuffle).
std::vector<std::int64_t> distinct_sample(Rng& rng, std::int64_t n, std::int64_t k) {
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(k));
  std::unordered_set<std::int64_t> seen;
  seen.reserve(static_cast<std::size_t>(k) * 2);
  for (std::int64_t j = n - k; j < n; ++j) {
    const std::int64_t t = rng.between(0, j);
    const std::int64_t pick = seen.count(t) ? j : t;
    seen.insert(pick);
    out.push_back(pick);
  }
  for (std::size_t i = out.size(); i > 1; --i) {
    std::swap(out[i - 1], out[rng.below(i)]);
  }
  return out;
}

/// Everything a generator needs about the tensor being made.
struct Target {
  const Definition& def;
  const std::map<std::string, std::int64_t>& axes;
  HostTensor& tensor;
  Rng& rng;

  std::size_t size() const { return dtype_size(tensor.dtype); }
  std::uint8_t* at(std::size_t i) const { return tensor.bytes.data() + i * size(); }
  /// The value of axis `name` (const from the definition, var from the workload).
  std::int64_t axis(std::string_view name) const {
    const Axis* a = def.find_axis(name);
    if (a && a->is_const) {
      return a->value;
    }
    const auto it = axes.find(std::string(name));
    if (it == axes.end()) {
      throw Error(fmt::format("{}: the workload has no axis \"{}\"", def.name, name));
    }
    return it->second;
  }
};

/// flashinfer-bench's `_rand_tensor`: floats N(0,1), fp8 clamp(randn, -2, 2), int8 in
/// [-128, 128), other integers in [-1024, 1024), bool 0/1.
void fill_official(const Target& t) {
  const std::size_t n = t.tensor.numel();
  const DType dtype = t.tensor.dtype;
  for (std::size_t i = 0; i < n; ++i) {
    switch (dtype) {
    case DType::float32:
    case DType::float16:
    case DType::bfloat16:
      put_float(dtype, t.at(i), static_cast<float>(t.rng.normal()));
      break;
    case DType::float8_e4m3fn:
    case DType::float8_e5m2:
      put_float(dtype, t.at(i), std::clamp(static_cast<float>(t.rng.normal()), -2.0f, 2.0f));
      break;
    case DType::int8:
      put_int(dtype, t.at(i), t.rng.between(-128, 127));
      break;
    case DType::boolean:
      put_int(dtype, t.at(i), static_cast<std::int64_t>(t.rng.below(2)));
      break;
    default:
      put_int(dtype, t.at(i), t.rng.between(-1024, 1023));
      break;
    }
  }
}

/// Every element N(0,1) * scale.
void fill_normal(const Target& t, double scale) {
  for (std::size_t i = 0, n = t.tensor.numel(); i < n; ++i) {
    put_float(t.tensor.dtype, t.at(i), static_cast<float>(t.rng.normal() * scale));
  }
}

/// Rows of the last dimension drawn N(0,1) and L2-normalised (before the dtype rounding).
void fill_unit_rows(const Target& t) {
  const std::size_t dim = static_cast<std::size_t>(t.tensor.shape.back());
  std::vector<double> row(dim);
  for (std::size_t base = 0, n = t.tensor.numel(); dim > 0 && base < n; base += dim) {
    double sum = 0.0;
    for (double& x : row) {
      x = t.rng.normal();
      sum += x * x;
    }
    const double inv = sum > 0.0 ? 1.0 / std::sqrt(sum) : 0.0;
    for (std::size_t j = 0; j < dim; ++j) {
      put_float(t.tensor.dtype, t.at(base + j), static_cast<float>(row[j] * inv));
    }
  }
}

/// dsa_sparse_attention `sparse_indices` [T, topk]: per token a simulated sequence of L tokens
/// on ceil(L/ps) distinct random pages; n_t = min(L, topk) distinct slots of it at the front
/// (in score order, i.e. shuffled), then -1. n_t is topk (half the rows), 100-500 (a quarter:
/// the "low-density" rows) or uniform in [1, topk].
void fill_sparse_indices(const Target& t) {
  const std::int64_t tokens = t.tensor.shape[0];
  const std::int64_t topk = t.tensor.shape[1];
  const std::int64_t page_size = t.axis("page_size");
  const std::int64_t num_pages = t.axis("num_pages");
  const std::int64_t slots = num_pages * page_size;
  if (slots <= 0 || topk <= 0) {
    throw Error(fmt::format("{}: cannot synthesise sparse_indices with {} pages of {} slots",
                            t.def.name, num_pages, page_size));
  }
  for (std::int64_t row = 0; row < tokens; ++row) {
    std::int64_t n = topk;
    const std::uint64_t mode = t.rng.below(4);
    if (mode == 2) {
      n = t.rng.between(100, 500);
    } else if (mode == 3) {
      n = t.rng.between(1, topk);
    }
    n = std::clamp<std::int64_t>(n, 1, std::min(topk, slots));
    // The indexer returns every token of a sequence shorter than topk, topk of a longer one.
    std::int64_t length = n < topk ? n : t.rng.between(topk, 4 * topk);
    length = std::min(length, slots);
    const std::int64_t pages_needed = (length + page_size - 1) / page_size;
    const std::vector<std::int64_t> pages = distinct_sample(t.rng, num_pages, pages_needed);
    const std::vector<std::int64_t> positions = distinct_sample(t.rng, length, n);
    const auto base = static_cast<std::size_t>(row * topk);
    for (std::int64_t j = 0; j < topk; ++j) {
      std::int64_t value = -1;
      if (j < n) {
        const std::int64_t pos = positions[static_cast<std::size_t>(j)];
        value = pages[static_cast<std::size_t>(pos / page_size)] * page_size + pos % page_size;
      }
      put_int(t.tensor.dtype, t.at(base + static_cast<std::size_t>(j)), value);
    }
  }
}

/// dsa_topk_indexer `seq_lens` [B]: 30% full (max_num_pages * ps), 20% short (1..ps), the rest
/// uniform in [1, max_num_pages * ps]; one random row needs all max_num_pages pages.
void fill_seq_lens(const Target& t) {
  const std::int64_t batch = t.tensor.shape[0];
  const std::int64_t page_size = t.axis("page_size");
  const std::int64_t max_len = t.axis("max_num_pages") * page_size;
  if (max_len <= 0) {
    throw Error(fmt::format("{}: cannot synthesise seq_lens with max_num_pages * page_size = {}",
                            t.def.name, max_len));
  }
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(batch));
  for (std::int64_t& length : lengths) {
    const std::uint64_t mode = t.rng.below(10);
    if (mode < 3) {
      length = max_len;
    } else if (mode < 5) {
      length = t.rng.between(1, std::min(page_size, max_len));
    } else {
      length = t.rng.between(1, max_len);
    }
  }
  if (batch > 0) {
    std::int64_t& widest = lengths[t.rng.below(static_cast<std::uint64_t>(batch))];
    if (widest <= max_len - page_size) {
      widest = max_len - page_size + t.rng.between(1, page_size);
    }
  }
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    put_int(t.tensor.dtype, t.at(i), lengths[i]);
  }
}

/// dsa_topk_indexer `block_table` [B, M]: every slot of every row a valid page, distinct over the
/// whole table when B * M <= num_pages (as sequences own their pages), else within each row. It
/// is thereby consistent with any seq_lens <= M * ps: the first ceil(L/ps) slots are distinct.
void fill_block_table(const Target& t) {
  const std::int64_t batch = t.tensor.shape[0];
  const std::int64_t width = t.tensor.shape[1];
  const std::int64_t num_pages = t.axis("num_pages");
  if (width > num_pages) {
    throw Error(fmt::format("{}: cannot fill {} distinct pages per block_table row from {} pages",
                            t.def.name, width, num_pages));
  }
  if (batch * width <= num_pages) {
    const std::vector<std::int64_t> pages = distinct_sample(t.rng, num_pages, batch * width);
    for (std::size_t i = 0; i < pages.size(); ++i) {
      put_int(t.tensor.dtype, t.at(i), pages[i]);
    }
    return;
  }
  for (std::int64_t row = 0; row < batch; ++row) {
    const std::vector<std::int64_t> pages = distinct_sample(t.rng, num_pages, width);
    for (std::size_t j = 0; j < pages.size(); ++j) {
      put_int(t.tensor.dtype, t.at(static_cast<std::size_t>(row * width) + j), pages[j]);
    }
  }
}

/// The indexer's random k cache as flashinfer-bench builds it: per page of `ps` tokens, the
/// tokens' fp8 rows (bf16 randn / (amax / 448), amax clamped at 1e-4), then their float32 scales.
void fill_packed_k_cache(const Target& t, std::int64_t dim) {
  const std::int64_t pages = t.tensor.shape[0];
  const std::int64_t page_size = t.tensor.shape[1];
  const std::size_t page_bytes = static_cast<std::size_t>(page_size * (dim + 4));
  std::vector<float> row(static_cast<std::size_t>(dim));
  for (std::int64_t p = 0; p < pages; ++p) {
    std::uint8_t* page = t.tensor.bytes.data() + static_cast<std::size_t>(p) * page_bytes;
    for (std::int64_t s = 0; s < page_size; ++s) {
      float amax = 0.0f;
      for (float& x : row) {
        x = bf16_to_float(float_to_bf16(static_cast<float>(t.rng.normal())));
        amax = std::max(amax, std::fabs(x));
      }
      const float scale = std::max(amax, 1e-4f) / 448.0f;
      for (std::size_t c = 0; c < row.size(); ++c) {
        page[static_cast<std::size_t>(s * dim) + c] = float_to_fp8_e4m3fn(row[c] / scale);
      }
      std::memcpy(page + static_cast<std::size_t>(page_size * dim + s * 4), &scale, 4);
    }
  }
}

/// GDN prefill `cu_seqlens` [N + 1]: 0, then cumulative log-normal (sigma 1.5) lengths summing
/// to total_seq_len; every sequence has at least one token when total_seq_len >= N.
void fill_cu_seqlens(const Target& t) {
  const std::int64_t count = t.tensor.shape[0] - 1;
  const std::int64_t total = t.axis("total_seq_len");
  if (count < 0 || total < 0) {
    throw Error(fmt::format("{}: cannot synthesise cu_seqlens [{}] for total_seq_len {}",
                            t.def.name, count + 1, total));
  }
  std::vector<std::int64_t> lengths(static_cast<std::size_t>(count), 0);
  if (count > 0) {
    const std::int64_t floor_each = total >= count ? 1 : 0;
    const std::int64_t spread = total - floor_each * count;
    std::vector<double> weights(lengths.size());
    double sum = 0.0;
    for (double& w : weights) {
      w = std::exp(1.5 * t.rng.normal());
      sum += w;
    }
    std::int64_t given = 0;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      lengths[i] = floor_each + static_cast<std::int64_t>(
                                    std::floor(static_cast<double>(spread) * weights[i] / sum));
      given += lengths[i];
    }
    while (given < total) {
      lengths[t.rng.below(lengths.size())] += 1;
      ++given;
    }
  }
  std::int64_t acc = 0;
  put_int(t.tensor.dtype, t.at(0), 0);
  for (std::size_t i = 0; i < lengths.size(); ++i) {
    acc += lengths[i];
    put_int(t.tensor.dtype, t.at(i + 1), acc);
  }
}

bool is_float(DType dtype) {
  return !dtype_is_integer(dtype);
}

/// Picks the structured generator for an input; false when the official distribution applies.
bool fill_structured(const Target& t, const std::string& input) {
  const DType dtype = t.tensor.dtype;
  const std::size_t rank = t.tensor.shape.size();
  const StandInFamily family = definition_traits(t.def).stand_ins;
  if (family == StandInFamily::dsa_attention && input == "sparse_indices" && rank == 2 &&
      dtype_is_integer(dtype)) {
    fill_sparse_indices(t);
    return true;
  }
  if (family == StandInFamily::dsa_indexer) {
    if (input == "seq_lens" && rank == 1 && dtype_is_integer(dtype)) {
      fill_seq_lens(t);
      return true;
    }
    if (input == "block_table" && rank == 2 && dtype_is_integer(dtype)) {
      fill_block_table(t);
      return true;
    }
    if (input == "k_index_cache_fp8" && rank == 4 && dtype_size(dtype) == 1) {
      const Axis* dim = t.def.find_axis("index_head_dim");
      if (dim && dim->is_const && t.tensor.shape[2] == 1 && t.tensor.shape[3] == dim->value + 4) {
        fill_packed_k_cache(t, dim->value);
        return true;
      }
    }
    return false;
  }
  if (family == StandInFamily::gdn) {
    if ((input == "q" || input == "k") && rank >= 1 && is_float(dtype)) {
      fill_unit_rows(t);
      return true;
    }
    if ((input == "v" || input == "a" || input == "b") && is_float(dtype)) {
      fill_normal(t, 1.0);
      return true;
    }
    if (input == "state" && is_float(dtype)) {
      fill_normal(t, 0.1);
      return true;
    }
    if (input == "A_log" && is_float(dtype)) {
      for (std::size_t i = 0, n = t.tensor.numel(); i < n; ++i) {
        put_float(dtype, t.at(i), static_cast<float>(std::log(t.rng.uniform(1.0, 16.0))));
      }
      return true;
    }
    if (input == "dt_bias" && is_float(dtype)) {
      for (std::size_t i = 0, n = t.tensor.numel(); i < n; ++i) {
        const double dt = std::exp(t.rng.uniform(std::log(1e-3), std::log(1e-1)));
        put_float(dtype, t.at(i), static_cast<float>(dt + std::log(-std::expm1(-dt))));
      }
      return true;
    }
    if (input == "cu_seqlens" && rank == 1 && dtype_is_integer(dtype)) {
      fill_cu_seqlens(t);
      return true;
    }
    return false;
  }
  if (family == StandInFamily::moe) {
    if (input == "routing_logits" && is_float(dtype)) {
      fill_normal(t, 2.0);
      return true;
    }
    if (input == "routing_bias" && is_float(dtype)) {
      fill_normal(t, 0.1);
      return true;
    }
  }
  return false;
}

} // namespace

std::uint16_t float_to_bf16(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  if (std::isnan(value)) {
    return static_cast<std::uint16_t>(((bits >> 16) & 0x8000U) | 0x7fc0U);
  }
  bits += 0x7fffU + ((bits >> 16) & 1U);
  return static_cast<std::uint16_t>(bits >> 16);
}

std::uint16_t float_to_fp16(float value) {
  const std::uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  if (std::isnan(value)) {
    return static_cast<std::uint16_t>(sign | 0x7e00);
  }
  const double magnitude = std::fabs(static_cast<double>(value));
  if (std::isinf(value) || magnitude >= 65520.0) { // 65520 rounds (tie, odd) to infinity
    return static_cast<std::uint16_t>(sign | 0x7c00);
  }
  return static_cast<std::uint16_t>(sign | round_minifloat(magnitude, 10, 15));
}

std::uint8_t float_to_fp8_e4m3fn(float value) {
  const std::uint8_t sign = std::signbit(value) ? 0x80 : 0;
  if (std::isnan(value) || std::isinf(value)) {
    return static_cast<std::uint8_t>(sign | 0x7f);
  }
  const std::uint32_t bits = round_minifloat(std::fabs(static_cast<double>(value)), 3, 7);
  return static_cast<std::uint8_t>(sign | std::min<std::uint32_t>(bits, 0x7f));
}

std::uint8_t float_to_fp8_e5m2(float value) {
  const std::uint8_t sign = std::signbit(value) ? 0x80 : 0;
  if (std::isnan(value)) {
    return static_cast<std::uint8_t>(sign | 0x7f);
  }
  if (std::isinf(value)) {
    return static_cast<std::uint8_t>(sign | 0x7c);
  }
  const std::uint32_t bits = round_minifloat(std::fabs(static_cast<double>(value)), 2, 15);
  return static_cast<std::uint8_t>(sign | std::min<std::uint32_t>(bits, 0x7c));
}

HostTensor synthesize_input(const Definition& def, const Workload& w, const std::string& input_name,
                            std::uint64_t seed) {
  const TensorSpec* spec = def.find_input(input_name);
  if (!spec) {
    throw Error(fmt::format("{}: no input \"{}\"", def.name, input_name));
  }
  if (spec->dtype == DType::float4_e2m1) {
    throw Error(fmt::format("{}: cannot synthesise input \"{}\" of dtype float4_e2m1", def.name,
                            input_name));
  }
  const std::map<std::string, std::int64_t> axes(w.axes.begin(), w.axes.end());
  HostTensor tensor;
  tensor.dtype = spec->dtype;
  if (!spec->is_scalar()) {
    tensor.shape = def.concrete_shape(*spec, axes);
  }
  tensor.bytes.assign(tensor.numel() * dtype_size(tensor.dtype), 0);
  Rng rng(input_key(seed, def, w, input_name));
  const Target target{def, axes, tensor, rng};

  const InputSpec* given = w.find_input(input_name);
  if (spec->is_scalar() && given && given->kind == InputSpec::Kind::scalar) {
    const ScalarValue& v = given->value;
    if (dtype_is_integer(tensor.dtype)) {
      put_int(tensor.dtype, tensor.bytes.data(),
              v.kind == ScalarValue::Kind::integer ? v.integer
                                                   : static_cast<std::int64_t>(v.as_double()));
    } else {
      put_float(tensor.dtype, tensor.bytes.data(), static_cast<float>(v.as_double()));
    }
    return tensor;
  }
  if (!fill_structured(target, input_name)) {
    fill_official(target);
  }
  return tensor;
}

std::vector<std::string> synthesized_inputs(const Definition& def, const Workload& w) {
  std::vector<std::string> names;
  for (const TensorSpec& input : def.inputs) {
    const InputSpec* spec = w.find_input(input.name);
    if (spec && spec->kind == InputSpec::Kind::safetensors) {
      names.push_back(input.name);
    }
  }
  return names;
}

SynthSummary write_synthesized_blobs(const TraceSet& set, const std::filesystem::path& dataset_root,
                                     std::uint64_t seed, const SynthProgress& progress) {
  SynthSummary summary;
  struct Entry {
    const Definition* def;
    const Workload* workload;
    std::string input;
    std::string key;
  };
  // By the normalised file path, so "./blob/x" and "blob/x" are one file.
  std::map<std::filesystem::path, std::vector<Entry>> files;
  for (const Definition& def : set.definitions) {
    for (const Trace& trace : set.workloads_of(def.name)) {
      const Workload& w = trace.workload;
      for (const std::string& input : synthesized_inputs(def, w)) {
        const InputSpec& spec = *w.find_input(input);
        const std::filesystem::path rel(spec.path);
        const std::filesystem::path file =
            (rel.is_absolute() ? rel : dataset_root / rel).lexically_normal();
        std::error_code ec;
        if (std::filesystem::exists(file, ec)) {
          continue;
        }
        files[file].push_back(Entry{&def, &w, input, spec.tensor_key});
      }
    }
  }
  for (const auto& [file, entries] : files) {
    std::vector<HostTensor> tensors;
    std::vector<std::string> keys;
    std::set<std::string> seen;
    for (const Entry& e : entries) {
      if (seen.insert(e.key).second) {
        tensors.push_back(synthesize_input(*e.def, *e.workload, e.input, seed));
        keys.push_back(e.key);
      }
    }
    std::vector<util::TensorToWrite> out;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const auto dtype = util::st_dtype_from_definition(dtype_name(tensors[i].dtype));
      if (!dtype) {
        throw Error(fmt::format("{}: tensor \"{}\": dtype {} has no safetensors type",
                                file.string(), keys[i], dtype_name(tensors[i].dtype)));
      }
      out.push_back(util::TensorToWrite{
          keys[i], *dtype,
          std::vector<std::uint64_t>(tensors[i].shape.begin(), tensors[i].shape.end()),
          util::ByteSpan{tensors[i].bytes.data(), tensors[i].bytes.size()}});
    }
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    if (ec) {
      throw Error(fmt::format("{}: cannot create the directory: {}", file.parent_path().string(),
                              ec.message()));
    }
    util::write_safetensors(file, out);
    summary.files += 1;
    summary.bytes += static_cast<std::uint64_t>(std::filesystem::file_size(file, ec));
    summary.paths.push_back(file);
    if (progress) {
      progress(summary.files, files.size(), file);
    }
  }
  return summary;
}

} // namespace fibkit::core
