// Tests for the statistics of `fibkit bench` (include/fibkit/core/eval/stats.hpp) and the reference
// latency cache (include/fibkit/core/eval/latency_cache.hpp): known values of the summary
// functions, the noise stopping rule, the throttle filter, the A/B verdict (hand-computed
// Mann-Whitney p-values, bootstrap CIs on synthetic data) and the cache's round trip and misses.
#include "fibkit/core/eval/latency_cache.hpp"
#include "fibkit/core/eval/stats.hpp"
#include "fibkit/util/disk_cache.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace fibkit;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using fibkit::testing::EnvGuard;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

/// 1, 2, ..., n.
std::vector<double> one_to(int n) {
  std::vector<double> v;
  for (int i = 1; i <= n; ++i) {
    v.push_back(i);
  }
  return v;
}

/// `n` latencies of `center` with uniform relative noise in ±`noise`/2, from a fixed generator
/// (mt19937_64's output is specified by the standard; the mapping to [0, 1) is done here).
std::vector<double> noisy(std::mt19937_64& rng, int n, double center, double noise) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
    v.push_back(center * (1.0 + noise * (u - 0.5)));
  }
  return v;
}

core::LatencyKey sample_key() {
  return {"gemm_n128_k2048",
          "3f2a9c1e-0000-4000-8000-000000000001",
          "NVIDIA H100 80GB HBM3",
          "cuda-events",
          "10/50/3",
          "9c1e3f2a9c1e3f2a9c1e3f2a9c1e3f2a"};
}

} // namespace

TEST_CASE("median follows statistics.median", "[stats]") {
  CHECK(core::median({3.0, 1.0, 2.0}) == 2.0);
  CHECK(core::median({4.0, 1.0, 3.0, 2.0}) == 2.5);
  CHECK(core::median({7.0}) == 7.0);
  CHECK(core::median({5.0, 5.0}) == 5.0);
  CHECK(core::median({1.0, 100.0}) == 50.5);
  CHECK(core::median({9.0, 1.0, 8.0, 2.0, 7.0, 3.0}) == 5.0);
  CHECK(core::median(one_to(10)) == 5.5);
  CHECK_THAT(error_of([] { core::median({}); }), Contains("empty"));
  CHECK_THAT(error_of([] { core::median({1.0, k_nan}); }), Contains("non-finite"));
}

TEST_CASE("percentile interpolates like numpy's default", "[stats]") {
  const std::vector<double> x = one_to(10);
  CHECK(core::percentile(x, 0) == 1.0);
  CHECK(core::percentile(x, 10) == Approx(1.9).epsilon(1e-15));
  CHECK(core::percentile(x, 25) == 3.25);
  CHECK(core::percentile(x, 50) == 5.5);
  CHECK(core::percentile(x, 75) == 7.75);
  CHECK(core::percentile(x, 90) == Approx(9.1).epsilon(1e-15));
  CHECK(core::percentile(x, 100) == 10.0);
  // The order of the input does not matter.
  CHECK(core::percentile({10.0, 1.0, 5.0, 3.0}, 50) == 4.0);
  CHECK(core::percentile({42.0}, 37) == 42.0);
  CHECK_THAT(error_of([&] { core::percentile(x, 101); }), Contains("[0, 100]"));
  CHECK_THAT(error_of([&] { core::percentile(x, -1); }), Contains("[0, 100]"));
  CHECK_THAT(error_of([] { core::percentile({}, 50); }), Contains("empty"));
}

TEST_CASE("mean, stddev, stdrel, minimum, maximum", "[stats]") {
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  CHECK(core::mean(x) == 5.0);
  CHECK(core::stddev(x) == Approx(std::sqrt(32.0 / 7.0)).epsilon(1e-14)); // 2.138089935...
  CHECK(core::stdrel(x) == Approx(std::sqrt(32.0 / 7.0) / 5.0).epsilon(1e-14));
  CHECK(core::minimum(x) == 2.0);
  CHECK(core::maximum(x) == 9.0);
  CHECK(core::stddev({3.0}) == 0.0);
  CHECK(core::stddev({1.5, 1.5, 1.5}) == 0.0);
  CHECK_THAT(error_of([] { core::stdrel({0.0, 0.0}); }), Contains("mean"));
  CHECK_THAT(error_of([] { core::mean({}); }), Contains("empty"));
  CHECK_THAT(error_of([] { core::minimum({}); }), Contains("empty"));
  CHECK_THAT(error_of([] {
               core::maximum({1.0, std::numeric_limits<double>::infinity()});
             }),
             Contains("non-finite"));
}

TEST_CASE("summarize", "[stats]") {
  const core::Summary s = core::summarize({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  CHECK(s.n == 10);
  CHECK(s.min == 1.0);
  CHECK(s.p10 == Approx(1.9).epsilon(1e-15));
  CHECK(s.median == 5.5);
  CHECK(s.p90 == Approx(9.1).epsilon(1e-15));
  CHECK(s.max == 10.0);
  CHECK(s.mean == 5.5);
  CHECK(s.stdrel == Approx(std::sqrt(82.5 / 9.0) / 5.5).epsilon(1e-14)); // 0.55048...

  const core::Summary one = core::summarize({0.25});
  CHECK(one.n == 1);
  CHECK(one.min == 0.25);
  CHECK(one.p10 == 0.25);
  CHECK(one.median == 0.25);
  CHECK(one.max == 0.25);
  CHECK(one.stdrel == 0.0);
  CHECK_THROWS_AS(core::summarize({}), Error);
}

TEST_CASE("NoiseCriterion stops constant samples after min_samples and min_time", "[stats]") {
  SECTION("min_samples binds") {
    core::NoiseCriterion c; // 10 samples, 0.5% noise, 0.5 s, 15 s
    for (int i = 1; i <= 9; ++i) {
      c.add(0.125);
      CHECK_FALSE(c.done(0.2 * i));
    }
    CHECK(c.total_time_s() == 1.125); // min_time met, but 9 < 10 samples
    c.add(0.125);
    CHECK(c.count() == 10);
    CHECK(c.noise() == 0.0);
    CHECK(c.converged());
    CHECK(c.done(2.0));
  }
  SECTION("min_time binds") {
    core::NoiseCriterion c;
    const double sample = 1.0 / 1024; // exact in binary: 512 samples sum to exactly 0.5 s
    for (int i = 1; i < 512; ++i) {
      c.add(sample);
    }
    CHECK(c.noise() == 0.0);
    CHECK_FALSE(c.converged());
    CHECK_FALSE(c.done(1.0));
    c.add(sample);
    CHECK(c.total_time_s() == 0.5);
    CHECK(c.converged());
    CHECK(c.done(1.0));
  }
}

TEST_CASE("NoiseCriterion does not stop noisy samples before the time limit", "[stats]") {
  core::NoiseCriterion c({10, 0.005, 0.5, 15.0});
  std::vector<double> samples;
  for (int i = 0; i < 10000; ++i) {
    const double sample = i % 2 == 0 ? 1e-3 : 1.2e-3;
    c.add(sample);
    samples.push_back(sample);
  }
  CHECK(c.noise() == Approx(core::stdrel(samples)).epsilon(1e-9)); // about 9.1%
  CHECK(c.total_time_s() == Approx(11.0));
  CHECK_FALSE(c.converged());
  CHECK_FALSE(c.done(14.99));
  CHECK(c.done(15.0));
  CHECK_FALSE(c.converged()); // stopped by the limit: the report labels it not converged
}

TEST_CASE("NoiseCriterion: the precision rule stops short noisy kernels once the mean is known",
          "[stats]") {
  // About 1% per-sample noise: never under 0.5%, but the mean's 95% interval narrows with n.
  core::NoiseCriterion c({10, 0.005, 100.0, 1000.0}); // min_time out of reach: rule 2 alone
  for (int i = 0; i < 999; ++i) {
    c.add(i % 2 == 0 ? 1e-3 : 1.02e-3);
  }
  CHECK(c.noise() > 0.005);
  CHECK_FALSE(c.converged()); // fewer than 1000 samples
  c.add(1e-3);
  // 1.96 * 0.0099 / sqrt(1000) = 0.00061 <= 0.00125
  CHECK(c.converged());
}

TEST_CASE("NoiseCriterion: noise just below and above the target, and bad input", "[stats]") {
  // Samples 1 and 1+d alternating: stdrel is about d/2 / (1 + d/2) for many samples.
  core::NoiseCriterion low({10, 0.005, 0.0, 15.0});
  core::NoiseCriterion high({10, 0.005, 0.0, 15.0});
  for (int i = 0; i < 100; ++i) {
    low.add(i % 2 == 0 ? 1.0 : 1.009);
    high.add(i % 2 == 0 ? 1.0 : 1.011);
  }
  CHECK(low.noise() < 0.005);
  CHECK(low.converged());
  CHECK(high.noise() > 0.005);
  CHECK_FALSE(high.converged());

  core::NoiseCriterion single({1, 0.005, 0.0, 15.0});
  single.add(1.0);
  CHECK(single.noise() == std::numeric_limits<double>::infinity()); // undefined with one sample
  CHECK_FALSE(single.converged());

  core::NoiseCriterion c;
  CHECK_THROWS_AS(c.add(k_nan), Error);
  CHECK_THROWS_AS(c.add(-1.0), Error);
  CHECK(c.count() == 0);
  CHECK_THROWS_AS(core::NoiseCriterion({10, -0.1, 0.5, 15.0}), Error);
  CHECK_THROWS_AS(core::NoiseCriterion({10, 0.005, 0.5, 0.0}), Error);
  CHECK_THROWS_AS(core::NoiseCriterion({10, 0.005, k_nan, 15.0}), Error);
}

TEST_CASE("filter_throttled drops samples below the clock threshold", "[stats]") {
  const std::vector<core::ClockSample> samples = {
      {1.0, 1980}, {1.1, 1980}, {1.5, 1500}, {1.05, 1900}, {1.2, 1880}, {1.3, 1881},
  };
  SECTION("against the highest clock seen") {
    // 0.95 × 1980 = 1881: 1500 and 1880 are below, 1881 is not.
    const core::ThrottleFilter f = core::filter_throttled(samples);
    CHECK(f.reference_mhz == 1980.0);
    CHECK(f.kept == std::vector<double>{1.0, 1.1, 1.05, 1.3});
    CHECK(f.dropped == 2);
  }
  SECTION("against a nominal clock") {
    // 0.95 × 1755 = 1667.25: only 1500 is below.
    const core::ThrottleFilter f = core::filter_throttled(samples, 0.95, 1755.0);
    CHECK(f.reference_mhz == 1755.0);
    CHECK(f.kept == std::vector<double>{1.0, 1.1, 1.05, 1.2, 1.3});
    CHECK(f.dropped == 1);
    // Threshold 1: anything below the nominal clock goes.
    const core::ThrottleFilter strict = core::filter_throttled(samples, 1.0, 1900.0);
    CHECK(strict.kept == std::vector<double>{1.0, 1.1, 1.05});
    CHECK(strict.dropped == 3);
  }
  SECTION("no clock readings, empty input, bad settings") {
    const core::ThrottleFilter f = core::filter_throttled({{1.0, 0.0}, {2.0, 0.0}});
    CHECK(f.kept == std::vector<double>{1.0, 2.0});
    CHECK(f.dropped == 0);
    CHECK(core::filter_throttled({}).kept.empty());
    CHECK_THAT(error_of([&] { core::filter_throttled(samples, 0.0); }), Contains("threshold"));
    CHECK_THAT(error_of([&] { core::filter_throttled(samples, 1.5); }), Contains("threshold"));
    CHECK_THROWS_AS(core::filter_throttled(samples, 0.95, -1.0), Error);
  }
}

TEST_CASE("compare_ab: Mann-Whitney p-values computed by hand", "[stats]") {
  SECTION("no ties") {
    // U_A = 0, U = max(U_A, U_B) = 25, mu = 12.5, sigma^2 = 25/12 · 11 = 22.9167;
    // z = (25 - 12.5 - 0.5) / 4.78714 = 2.50672, p = erfc(z / sqrt 2) = 0.0121858.
    const core::AbVerdict v = core::compare_ab({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
    CHECK(v.p_value == Approx(0.012185780355344818).epsilon(1e-12));
    CHECK(v.ratio == 8.0 / 3.0);
    CHECK(v.ci_low > 1.0);
    CHECK_FALSE(v.significant); // the CI excludes 1 but p >= 0.01
  }
  SECTION("ties") {
    // Pooled and sorted: 1a 2a 2a 2b 3a 3b 4b 5b, ranks 1, 3, 3, 3, 5.5, 5.5, 7, 8.
    // R_A = 1 + 3 + 3 + 5.5 = 12.5, U_A = 12.5 - 10 = 2.5, U = 16 - 2.5 = 13.5, mu = 8;
    // ties (3 twos, 2 threes): sum t^3 - t = 24 + 6 = 30; sigma^2 = 16/12 · (9 - 30/56) = 11.2857;
    // z = (13.5 - 8 - 0.5) / 3.35942 = 1.48835, p = erfc(z / sqrt 2) = 0.136658.
    const core::AbVerdict v = core::compare_ab({1, 2, 2, 3}, {2, 3, 4, 5});
    CHECK(v.p_value == Approx(0.13665824773814753).epsilon(1e-12));
    // The test is symmetric in A and B.
    CHECK(core::compare_ab({2, 3, 4, 5}, {1, 2, 2, 3}).p_value == v.p_value);
  }
  SECTION("all values tied") {
    const core::AbVerdict v = core::compare_ab({2, 2, 2}, {2, 2});
    CHECK(v.p_value == 1.0);
    CHECK(v.ratio == 1.0);
    CHECK(v.ci_low == 1.0);
    CHECK(v.ci_high == 1.0);
    CHECK_FALSE(v.significant);
  }
}

TEST_CASE("compare_ab: identical sets are not significant", "[stats]") {
  std::mt19937_64 rng(1);
  const std::vector<double> a = noisy(rng, 50, 1e-3, 0.02);
  const core::AbVerdict v = core::compare_ab(a, a);
  CHECK(v.ratio == 1.0);
  CHECK(v.ci_low <= 1.0);
  CHECK(v.ci_high >= 1.0);
  CHECK(v.p_value == 1.0); // U = mu exactly: the continuity correction makes z < 0
  CHECK_FALSE(v.significant);
  CHECK_THAT(core::describe(v), StartsWith("no significant difference (B/A 1.000x, 95% CI 0.99"));
  CHECK_THAT(core::describe(v), Contains("p=1;"));
}

TEST_CASE("compare_ab: two draws from one distribution are not significant", "[stats]") {
  std::mt19937_64 rng(2);
  const std::vector<double> a = noisy(rng, 100, 1e-3, 0.02);
  const std::vector<double> b = noisy(rng, 100, 1e-3, 0.02);
  const core::AbVerdict v = core::compare_ab(a, b);
  CHECK(v.ci_low < 1.0);
  CHECK(v.ci_high > 1.0);
  CHECK(v.p_value > 0.01);
  CHECK_FALSE(v.significant);
}

TEST_CASE("compare_ab: a 10% shift with low noise is significant", "[stats]") {
  std::mt19937_64 rng(3);
  SECTION("B faster") {
    const std::vector<double> a = noisy(rng, 50, 1.0e-3, 0.02);
    const std::vector<double> b = noisy(rng, 50, 0.9e-3, 0.02);
    const core::AbVerdict v = core::compare_ab(a, b);
    CHECK(v.n_a == 50);
    CHECK(v.n_b == 50);
    CHECK(v.ratio == Approx(0.9).epsilon(0.01));
    // The true ratio lies in the CI, which is narrow (±1% noise).
    CHECK(v.ci_low <= 0.9);
    CHECK(v.ci_high >= 0.9);
    CHECK(v.ci_high - v.ci_low < 0.02);
    CHECK(v.ci_low <= v.ratio);
    CHECK(v.ratio <= v.ci_high);
    CHECK(v.p_value < 1e-10); // the sets do not overlap
    CHECK(v.noise_a == Approx(core::stdrel(a)));
    CHECK(v.noise_a < 0.01);
    CHECK(v.significant);
    const std::string text = core::describe(v);
    CHECK_THAT(text, StartsWith("B is 1.1"));
    CHECK_THAT(text, Contains("x faster than A (95% CI 1.1"));
    CHECK_THAT(text, Contains(", p<0.001; noise A 0."));
  }
  SECTION("B slower") {
    const std::vector<double> a = noisy(rng, 30, 1.0e-3, 0.02);
    const std::vector<double> b = noisy(rng, 30, 1.1e-3, 0.02);
    const core::AbVerdict v = core::compare_ab(a, b);
    CHECK(v.ci_low <= 1.1);
    CHECK(v.ci_high >= 1.1);
    CHECK(v.significant);
    CHECK_THAT(core::describe(v), StartsWith("B is 1.1"));
    CHECK_THAT(core::describe(v), Contains("x slower than A (95% CI 1."));
  }
}

TEST_CASE("compare_ab: the bootstrap CI covers the true ratio on noisy data", "[stats]") {
  // 20 data sets with ±5% noise and a true ratio of 0.97: a 95% CI should miss it rarely.
  std::mt19937_64 rng(4);
  int covered = 0;
  for (int i = 0; i < 20; ++i) {
    const std::vector<double> a = noisy(rng, 40, 1.0, 0.1);
    const std::vector<double> b = noisy(rng, 40, 0.97, 0.1);
    const core::AbVerdict v = core::compare_ab(a, b);
    covered += v.ci_low <= 0.97 && 0.97 <= v.ci_high ? 1 : 0;
  }
  CHECK(covered >= 17);
}

TEST_CASE("compare_ab is deterministic and checks its input", "[stats]") {
  std::mt19937_64 rng(5);
  const std::vector<double> a = noisy(rng, 25, 1.0, 0.1);
  const std::vector<double> b = noisy(rng, 35, 1.02, 0.1);
  const core::AbVerdict v1 = core::compare_ab(a, b);
  const core::AbVerdict v2 = core::compare_ab(a, b);
  CHECK(v1.ci_low == v2.ci_low);
  CHECK(v1.ci_high == v2.ci_high);
  CHECK(v1.p_value == v2.p_value);
  CHECK(core::describe(v1) == core::describe(v2));

  CHECK_THAT(error_of([&] { core::compare_ab({}, b); }), Contains("empty"));
  CHECK_THAT(error_of([&] { core::compare_ab(a, {1.0, 0.0}); }), Contains("positive"));
  CHECK_THAT(error_of([&] { core::compare_ab(a, {1.0, k_nan}); }), Contains("non-finite"));
}

TEST_CASE("describe formats each verdict", "[stats]") {
  core::AbVerdict v;
  v.ratio = 1.0 / 1.23;
  v.ci_low = 1.0 / 1.26;
  v.ci_high = 1.0 / 1.20;
  v.p_value = 1e-5;
  v.noise_a = 0.0041;
  v.noise_b = 0.0038;
  v.significant = true;
  CHECK(core::describe(v) ==
        "B is 1.230x faster than A (95% CI 1.200x-1.260x, p<0.001; noise A 0.41%, B 0.38%)");

  v.ratio = 1.05;
  v.ci_low = 1.03;
  v.ci_high = 1.07;
  v.p_value = 0.0012;
  CHECK(core::describe(v) ==
        "B is 1.050x slower than A (95% CI 1.030x-1.070x, p=0.0012; noise A 0.41%, B 0.38%)");

  v.ratio = 0.998;
  v.ci_low = 0.99;
  v.ci_high = 1.006;
  v.p_value = 0.61;
  v.significant = false;
  CHECK(core::describe(v) == "no significant difference (B/A 0.998x, 95% CI 0.990x-1.006x, "
                             "p=0.61; noise A 0.41%, B 0.38%)");
}

TEST_CASE("LatencyCache round trip, in a directory it creates", "[stats]") {
  TempDir tmp;
  const fs::path dir = tmp.path() / "cache" / "latency";
  const core::LatencyCache cache(dir);
  const core::LatencyKey key = sample_key();

  CHECK_FALSE(cache.get(key).has_value());
  CHECK_FALSE(fs::exists(dir)); // get() creates nothing

  cache.put(key, 0.012345678901234567);
  CHECK(fs::is_directory(dir));
  CHECK(cache.get(key) == 0.012345678901234567); // exact round trip through the JSON text

  // One disk-cache entry named by the key's hash, its payload the key fields in JSON.
  const fs::path file = cache.entry_path(key);
  CHECK(file.parent_path().parent_path() == dir);
  CHECK(file.stem().string() == core::LatencyCache::entry_key(key));
  CHECK(file.stem().string().size() == 32);
  CHECK(util::DiskCache(dir).get(core::LatencyCache::entry_key(key)).has_value());
  const std::string text = util::read_file(file);
  CHECK_THAT(text, Contains("\"counts\": \"10/50/3\""));
  CHECK_THAT(text, Contains("\"gpu\": \"NVIDIA H100 80GB HBM3\""));
  CHECK_THAT(text, Contains("\"latency_ms\": 0.012345678901234567"));

  // put() replaces; another cache object on the same directory sees it.
  cache.put(key, 2.5);
  CHECK(core::LatencyCache(dir).get(key) == 2.5);
  // One entry, no temporary files left behind.
  CHECK(util::DiskCache(dir).entry_count() == 1);
  std::size_t files = 0;
  for (const fs::directory_entry& e : fs::recursive_directory_iterator(dir)) {
    files += e.is_regular_file() && e.path().filename().string().find("tmp") != std::string::npos;
  }
  CHECK(files == 0);
}

TEST_CASE("LatencyCache: every key field matters", "[stats]") {
  TempDir tmp;
  const core::LatencyCache cache(tmp.path());
  const core::LatencyKey key = sample_key();
  cache.put(key, 1.0);
  std::vector<core::LatencyKey> others(6, key);
  others[0].definition += "x";
  others[1].workload += "x";
  others[2].gpu = "NVIDIA H200";
  others[3].mode = "cupti";
  others[4].counts = "10/50/5";
  others[5].reference_hash = "0";
  for (const core::LatencyKey& other : others) {
    CHECK(cache.entry_path(other) != cache.entry_path(key));
    CHECK_FALSE(cache.get(other).has_value());
  }
  // Fields are hashed as a sequence, not concatenated.
  core::LatencyKey shifted = key;
  shifted.definition = key.definition + key.workload.substr(0, 1);
  shifted.workload = key.workload.substr(1);
  CHECK(cache.entry_path(shifted) != cache.entry_path(key));
  CHECK(cache.get(key) == 1.0);
}

TEST_CASE("LatencyCache: a mismatched key or a corrupt file is a miss", "[stats]") {
  TempDir tmp;
  const core::LatencyCache cache(tmp.path());
  const core::LatencyKey key = sample_key();
  core::LatencyKey other = key;
  other.gpu = "NVIDIA B200";

  SECTION("stored key differs (as after a hash collision)") {
    cache.put(other, 3.0);
    util::write_file_atomic(cache.entry_path(key), util::read_file(cache.entry_path(other)));
    CHECK_FALSE(cache.get(key).has_value());
    CHECK(cache.get(other) == 3.0);
  }
  SECTION("corrupt contents") {
    cache.put(key, 3.0);
    const std::string good = util::read_file(cache.entry_path(key));
    const std::vector<std::string> bad = {
        "",
        "{not json",
        good.substr(0, good.size() / 2),
        "[1, 2, 3]",
        "{\"format\": 1}",
        std::string(good).replace(good.find("3.0"), 3, "\"3.0\""),
        std::string(good).replace(good.find("3.0"), 3, "-3.0"),
        std::string(good).replace(good.find("\"format\": 2"), 11, "\"format\": 3"),
        std::string("\xff\xfe\x00garbage", 10),
    };
    for (const std::string& content : bad) {
      INFO(content);
      util::write_file_atomic(cache.entry_path(key), content);
      CHECK_NOTHROW(cache.get(key));
      CHECK_FALSE(cache.get(key).has_value());
    }
    cache.put(key, 4.0); // a put repairs the entry
    CHECK(cache.get(key) == 4.0);
  }
  SECTION("a directory where the file should be") {
    fs::create_directories(cache.entry_path(key));
    CHECK_FALSE(cache.get(key).has_value());
    CHECK_THROWS_AS(cache.put(key, 1.0), Error);
  }
  SECTION("invalid latencies are refused") {
    CHECK_THROWS_AS(cache.put(key, k_nan), std::invalid_argument);
    CHECK_THROWS_AS(cache.put(key, 0.0), std::invalid_argument);
    CHECK_THROWS_AS(cache.put(key, -1.0), std::invalid_argument);
    CHECK_FALSE(fs::exists(cache.entry_path(key)));
  }
}

TEST_CASE("LatencyCache::default_dir is the compile cache's root", "[stats]") {
  TempDir tmp;
  const EnvGuard fib("FIB_CACHE_PATH", (tmp.path() / "fib-cache").string());
  const EnvGuard xdg("XDG_CACHE_HOME", (tmp.path() / "xdg").string());
  const EnvGuard home("HOME", (tmp.path() / "home").string());
  CHECK(core::LatencyCache::default_dir() == tmp.path() / "fib-cache");
  ::unsetenv("FIB_CACHE_PATH");
  CHECK(core::LatencyCache::default_dir() == tmp.path() / "xdg" / "fibkit");
  ::setenv("XDG_CACHE_HOME", "relative/xdg", 1); // ignored, as the XDG spec says
  CHECK(core::LatencyCache::default_dir() == tmp.path() / "home" / ".cache" / "fibkit");
  ::unsetenv("XDG_CACHE_HOME");
  CHECK(core::LatencyCache::default_dir() == tmp.path() / "home" / ".cache" / "fibkit");
}

TEST_CASE("LatencyCache: entries share the compile cache and its clearing", "[stats]") {
  TempDir tmp;
  const util::DiskCache compile(tmp.path());
  compile.put(std::string(32, 'a'), "cubin");
  const core::LatencyCache cache(tmp.path());
  cache.put(sample_key(), 1.5);
  CHECK(compile.entry_count() == 2);
  CHECK(cache.get(sample_key()) == 1.5);
  compile.clear();
  CHECK_FALSE(cache.get(sample_key()).has_value());
}
