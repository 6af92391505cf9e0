// The statistics of `fibkit bench`, on host-side timing samples: summaries (median, percentiles,
// relative standard deviation), a noise-based stopping rule, the filter that drops samples taken
// while the GPU clock was throttled, and the A/B comparison of two sample sets (ratio of medians,
// bootstrap confidence interval, Mann-Whitney U test).
//
// Every function below that takes a `std::vector<double>` of samples throws fibkit::Error when
// it is empty or holds a value that is not finite (NaN or infinity).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::core {

/// The median as Python's `statistics.median`: the middle value for odd n, the mean of the two
/// middle values for even n.
double median(std::vector<double> samples);
/// The arithmetic mean.
double mean(const std::vector<double>& samples);
/// The `p`-th percentile (0 <= p <= 100) with numpy's default method ("linear"): the sorted
/// values x[0..n-1] are interpolated at the virtual index (n-1)·p/100, so percentile of 1..10 at
/// 10 is 1.9 and at 90 is 9.1. Throws fibkit::Error for p outside [0, 100].
double percentile(std::vector<double> samples, double p);
/// The sample standard deviation (divisor n-1) as Python's `statistics.stdev`, except that a
/// single sample gives 0 instead of an error.
double stddev(const std::vector<double>& samples);
/// The relative standard deviation stddev / mean (0.01 = 1%). Throws fibkit::Error when the mean
/// is 0.
double stdrel(const std::vector<double>& samples);
/// The smallest sample.
double minimum(const std::vector<double>& samples);
/// The largest sample.
double maximum(const std::vector<double>& samples);

/// A summary of one sample set, in the samples' unit (stdrel is a fraction).
struct Summary {
  std::size_t n = 0;
  double min = 0.0;
  double p10 = 0.0;
  double median = 0.0;
  double p90 = 0.0;
  double max = 0.0;
  double mean = 0.0;
  double stdrel = 0.0; ///< stddev / mean; 0 for a single sample
};

/// The summary of `samples` (the functions above). Throws fibkit::Error when the mean is 0.
Summary summarize(const std::vector<double>& samples);

/// The settings of NoiseCriterion.
struct NoiseSettings {
  std::size_t min_samples = 10; ///< samples needed before the noise target can stop the run
  double max_noise = 0.005;     ///< target relative standard deviation (0.005 = 0.5%)
  double min_time_s = 0.5;      ///< measured time (sum of the samples) needed before stopping
  double max_time_s = 15.0;     ///< elapsed time after which the run stops regardless
};

/// When to stop taking samples: nvbench's "stdrel" criterion, plus a precision rule for short
/// kernels (whose per-sample spread, a few timer ticks, never gets under 0.5 %):
///
///   converged() = count() >= min_samples and
///                 (   (total_time_s() >= min_time_s and noise() <= max_noise)      [nvbench]
///                  or (count() >= 1000 and 1.96 * noise() / sqrt(count()) <= max_noise / 4) )
///   done(elapsed_s) = converged() or elapsed_s >= max_time_s
///
/// where noise() is the relative standard deviation (stddev / mean, divisor n-1) of all the
/// samples added so far (infinity while there are fewer than 2), total_time_s() is the sum of the
/// samples, and elapsed_s is the caller's wall-clock time since the run started (it includes
/// launch and synchronisation overheads the samples do not). The precision rule says the mean is
/// known to within a quarter of max_noise at 95 % confidence. A run that stops without
/// converged() reached its time limit; the report labels its result as not converged.
class NoiseCriterion {
public:
  /// Throws fibkit::Error when a setting is negative or not finite, or max_time_s is 0.
  explicit NoiseCriterion(NoiseSettings settings = {});

  /// Adds one sample (seconds). Throws fibkit::Error when it is negative or not finite.
  void add(double sample_seconds);
  /// Whether to stop (the rule above).
  bool done(double elapsed_s) const { return converged() || elapsed_s >= m_settings.max_time_s; }
  /// Whether the noise target is met (the rule above).
  bool converged() const;

  /// The number of samples added.
  std::size_t count() const { return m_count; }
  /// The sum of the samples added, in seconds.
  double total_time_s() const { return m_sum; }
  /// The relative standard deviation of the samples added; infinity with fewer than 2 samples
  /// or a mean of 0.
  double noise() const;
  /// The settings in use.
  const NoiseSettings& settings() const { return m_settings; }

private:
  NoiseSettings m_settings;
  std::size_t m_count = 0;
  double m_sum = 0.0;
  double m_mean = 0.0; ///< running mean (Welford)
  double m_m2 = 0.0;   ///< running sum of squared deviations from the mean (Welford)
};

/// One timing sample with the SM clock read while it was taken.
struct ClockSample {
  double seconds = 0.0;
  double sm_clock_mhz = 0.0;
};

/// What filter_throttled kept and dropped.
struct ThrottleFilter {
  std::vector<double> kept;   ///< the seconds of the kept samples, in their original order
  std::size_t dropped = 0;    ///< the number of samples dropped
  double reference_mhz = 0.0; ///< the clock the threshold applied to
};

/// Drops the samples taken while the GPU was throttled: those whose SM clock is below
/// threshold × reference, where the reference is `nominal_mhz` when given, else the highest
/// clock among `samples`. With all clocks 0 (no clock readings) nothing is dropped. Throws
/// fibkit::Error when the threshold is not in (0, 1] or `nominal_mhz` is not positive and finite;
/// an empty `samples` gives an empty result.
ThrottleFilter filter_throttled(const std::vector<ClockSample>& samples, double threshold = 0.95,
                                std::optional<double> nominal_mhz = std::nullopt);

/// The outcome of comparing two sample sets of latencies, A (baseline) and B (candidate).
struct AbVerdict {
  std::size_t n_a = 0;
  std::size_t n_b = 0;
  double median_a = 0.0;
  double median_b = 0.0;
  /// median(B) / median(A): below 1 means B is faster.
  double ratio = 1.0;
  /// The 95% confidence interval of `ratio` (percentile bootstrap).
  double ci_low = 1.0;
  double ci_high = 1.0;
  /// The two-sided p-value of the Mann-Whitney U test.
  double p_value = 1.0;
  /// The relative run-to-run spread (stdrel) of each set, a fraction.
  double noise_a = 0.0;
  double noise_b = 0.0;
  /// The CI excludes 1.0 and p_value < 0.01.
  bool significant = false;
};

/// The number of bootstrap resamples compare_ab draws.
inline constexpr int k_bootstrap_resamples = 2000;
/// The seed of compare_ab's bootstrap (fixed, so verdicts are reproducible).
inline constexpr std::uint64_t k_bootstrap_seed = 0x6669626b6974ULL;

/// Compares two sample sets of latencies (taken interleaved, A B A B ..., so that drift affects
/// both alike; the sets are treated as independent and may differ in size):
/// - ratio = median(B) / median(A);
/// - its 95% CI: k_bootstrap_resamples times, resample A and B with replacement (splitmix64
///   seeded with k_bootstrap_seed) and take the ratio of the medians; the CI is the 2.5th and
///   97.5th percentiles of those ratios;
/// - p_value: the Mann-Whitney U test, two-sided, normal approximation with tie correction and
///   continuity correction (scipy.stats.mannwhitneyu's "asymptotic" method); 1 when every value
///   is tied.
/// Deterministic: the same inputs always give the same verdict. Throws fibkit::Error when a set
/// is empty or holds a value that is not positive and finite.
AbVerdict compare_ab(const std::vector<double>& a, const std::vector<double>& b);

/// One line for the report, e.g.
///   "B is 1.230x faster than A (95% CI 1.200x-1.260x, p<0.001; noise A 0.41%, B 0.38%)"
///   "B is 1.050x slower than A (95% CI 1.030x-1.070x, p=0.0012; noise A 0.41%, B 0.38%)"
///   "no significant difference (B/A 0.998x, 95% CI 0.990x-1.006x, p=0.61; noise A 0.41%, ...)"
/// "faster" reports the speedup median(A) / median(B) and its CI (the reciprocals of ratio's);
/// "slower" and "no significant difference" report ratio itself. Noise is stdrel in percent.
std::string describe(const AbVerdict& verdict);

} // namespace fibkit::core
