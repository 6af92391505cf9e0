#include "fibkit/core/eval/stats.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace fibkit::core {

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();

/// Throws fibkit::Error unless `samples` is non-empty and every value is finite.
void check_samples(const std::vector<double>& samples, const char* what) {
  if (samples.empty()) {
    throw Error(fmt::format("{} of an empty sample set", what));
  }
  for (double x : samples) {
    if (!std::isfinite(x)) {
      throw Error(fmt::format("{}: the samples hold a non-finite value ({})", what, x));
    }
  }
}

/// The median of `v` (non-empty), reordering it: O(n) with nth_element.
double median_in_place(std::vector<double>& v) {
  const std::size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid), v.end());
  const double upper = v[mid];
  if (v.size() % 2 == 1) {
    return upper;
  }
  // After nth_element every value before `mid` is <= v[mid]; the largest is the lower middle.
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2.0;
}

/// numpy's `_lerp`: a + (b - a)·t, computed from the nearer end for accuracy.
double lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

/// The p-th percentile of sorted, non-empty `x` (numpy's "linear" method).
double percentile_sorted(const std::vector<double>& x, double p) {
  const double virtual_index = static_cast<double>(x.size() - 1) * (p / 100.0);
  const double below = std::floor(virtual_index);
  const std::size_t last = x.size() - 1;
  const std::size_t i = std::min(static_cast<std::size_t>(below), last);
  const std::size_t j = std::min(i + 1, last);
  return lerp(x[i], x[j], virtual_index - below);
}

/// splitmix64 (Steele, Lea and Flood): a tiny PRNG with a 64-bit state, enough for resampling.
class SplitMix64 {
public:
  explicit SplitMix64(std::uint64_t seed) : m_state(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (m_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// A value in [0, n) (n > 0). The modulo bias, at most n / 2^64, is negligible here.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }

private:
  std::uint64_t m_state;
};

/// The Mann-Whitney U test's two-sided p-value (normal approximation, tie and continuity
/// corrections), as scipy.stats.mannwhitneyu(a, b, method="asymptotic").
double mann_whitney_p(const std::vector<double>& a, const std::vector<double>& b) {
  struct Item {
    double value;
    bool from_a;
  };
  std::vector<Item> all;
  all.reserve(a.size() + b.size());
  for (double x : a) {
    all.push_back({x, true});
  }
  for (double x : b) {
    all.push_back({x, false});
  }
  std::sort(all.begin(), all.end(), [](const Item& l, const Item& r) { return l.value < r.value; });

  // Ranks 1..N, ties sharing the mean of their ranks; tie_term = sum over tie groups of t^3 - t.
  double rank_sum_a = 0.0;
  double tie_term = 0.0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].value == all[i].value) {
      ++j;
    }
    const double t = static_cast<double>(j - i);
    const double mid_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (all[k].from_a) {
        rank_sum_a += mid_rank;
      }
    }
    tie_term += t * t * t - t;
    i = j;
  }

  const double n_a = static_cast<double>(a.size());
  const double n_b = static_cast<double>(b.size());
  const double n = n_a + n_b;
  const double u_a = rank_sum_a - n_a * (n_a + 1.0) / 2.0;
  const double u = std::max(u_a, n_a * n_b - u_a);
  const double mu = n_a * n_b / 2.0;
  const double variance = n_a * n_b / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
  if (!(variance > 0.0)) {
    return 1.0; // every value tied: no evidence of a difference
  }
  const double z = (u - mu - 0.5) / std::sqrt(variance);
  return std::min(1.0, std::erfc(z / std::sqrt(2.0)));
}

/// A ratio with three decimals and an "x" ("1.234x"): two would hide the CI of small effects.
std::string format_ratio(double value) {
  return fmt::format("{:.3f}x", value);
}

} // namespace

double median(std::vector<double> samples) {
  check_samples(samples, "median");
  return median_in_place(samples);
}

double mean(const std::vector<double>& samples) {
  check_samples(samples, "mean");
  return std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(samples.size());
}

double percentile(std::vector<double> samples, double p) {
  check_samples(samples, "percentile");
  if (!(p >= 0.0 && p <= 100.0)) {
    throw Error(fmt::format("percentile: {} is not in [0, 100]", p));
  }
  std::sort(samples.begin(), samples.end());
  return percentile_sorted(samples, p);
}

double stddev(const std::vector<double>& samples) {
  const double m = mean(samples);
  if (samples.size() < 2) {
    return 0.0;
  }
  double squares = 0.0;
  for (double x : samples) {
    squares += (x - m) * (x - m);
  }
  return std::sqrt(squares / static_cast<double>(samples.size() - 1));
}

double stdrel(const std::vector<double>& samples) {
  const double m = mean(samples);
  if (m == 0.0) {
    throw Error("stdrel: the mean of the samples is 0");
  }
  return stddev(samples) / std::abs(m);
}

double minimum(const std::vector<double>& samples) {
  check_samples(samples, "minimum");
  return *std::min_element(samples.begin(), samples.end());
}

double maximum(const std::vector<double>& samples) {
  check_samples(samples, "maximum");
  return *std::max_element(samples.begin(), samples.end());
}

Summary summarize(const std::vector<double>& samples) {
  check_samples(samples, "summary");
  std::vector<double> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  Summary s;
  s.n = sorted.size();
  s.min = sorted.front();
  s.p10 = percentile_sorted(sorted, 10.0);
  s.median = median_in_place(sorted);
  s.p90 = percentile_sorted(sorted, 90.0);
  s.max = sorted.back();
  s.mean = mean(samples);
  s.stdrel = stdrel(samples);
  return s;
}

NoiseCriterion::NoiseCriterion(NoiseSettings settings) : m_settings(settings) {
  const auto valid = [](double x) { return std::isfinite(x) && x >= 0.0; };
  if (!valid(settings.max_noise) || !valid(settings.min_time_s) || !valid(settings.max_time_s) ||
      settings.max_time_s == 0.0) {
    throw Error(fmt::format("invalid noise criterion: max_noise {}, min_time {} s, max_time {} s "
                            "(each must be finite and >= 0, max_time > 0)",
                            settings.max_noise, settings.min_time_s, settings.max_time_s));
  }
}

void NoiseCriterion::add(double sample_seconds) {
  if (!std::isfinite(sample_seconds) || sample_seconds < 0.0) {
    throw Error(fmt::format("invalid timing sample: {} s", sample_seconds));
  }
  // Welford's online update: numerically stable and O(1) per sample.
  ++m_count;
  m_sum += sample_seconds;
  const double delta = sample_seconds - m_mean;
  m_mean += delta / static_cast<double>(m_count);
  m_m2 += delta * (sample_seconds - m_mean);
}

double NoiseCriterion::noise() const {
  if (m_count < 2 || !(m_mean > 0.0)) {
    return k_inf;
  }
  return std::sqrt(m_m2 / static_cast<double>(m_count - 1)) / m_mean;
}

bool NoiseCriterion::converged() const {
  if (m_count < m_settings.min_samples) {
    return false;
  }
  const double n = noise();
  if (m_sum >= m_settings.min_time_s && n <= m_settings.max_noise) {
    return true; // nvbench's rule
  }
  return m_count >= 1000 &&
         1.96 * n / std::sqrt(static_cast<double>(m_count)) <= m_settings.max_noise / 4;
}

ThrottleFilter filter_throttled(const std::vector<ClockSample>& samples, double threshold,
                                std::optional<double> nominal_mhz) {
  if (!(threshold > 0.0 && threshold <= 1.0)) {
    throw Error(fmt::format("throttle threshold {} is not in (0, 1]", threshold));
  }
  if (nominal_mhz && !(std::isfinite(*nominal_mhz) && *nominal_mhz > 0.0)) {
    throw Error(fmt::format("nominal SM clock {} MHz is not positive", *nominal_mhz));
  }
  ThrottleFilter result;
  if (nominal_mhz) {
    result.reference_mhz = *nominal_mhz;
  } else {
    for (const ClockSample& s : samples) {
      result.reference_mhz = std::max(result.reference_mhz, s.sm_clock_mhz);
    }
  }
  const double floor_mhz = threshold * result.reference_mhz;
  for (const ClockSample& s : samples) {
    if (s.sm_clock_mhz < floor_mhz) {
      ++result.dropped;
    } else {
      result.kept.push_back(s.seconds);
    }
  }
  return result;
}

AbVerdict compare_ab(const std::vector<double>& a, const std::vector<double>& b) {
  check_samples(a, "A/B comparison (A)");
  check_samples(b, "A/B comparison (B)");
  for (const std::vector<double>* set : {&a, &b}) {
    if (*std::min_element(set->begin(), set->end()) <= 0.0) {
      throw Error("A/B comparison: latencies must be positive");
    }
  }

  AbVerdict v;
  v.n_a = a.size();
  v.n_b = b.size();
  v.median_a = median(a);
  v.median_b = median(b);
  v.ratio = v.median_b / v.median_a;
  v.noise_a = stdrel(a);
  v.noise_b = stdrel(b);

  SplitMix64 rng(k_bootstrap_seed);
  std::vector<double> ratios(k_bootstrap_resamples);
  std::vector<double> resample_a(a.size());
  std::vector<double> resample_b(b.size());
  for (double& ratio : ratios) {
    for (double& x : resample_a) {
      x = a[rng.below(a.size())];
    }
    for (double& x : resample_b) {
      x = b[rng.below(b.size())];
    }
    ratio = median_in_place(resample_b) / median_in_place(resample_a);
  }
  std::sort(ratios.begin(), ratios.end());
  v.ci_low = percentile_sorted(ratios, 2.5);
  v.ci_high = percentile_sorted(ratios, 97.5);

  v.p_value = mann_whitney_p(a, b);
  v.significant = (v.ci_high < 1.0 || v.ci_low > 1.0) && v.p_value < 0.01;
  return v;
}

std::string describe(const AbVerdict& v) {
  const std::string p =
      v.p_value < 0.001 ? std::string("p<0.001") : fmt::format("p={:.2g}", v.p_value);
  const std::string noise =
      fmt::format("noise A {:.2f}%, B {:.2f}%", 100.0 * v.noise_a, 100.0 * v.noise_b);
  if (v.significant && v.ci_high < 1.0) {
    // B is faster: report the speedup median(A) / median(B) and its CI.
    return fmt::format("B is {} faster than A (95% CI {}-{}, {}; {})", format_ratio(1.0 / v.ratio),
                       format_ratio(1.0 / v.ci_high), format_ratio(1.0 / v.ci_low), p, noise);
  }
  if (v.significant) {
    return fmt::format("B is {} slower than A (95% CI {}-{}, {}; {})", format_ratio(v.ratio),
                       format_ratio(v.ci_low), format_ratio(v.ci_high), p, noise);
  }
  return fmt::format("no significant difference (B/A {}, 95% CI {}-{}, {}; {})",
                     format_ratio(v.ratio), format_ratio(v.ci_low), format_ratio(v.ci_high), p,
                     noise);
}

} // namespace fibkit::core
