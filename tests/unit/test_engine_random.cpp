// The random-input generator on the host: Philox known answers, the official distributions,
// rounding to nearest even, determinism and independent streams; and the kernel's compilation.
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/engine/random.hpp"
#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

using namespace fibkit;
using core::DType;

namespace {

constexpr std::size_t k_samples = 1000000;
constexpr std::uint64_t k_seed = 0x0123456789abcdefull;

template <typename T>
std::vector<T> draw(DType dtype, std::size_t n, std::uint64_t seed, std::uint64_t stream) {
  std::vector<T> out(n);
  engine::fill_random_host(out.data(), n, dtype, seed, stream);
  return out;
}

/// The value of the bits `code` of a binary format with `exp_bits` exponent bits (IEEE bias) and
/// `man_bits` mantissa bits, sign bit included.
double decode(std::uint32_t code, int exp_bits, int man_bits) {
  const bool negative = ((code >> (exp_bits + man_bits)) & 1u) != 0;
  const int bias = (1 << (exp_bits - 1)) - 1;
  const int exp_field = static_cast<int>((code >> man_bits) & ((1u << exp_bits) - 1u));
  const double man = static_cast<double>(code & ((1u << man_bits) - 1u));
  const double magnitude =
      exp_field == 0
          ? std::ldexp(man, 1 - bias - man_bits)
          : std::ldexp(1.0 + man / static_cast<double>(1u << man_bits), exp_field - bias);
  return negative ? -magnitude : magnitude;
}

/// Checks that `code` is `x` rounded to nearest even in the format (x within its finite range).
void check_nearest_even(float x, std::uint32_t code, int exp_bits, int man_bits) {
  INFO("x = " << x << ", code = " << code);
  const std::uint32_t sign_bit = 1u << (exp_bits + man_bits);
  const std::uint32_t magnitude = code & (sign_bit - 1u);
  REQUIRE((code & sign_bit) == (std::signbit(x) ? sign_bit : 0u));
  const double ax = std::fabs(static_cast<double>(x));
  const double d = std::fabs(ax - decode(magnitude, exp_bits, man_bits));
  if (magnitude > 0) {
    const double below = std::fabs(ax - decode(magnitude - 1, exp_bits, man_bits));
    REQUIRE(d <= below);
    if (d == below) {
      REQUIRE((magnitude & 1u) == 0);
    }
  }
  const double above = std::fabs(ax - decode(magnitude + 1, exp_bits, man_bits));
  REQUIRE(d <= above);
  if (d == above) {
    REQUIRE((magnitude & 1u) == 0);
  }
}

struct Moments {
  double mean = 0.0;
  double stddev = 0.0;
};

template <typename T, typename F> Moments moments(const std::vector<T>& values, F to_double) {
  double sum = 0.0, sum2 = 0.0;
  for (const T& v : values) {
    const double x = to_double(v);
    sum += x;
    sum2 += x * x;
  }
  const double n = static_cast<double>(values.size());
  const double mean = sum / n;
  return {mean, std::sqrt(sum2 / n - mean * mean)};
}

/// Checks an integer sample: every value in [low, high), mean and standard deviation of the
/// discrete uniform distribution, and every value's count within 25% of the expected count.
template <typename T> void check_uniform(const std::vector<T>& values, long low, long high) {
  std::vector<std::size_t> counts(static_cast<std::size_t>(high - low), 0);
  for (const T v : values) {
    const long x = static_cast<long>(v);
    REQUIRE(x >= low);
    REQUIRE(x < high);
    ++counts[static_cast<std::size_t>(x - low)];
  }
  const double expected = static_cast<double>(values.size()) / static_cast<double>(counts.size());
  const auto [min_it, max_it] = std::minmax_element(counts.begin(), counts.end());
  CHECK(static_cast<double>(*min_it) > 0.75 * expected);
  CHECK(static_cast<double>(*max_it) < 1.25 * expected);
  const double width = static_cast<double>(high - low);
  const Moments m = moments(values, [](T v) { return static_cast<double>(v); });
  CHECK(m.mean == Approx((static_cast<double>(low + high) - 1.0) / 2.0).margin(0.005 * width));
  CHECK(m.stddev == Approx(std::sqrt((width * width - 1.0) / 12.0)).epsilon(0.005));
}

} // namespace

TEST_CASE("random: Philox4x32-10 gives the Random123 known answers", "[engine]") {
  using W4 = std::array<std::uint32_t, 4>;
  CHECK(engine::philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
        W4{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(engine::philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                              {0xffffffff, 0xffffffff}) ==
        W4{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(engine::philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                              {0xa4093822, 0x299f31d0}) ==
        W4{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("random: input streams are distinct per trial and input", "[engine]") {
  CHECK(engine::input_stream_id(0, 0) == 0);
  CHECK(engine::input_stream_id(0, 1) == 1);
  CHECK(engine::input_stream_id(1, 0) == (std::uint64_t{1} << 32));
  CHECK(engine::input_stream_id(3, 7) == ((std::uint64_t{3} << 32) | 7));
  CHECK(engine::input_stream_id(0xffffffffu, 0xffffffffu) == ~std::uint64_t{0});
  CHECK_THROWS_AS(engine::input_stream_id(std::uint64_t{1} << 32, 0), Error);
  CHECK_THROWS_AS(engine::input_stream_id(0, std::size_t{1} << 32), Error);
}

TEST_CASE("random: float32 is N(0, 1) from Box-Muller", "[engine]") {
  const auto z = draw<float>(DType::float32, k_samples, k_seed, 5);
  const Moments m = moments(z, [](float v) { return static_cast<double>(v); });
  CHECK(std::fabs(m.mean) < 0.005); // 5 standard errors
  CHECK(m.stddev == Approx(1.0).margin(0.005));
  double tail = 0.0, third = 0.0, fourth = 0.0;
  for (const float v : z) {
    REQUIRE(std::isfinite(v));
    tail += std::fabs(v) > 2.0f ? 1.0 : 0.0;
    third += std::pow(static_cast<double>(v), 3);
    fourth += std::pow(static_cast<double>(v), 4);
  }
  const double n = static_cast<double>(k_samples);
  CHECK(tail / n == Approx(0.0455).margin(0.002)); // P(|Z| > 2)
  CHECK(std::fabs(third / n) < 0.03);
  CHECK(fourth / n == Approx(3.0).margin(0.05));
}

TEST_CASE("random: the normals match double-precision Box-Muller to a few ulp", "[engine]") {
  // Elements 4b..4b+3 are r0 cos, r0 sin, r1 cos, r1 sin of the Philox words of block b.
  const std::uint64_t stream = engine::input_stream_id(2, 3);
  constexpr std::size_t blocks = 100000;
  const auto z = draw<float>(DType::float32, 4 * blocks, k_seed, stream);
  double worst = 0.0;
  for (std::size_t b = 0; b < blocks; ++b) {
    const auto w = engine::philox4x32_10(
        {static_cast<std::uint32_t>(b), 0, static_cast<std::uint32_t>(stream),
         static_cast<std::uint32_t>(stream >> 32)},
        {static_cast<std::uint32_t>(k_seed), static_cast<std::uint32_t>(k_seed >> 32)});
    for (int pair = 0; pair < 2; ++pair) {
      const double u1 = static_cast<double>((w[2 * pair] >> 8) + 1) / 16777216.0;
      const double u2 = static_cast<double>(w[2 * pair + 1] >> 8) / 16777216.0;
      const double r = std::sqrt(-2.0 * std::log(u1));
      const double angle = 2.0 * 3.14159265358979323846 * u2;
      const double expected[2] = {r * std::cos(angle), r * std::sin(angle)};
      for (int k = 0; k < 2; ++k) {
        const double got = static_cast<double>(z[4 * b + 2 * pair + k]);
        // Error in units of 2^-23 of max(|expected|, r): the rounding of r, of the angle and of
        // the products.
        const double scale = std::max(std::fabs(expected[k]), std::max(r, 1e-30));
        worst = std::max(worst, std::fabs(got - expected[k]) / (scale * 0x1p-23));
      }
    }
  }
  INFO("worst error: " << worst << " units of 2^-23 |z|");
  CHECK(worst < 4.0);
}

TEST_CASE("random: float16 and bfloat16 are the float32 normals rounded to nearest even",
          "[engine]") {
  constexpr std::size_t n = 200000;
  const auto z = draw<float>(DType::float32, n, k_seed, 9);
  const auto h = draw<std::uint16_t>(DType::float16, n, k_seed, 9);
  const auto bf = draw<std::uint16_t>(DType::bfloat16, n, k_seed, 9);
  for (std::size_t i = 0; i < n; ++i) {
    check_nearest_even(z[i], h[i], 5, 10);
    check_nearest_even(z[i], bf[i], 8, 7);
  }
  // Moments of the float16 values on a full sample.
  const auto big = draw<std::uint16_t>(DType::float16, k_samples, k_seed, 10);
  const Moments m = moments(big, [](std::uint16_t v) { return decode(v, 5, 10); });
  CHECK(std::fabs(m.mean) < 0.005);
  CHECK(m.stddev == Approx(1.0).margin(0.005));
  // Small values round to float16 subnormals correctly.
  check_nearest_even(3.0e-6f, 0x0032, 5, 10); // 50 * 2^-24 = 2.98e-6
}

TEST_CASE("random: fp8 values are clamp(randn, -2, 2) rounded to nearest even", "[engine]") {
  constexpr std::size_t n = 200000;
  const auto z = draw<float>(DType::float32, n, k_seed, 11);
  const auto e4m3 = draw<std::uint8_t>(DType::float8_e4m3fn, n, k_seed, 11);
  const auto e5m2 = draw<std::uint8_t>(DType::float8_e5m2, n, k_seed, 11);
  for (std::size_t i = 0; i < n; ++i) {
    const float c = std::min(2.0f, std::max(-2.0f, z[i]));
    check_nearest_even(c, e4m3[i], 4, 3);
    check_nearest_even(c, e5m2[i], 5, 2);
  }
  for (const DType dtype : {DType::float8_e4m3fn, DType::float8_e5m2}) {
    const int exp_bits = dtype == DType::float8_e4m3fn ? 4 : 5;
    const auto v = draw<std::uint8_t>(dtype, k_samples, k_seed, 12);
    std::size_t at_bounds = 0;
    for (const std::uint8_t code : v) {
      const double x = decode(code, exp_bits, 7 - exp_bits);
      REQUIRE(x >= -2.0);
      REQUIRE(x <= 2.0);
      at_bounds += std::fabs(x) == 2.0 ? 1 : 0;
    }
    // P(|Z| >= 2) plus the values that round up to 2.
    CHECK(static_cast<double>(at_bounds) / static_cast<double>(k_samples) > 0.044);
    const Moments m = moments(v, [&](std::uint8_t c) { return decode(c, exp_bits, 7 - exp_bits); });
    CHECK(std::fabs(m.mean) < 0.005);
    // sqrt(E[min(Z^2, 4)]) = sqrt(P(|Z| < 2) - 4 phi(2) + 4 P(|Z| >= 2)) = 0.9595
    CHECK(m.stddev == Approx(0.9595).margin(0.005));
  }
}

TEST_CASE("random: integers are uniform in the official ranges and bools are 0 or 1", "[engine]") {
  check_uniform(draw<std::int64_t>(DType::int64, k_samples, k_seed, 1), -1024, 1024);
  check_uniform(draw<std::int32_t>(DType::int32, k_samples, k_seed, 2), -1024, 1024);
  check_uniform(draw<std::int16_t>(DType::int16, k_samples, k_seed, 3), -1024, 1024);
  check_uniform(draw<std::int8_t>(DType::int8, k_samples, k_seed, 4), -128, 128);
  check_uniform(draw<std::uint8_t>(DType::boolean, k_samples, k_seed, 5), 0, 2);
}

TEST_CASE("random: a draw is a pure function of seed, stream and index", "[engine]") {
  for (const DType dtype : {DType::float32, DType::bfloat16, DType::float8_e4m3fn, DType::int32,
                            DType::int8, DType::boolean}) {
    INFO(core::dtype_name(dtype));
    const std::size_t bytes = core::dtype_size(dtype);
    constexpr std::size_t n = 4099;
    std::vector<unsigned char> a(n * bytes), b(n * bytes), prefix(7 * bytes);
    engine::fill_random_host(a.data(), n, dtype, 42, 3);
    engine::fill_random_host(b.data(), n, dtype, 42, 3);
    CHECK(a == b);
    // A shorter tensor is a prefix of a longer one (the element count does not matter).
    engine::fill_random_host(prefix.data(), 7, dtype, 42, 3);
    CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
    // Another stream or seed gives other values.
    engine::fill_random_host(b.data(), n, dtype, 42, 4);
    CHECK(a != b);
    engine::fill_random_host(b.data(), n, dtype, 43, 3);
    CHECK(a != b);
  }
  // Different streams are uncorrelated.
  const auto x = draw<float>(DType::float32, k_samples, 7, engine::input_stream_id(0, 0));
  const auto y = draw<float>(DType::float32, k_samples, 7, engine::input_stream_id(0, 1));
  double dot = 0.0;
  for (std::size_t i = 0; i < k_samples; ++i) {
    dot += static_cast<double>(x[i]) * static_cast<double>(y[i]);
  }
  CHECK(std::fabs(dot / static_cast<double>(k_samples)) < 0.005);
}

TEST_CASE("random: float4_e2m1 is refused", "[engine]") {
  unsigned char byte = 0;
  CHECK_THROWS_AS(engine::fill_random_host(&byte, 1, DType::float4_e2m1, 0, 0), Error);
}

TEST_CASE("random: the kernel compiles for sm_90a and sm_100a", "[nvrtc][engine]") {
  for (const char* arch : {"sm_90a", "sm_100a"}) {
    INFO(arch);
    const cuda::CompileOutput out = engine::compile_random_kernel(arch);
    INFO(out.log);
    REQUIRE(out.ok);
    CHECK_FALSE(out.cubin.empty());
    const std::string* lowered = cuda::find_lowered(out, "fibkit_fill_random");
    REQUIRE(lowered != nullptr);
    CHECK(*lowered == "fibkit_fill_random");
    CHECK(out.log.find("warning") == std::string::npos);
    CHECK(out.log.find("0 bytes stack frame") != std::string::npos); // no local memory
  }
}

TEST_CASE("random: the packed indexer K cache is the bfloat16 normals quantised per token",
          "[engine]") {
  const std::int64_t pages = 5, page_size = 64, dim = 128;
  const std::size_t tokens = static_cast<std::size_t>(pages * page_size);
  std::vector<std::uint8_t> packed(tokens * static_cast<std::size_t>(dim + 4));
  engine::fill_packed_k_cache_host(packed.data(), pages, page_size, dim, k_seed, 9);
  // The same stream's bfloat16 draw gives the unquantised keys, element token * dim + c.
  const auto keys = draw<std::uint16_t>(DType::bfloat16, tokens * dim, k_seed, 9);
  const std::size_t page_bytes = static_cast<std::size_t>(page_size * (dim + 4));
  for (std::size_t t = 0; t < tokens; ++t) {
    const std::uint8_t* page = packed.data() + (t / page_size) * page_bytes;
    float amax = 0.0f;
    for (std::size_t c = 0; c < static_cast<std::size_t>(dim); ++c) {
      amax = std::max(amax, std::fabs(core::bf16_to_float(keys[t * dim + c])));
    }
    float scale = 0.0f;
    std::memcpy(&scale, page + page_size * dim + (t % page_size) * 4, 4);
    REQUIRE(scale == std::max(amax, 1e-4f) / 448.0f);
    float largest = 0.0f;
    for (std::size_t c = 0; c < static_cast<std::size_t>(dim); ++c) {
      const float x = core::bf16_to_float(keys[t * dim + c]);
      const float q = core::fp8_e4m3fn_to_float(page[(t % page_size) * dim + c]);
      largest = std::max(largest, std::fabs(q));
      // e4m3 keeps 3 mantissa bits: within half an ulp (1/16 relative), or the subnormal step.
      REQUIRE(std::fabs(q * scale - x) <= std::max(std::fabs(x) / 16.0f, scale * 0.001f));
    }
    REQUIRE(largest == 448.0f); // the largest key maps to the format's maximum
  }
  CHECK_THROWS_AS(engine::fill_packed_k_cache_host(packed.data(), 1, 64, 130, 0, 0), Error);
}

TEST_CASE("random: the input checksum sees every single-bit change and the position of bytes",
          "[engine]") {
  std::vector<std::uint8_t> data(1003);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(i * 37 + 11);
  }
  const std::uint64_t sum = engine::checksum_host(data.data(), data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      data[i] ^= static_cast<std::uint8_t>(1u << bit);
      REQUIRE(engine::checksum_host(data.data(), data.size()) != sum);
      data[i] ^= static_cast<std::uint8_t>(1u << bit);
    }
  }
  // Swapping two 8-byte words changes it too: each word is mixed with its index.
  std::swap_ranges(data.begin(), data.begin() + 8, data.begin() + 8);
  CHECK(engine::checksum_host(data.data(), data.size()) != sum);
  CHECK(engine::checksum_host(data.data(), 0) == 0);
}
