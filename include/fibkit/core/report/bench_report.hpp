// The result model of `fibkit bench` and its three reports, one source file each: one JSON
// document (schema_version 1; report_json.cpp), the terminal table (report_table.cpp) and a
// self-contained HTML5 page with inline SVG charts (report_html.cpp, report_svg.cpp). Host only:
// the engine fills a BenchReport, these functions only summarise and print it.
//
// Contest metric: a workload's latency is the mean over trials of the per-trial median
// latencies, its speedup is reference / solution, and the score of a (solution, definition) is
// the arithmetic mean of the speedups of its PASSED workloads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fibkit::core {

/// Statistics over every timed sample of one workload (all iterations of all trials); the
/// fields of stats.hpp's Summary, in milliseconds.
struct LatencyStats {
  double median_ms = 0.0;
  double mean_ms = 0.0;
  double p10_ms = 0.0; ///< 10th percentile, linear interpolation between closest ranks
  double p90_ms = 0.0;
  double stdrel = 0.0; ///< sample standard deviation / mean (0 for fewer than 2 samples)
  std::size_t samples = 0;
  /// False when the timer stopped at its iteration cap before the spread settled.
  bool converged = true;
};

/// One workload of one solution.
struct BenchRow {
  std::string solution;
  std::string definition;
  std::string workload_uuid;
  std::size_t index = 0; ///< the workload's index among its definition's workloads
  std::string axes;      ///< "T=7 B=1"
  /// The official status name: "PASSED", "INCORRECT_NUMERICAL", "RUNTIME_ERROR", ...
  std::string status;
  /// The contest metric: mean over trials of the per-trial medians.
  std::optional<double> latency_ms;
  std::vector<double> trial_ms; ///< per-trial medians
  std::optional<LatencyStats> stats;
  std::optional<double> reference_ms;
  std::optional<double> speedup; ///< reference_ms / latency_ms
  std::optional<double> baseline_ms;
  std::optional<double> baseline_speedup; ///< baseline_ms / latency_ms
  std::optional<double> flops;            ///< floating-point operations of one launch
  std::optional<double> bytes;            ///< DRAM bytes of one launch
  std::optional<double> achieved_tflops;
  std::optional<double> achieved_gbps;
  std::optional<double> bw_fraction;   ///< achieved / peak bandwidth, 0..1
  std::optional<double> flop_fraction; ///< achieved / peak FLOP rate, 0..1
  /// achieved / the practical HBM ceiling (a large device-to-device copy), where known
  std::optional<double> practical_bw_fraction;
  std::string bound;      ///< "memory", "compute" or empty when unknown
  std::string cost_basis; ///< where flops/bytes come from, e.g. "formula"
  /// --compare: whether the two solutions differ beyond the run-to-run spread (core::describe)
  std::string ab_verdict;
  std::string log; ///< error text of a failed row, or why the baseline was not timed

  /// status == "PASSED".
  bool passed() const { return status == "PASSED"; }
};

/// One run of `fibkit bench`.
struct BenchReport {
  std::string fibkit_version;
  std::string timestamp; ///< ISO 8601
  std::string gpu;       ///< device name
  std::string arch;      ///< "sm_90a"
  std::string mode;      ///< "contest" or "kernel"
  std::string timer;     ///< "cupti" or "cuda-events (fallback)"
  int warmup = 0;
  int iterations = 0;
  int trials = 0;
  std::string reference_kind = "native";
  std::optional<std::string> baseline_name; ///< --baseline
  /// The peaks the roofline fractions refer to, for the reader, e.g. "H100 SXM: 3350 GB/s,
  /// 989 TFLOP/s BF16, 1979 TFLOP/s FP8"; empty when the device is unknown.
  std::string device_peaks;
  std::vector<BenchRow> rows;
  /// Remarks for the reader, e.g. "synthesized stand-ins for missing blobs".
  std::vector<std::string> notes;
};

/// The result of one (solution, definition) pair.
struct DefinitionSummary {
  std::string solution;
  std::string definition;
  std::size_t workloads = 0;
  std::size_t passed = 0;
  /// PASSED rows with a finite speedup: those that `mean_speedup` averages.
  std::size_t scored = 0;
  /// Arithmetic mean of the speedups over the reference of the PASSED rows; nullopt when no
  /// row counts.
  std::optional<double> mean_speedup;
  std::optional<double> min_speedup; ///< over the same rows
  std::optional<double> max_speedup;
  /// Arithmetic mean of the finite baseline speedups of the PASSED rows.
  std::optional<double> mean_baseline_speedup;
  /// The contest's score of the definition: the mean over its workloads of baseline latency /
  /// solution latency, 0 when any workload is not PASSED; nullopt without baseline timings.
  std::optional<double> contest_score;

  std::size_t failed() const { return workloads - passed; }
};

/// `other_ms / latency_ms` (a speedup over the reference or the baseline) when both are positive
/// and finite; nullopt otherwise.
std::optional<double> speedup_over(std::optional<double> other_ms, double latency_ms);

/// The timings of one workload, as a row takes them.
struct RowTimings {
  double latency_ms = 0.0;        ///< the contest figure: mean of the trial medians
  std::vector<double> trial_ms;   ///< per-trial medians
  std::vector<double> samples_ms; ///< every measured call
  bool converged = true;          ///< kernel mode: the noise target was met
  std::optional<double> reference_ms;
  std::optional<double> baseline_ms;
};

/// Fills a PASSED row's latency, statistics and speedups (reference / solution and baseline /
/// solution, as speedup_over gives them) from `t`.
void set_timings(BenchRow& row, const RowTimings& t);

/// One summary per (solution, definition), in the order of their first row.
std::vector<DefinitionSummary> summarize_definitions(const BenchReport& report);

/// A contest track's score from the report: the sum of its definitions' contest scores (a
/// definition not benched, or benched without a baseline, counts 0) over the number of
/// definitions the track has (MoE 1, DSA 2, GDN 2).
struct TrackScore {
  std::string track;
  double score = 0.0;
  std::size_t scored = 0;   ///< definitions of the track with a contest score in the report
  std::size_t expected = 0; ///< definitions of the track
};

/// One TrackScore per (solution, track) with at least one contest score, in row order.
std::vector<std::pair<std::string, TrackScore>> track_scores(const BenchReport& report);

/// `report` as one JSON document (indent 2, schema_version 1) with its rows under "results" and
/// the summaries under "summaries"; non-finite numbers are written as null.
std::string report_to_json(const BenchReport& report);

/// The terminal table: a run line, then per (solution, definition) a header line, one line per
/// row (# uuid axes status latency p10-p90 ref speedup roofline; failed rows add the first line
/// of their log) and the summary line ("mean speedup 3.21x over 19 workloads"); notes last.
/// `color` adds ANSI styles (util::styled).
std::string render_table(const BenchReport& report, bool color);

/// A self-contained HTML5 page (no external assets, no script): run header, summary table,
/// per (solution, definition) inline SVG charts of latency, speedup and roofline fractions,
/// and a table with every number.
std::string render_html(const BenchReport& report);

/// `text` with &, <, >, " and ' replaced by HTML entities.
std::string html_escape(std::string_view text);

} // namespace fibkit::core
