// Tests for the bench result model and its reports (include/fibkit/core/report/bench_report.hpp):
// the per-(solution, definition) summaries (contest score), the JSON document, the terminal table
// and the self-contained HTML page. The hidden test
// "[report][.sample]" writes a realistic page to $FIBKIT_SAMPLE_REPORT for a look in a browser.
#include "fibkit/core/report/bench_report.hpp"
#include "fibkit/util/json_reader.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using fibkit::core::BenchReport;
using fibkit::core::BenchRow;
using fibkit::core::DefinitionSummary;
using fibkit::core::html_escape;
using fibkit::core::LatencyStats;
using fibkit::core::render_html;
using fibkit::core::render_table;
using fibkit::core::report_to_json;
using fibkit::core::speedup_over;
using fibkit::core::summarize_definitions;
using fibkit::util::parse_json;

namespace {

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

/// Plausible statistics of `samples` samples around `latency`.
LatencyStats stats_around(double latency, std::size_t samples) {
  LatencyStats s;
  s.median_ms = latency;
  s.mean_ms = latency * 1.004;
  s.p10_ms = latency * 0.985;
  s.p90_ms = latency * 1.02;
  s.stdrel = 0.012;
  s.samples = samples;
  return s;
}

BenchRow passed_row(std::string solution, std::string definition, std::size_t index, double latency,
                    double reference) {
  BenchRow r;
  r.solution = std::move(solution);
  r.definition = std::move(definition);
  r.workload_uuid = "0123abcd-0000-5000-8000-00000000000" + std::to_string(index % 10);
  r.index = index;
  r.axes = "T=" + std::to_string(index + 1) + " B=1";
  r.status = "PASSED";
  r.latency_ms = latency;
  r.trial_ms = {latency * 0.99, latency, latency * 1.01};
  r.stats = stats_around(latency, 4);
  r.reference_ms = reference;
  r.speedup = reference / latency;
  r.flops = 2.0e9;
  r.bytes = 1.5e8;
  r.achieved_tflops = r.flops.value() / (latency * 1e-3) / 1e12;
  r.achieved_gbps = r.bytes.value() / (latency * 1e-3) / 1e9;
  r.bw_fraction = r.achieved_gbps.value() / 3350.0;
  r.flop_fraction = r.achieved_tflops.value() / 989.0;
  r.bound = "memory";
  r.cost_basis = "formula";
  return r;
}

BenchRow failed_row(std::string solution, std::string definition, std::size_t index,
                    std::string status, std::string log) {
  BenchRow r;
  r.solution = std::move(solution);
  r.definition = std::move(definition);
  r.workload_uuid = "deadbeef-0000-5000-8000-00000000000" + std::to_string(index % 10);
  r.index = index;
  r.axes = "T=99";
  r.status = std::move(status);
  r.log = std::move(log);
  return r;
}

BenchReport base_report() {
  BenchReport rep;
  rep.fibkit_version = "0.4.0";
  rep.timestamp = "2025-06-01T12:00:00Z";
  rep.gpu = "NVIDIA H100 80GB HBM3";
  rep.arch = "sm_90a";
  rep.mode = "contest";
  rep.timer = "cupti";
  rep.warmup = 10;
  rep.iterations = 50;
  rep.trials = 3;
  rep.device_peaks = "H100 SXM: 3350 GB/s, 989 TFLOP/s BF16, 1979 TFLOP/s FP8";
  return rep;
}

/// Group "fast"/"moe": speedups 2 and 4, one failure and one row without a reference;
/// group "fast"/"gdn": speedups 3.21 x 2, no roofline data.
BenchReport mixed_report() {
  BenchReport rep = base_report();
  rep.rows.push_back(passed_row("fast", "moe", 0, 0.5, 1.0));
  rep.rows.push_back(passed_row("fast", "moe", 1, 0.25, 1.0));
  BenchRow bad = failed_row("fast", "moe", 2, "INCORRECT_NUMERICAL",
                            "max abs error 3.5 > atol 0.01\nsecond line that is not shown");
  bad.speedup = 100.0; // a failed row never counts, whatever it carries
  rep.rows.push_back(bad);
  BenchRow noref = passed_row("fast", "moe", 3, 0.1, 1.0);
  noref.reference_ms.reset();
  noref.speedup.reset();
  rep.rows.push_back(noref);
  for (std::size_t i = 0; i < 2; ++i) {
    BenchRow r = passed_row("fast", "gdn", i, 1.0, 3.21);
    r.flops.reset();
    r.bytes.reset();
    r.achieved_tflops.reset();
    r.achieved_gbps.reset();
    r.bw_fraction.reset();
    r.flop_fraction.reset();
    r.bound.clear();
    r.cost_basis.clear();
    rep.rows.push_back(r);
  }
  rep.notes.push_back("synthesized stand-ins for missing blobs");
  return rep;
}

} // namespace

TEST_CASE("summarize_definitions: one summary per (solution, definition), mean over PASSED rows",
          "[report]") {
  BenchReport rep = mixed_report();
  rep.rows.push_back(passed_row("other", "moe", 0, 1.0, 0.5));
  const std::vector<DefinitionSummary> s = summarize_definitions(rep);
  REQUIRE(s.size() == 3);

  CHECK(s[0].solution == "fast");
  CHECK(s[0].definition == "moe");
  CHECK(s[0].workloads == 4);
  CHECK(s[0].passed == 3);
  CHECK(s[0].failed() == 1);
  CHECK(s[0].scored == 2);
  REQUIRE(s[0].mean_speedup);
  CHECK(*s[0].mean_speedup == Approx(3.0)); // (2 + 4) / 2: the failed row's 100x is ignored
  CHECK(*s[0].min_speedup == Approx(2.0));
  CHECK(*s[0].max_speedup == Approx(4.0));
  CHECK_FALSE(s[0].mean_baseline_speedup);

  CHECK(s[1].definition == "gdn");
  CHECK(*s[1].mean_speedup == Approx(3.21));
  CHECK(s[2].solution == "other");
  CHECK(*s[2].mean_speedup == Approx(0.5));

  BenchReport all_failed = base_report();
  all_failed.rows.push_back(failed_row("x", "moe", 0, "RUNTIME_ERROR", "boom"));
  const auto f = summarize_definitions(all_failed);
  REQUIRE(f.size() == 1);
  CHECK(f[0].passed == 0);
  CHECK_FALSE(f[0].mean_speedup);
  CHECK(summarize_definitions(base_report()).empty());
}

TEST_CASE("speedup_over: the other latency over the solution's", "[report]") {
  REQUIRE(speedup_over(2.0, 0.5));
  CHECK(*speedup_over(2.0, 0.5) == Approx(4.0)); // a reference 4x slower is a 4x speedup
  CHECK(*speedup_over(0.5, 2.0) == Approx(0.25));
  CHECK_FALSE(speedup_over(std::nullopt, 1.0));
  CHECK_FALSE(speedup_over(0.0, 1.0));
  CHECK_FALSE(speedup_over(1.0, 0.0));
  CHECK_FALSE(speedup_over(std::numeric_limits<double>::infinity(), 1.0));
}

TEST_CASE("set_timings: a row's latency, statistics and both speedups", "[report]") {
  BenchRow row;
  fibkit::core::RowTimings t;
  t.latency_ms = 0.5;
  t.trial_ms = {0.4, 0.5, 0.6};
  t.samples_ms = {0.4, 0.5, 0.6};
  t.reference_ms = 2.0; // 4x slower than the solution
  t.baseline_ms = 1.0;  // 2x slower
  fibkit::core::set_timings(row, t);
  REQUIRE(row.latency_ms);
  CHECK(*row.latency_ms == 0.5);
  CHECK(row.trial_ms == t.trial_ms);
  REQUIRE(row.stats);
  CHECK(row.stats->median_ms == Approx(0.5));
  CHECK(row.stats->samples == 3);
  REQUIRE(row.speedup);
  CHECK(*row.speedup == Approx(4.0));
  REQUIRE(row.baseline_speedup);
  CHECK(*row.baseline_speedup == Approx(2.0));

  BenchRow bare;
  fibkit::core::RowTimings only;
  only.latency_ms = 1.0;
  fibkit::core::set_timings(bare, only);
  CHECK_FALSE(bare.speedup); // no reference timing: no speedup, not 0 or inf
  CHECK_FALSE(bare.baseline_speedup);
  CHECK_FALSE(bare.stats);
}

TEST_CASE("summarize_definitions: the contest score is the mean baseline speedup, 0 on a failure",
          "[report]") {
  BenchReport rep = base_report();
  for (std::size_t i = 0; i < 3; ++i) {
    BenchRow r = passed_row("s", "gdn", i, 0.01, 1.0);
    r.baseline_ms = 0.01 * static_cast<double>(i + 1); // 1x, 2x, 3x
    r.baseline_speedup = speedup_over(r.baseline_ms, *r.latency_ms);
    rep.rows.push_back(r);
  }
  std::vector<DefinitionSummary> s = summarize_definitions(rep);
  REQUIRE(s.size() == 1);
  REQUIRE(s[0].contest_score);
  CHECK(*s[0].contest_score == Approx(2.0));
  CHECK(report_to_json(rep).find("\"contest_score\": 2") != std::string::npos);

  rep.rows.push_back(failed_row("s", "gdn", 3, "INCORRECT_NUMERICAL", "off"));
  s = summarize_definitions(rep);
  REQUIRE(s[0].contest_score);
  CHECK(*s[0].contest_score == 0.0); // any failed workload zeroes the definition
  CHECK(*s[0].mean_baseline_speedup == Approx(2.0));

  CHECK_FALSE(summarize_definitions(mixed_report())[0].contest_score); // no baseline timings
}

TEST_CASE("track_scores: the sum of the definitions' contest scores over the track's count",
          "[report]") {
  BenchReport rep = base_report();
  for (std::size_t i = 0; i < 2; ++i) { // GDN decode: baseline 3x slower on both workloads
    BenchRow r = passed_row("s", "gdn_decode_qk4_v8_d128_k_last", i, 0.01, 1.0);
    r.baseline_ms = 0.03;
    r.baseline_speedup = speedup_over(r.baseline_ms, *r.latency_ms);
    rep.rows.push_back(r);
  }
  auto scores = fibkit::core::track_scores(rep);
  REQUIRE(scores.size() == 1);
  CHECK(scores[0].first == "s");
  CHECK(scores[0].second.track == "gated_delta_net");
  CHECK(scores[0].second.score == Approx(1.5)); // (3 + prefill not benched: 0) / 2
  CHECK(scores[0].second.scored == 1);
  CHECK(scores[0].second.expected == 2);
  CHECK_THAT(render_table(rep, false), Catch::Contains("track gated_delta_net contest score"));
  CHECK(report_to_json(rep).find("\"track_scores\"") != std::string::npos);

  CHECK(fibkit::core::track_scores(mixed_report()).empty()); // no baseline timings
}

TEST_CASE("report_to_json: the A/B verdict has its own field, apart from the cost basis",
          "[report]") {
  BenchReport rep = base_report();
  BenchRow r = passed_row("b", "gdn", 0, 0.01, 1.0);
  r.ab_verdict = "A=a B=b: B is faster";
  rep.rows.push_back(r);
  const std::string json = report_to_json(rep);
  CHECK(json.find("\"ab_verdict\": \"A=a B=b: B is faster\"") != std::string::npos);
  CHECK(json.find("\"cost_basis\": \"formula\"") != std::string::npos);
  CHECK_THAT(render_table(rep, false), Catch::Contains("A=a B=b: B is faster"));
}

TEST_CASE("report_to_json: one parsable document with summaries and nulls", "[report]") {
  BenchReport rep = mixed_report();
  rep.baseline_name = "v1";
  rep.rows[0].baseline_ms = 0.75;
  rep.rows[0].baseline_speedup = 1.5;
  rep.rows[1].stats->converged = false;
  rep.rows[1].trial_ms.push_back(std::numeric_limits<double>::quiet_NaN());
  rep.rows[1].flops = std::numeric_limits<double>::infinity();
  const std::string text = report_to_json(rep);

  fibkit::util::JsonParser parser;
  const fibkit::util::JsonValue doc = parse_json(parser, text, {"report.json", 0});
  CHECK(doc.at("schema_version").as_int() == 1);
  CHECK(doc.at("fibkit_version").as_string() == "0.4.0");
  CHECK(doc.at("gpu").as_string() == "NVIDIA H100 80GB HBM3");
  CHECK(doc.at("arch").as_string() == "sm_90a");
  CHECK(doc.at("mode").as_string() == "contest");
  CHECK(doc.at("timer").as_string() == "cupti");
  CHECK(doc.at("warmup").as_int() == 10);
  CHECK(doc.at("iterations").as_int() == 50);
  CHECK(doc.at("trials").as_int() == 3);
  CHECK(doc.at("reference").as_string() == "native");
  CHECK(doc.at("baseline").as_string() == "v1");
  CHECK(doc.at("device_peaks").as_string().rfind("H100 SXM", 0) == 0);
  REQUIRE(doc.at("notes").items().size() == 1);

  const auto summaries = doc.at("summaries").items();
  REQUIRE(summaries.size() == 2);
  CHECK(summaries[0].at("solution").as_string() == "fast");
  CHECK(summaries[0].at("definition").as_string() == "moe");
  CHECK(summaries[0].at("workloads").as_int() == 4);
  CHECK(summaries[0].at("passed").as_int() == 3);
  CHECK(summaries[0].at("failed").as_int() == 1);
  CHECK(summaries[0].at("scored").as_int() == 2);
  CHECK(summaries[0].at("mean_speedup").as_double() == Approx(3.0));
  CHECK(summaries[0].at("mean_baseline_speedup").as_double() == Approx(1.5));
  CHECK(summaries[1].at("mean_speedup").as_double() == Approx(3.21));

  const auto results = doc.at("results").items();
  REQUIRE(results.size() == rep.rows.size());
  const fibkit::util::JsonValue& r0 = results[0];
  CHECK(r0.at("solution").as_string() == "fast");
  CHECK(r0.at("workload").as_string() == rep.rows[0].workload_uuid);
  CHECK(r0.at("index").as_int() == 0);
  CHECK(r0.at("axes").as_string() == "T=1 B=1");
  CHECK(r0.at("status").as_string() == "PASSED");
  CHECK(r0.at("latency_ms").as_double() == 0.5);
  CHECK(r0.at("reference_latency_ms").as_double() == 1.0);
  CHECK(r0.at("speedup_factor").as_double() == 2.0);
  CHECK(r0.at("baseline_latency_ms").as_double() == 0.75);
  CHECK(r0.at("baseline_speedup_factor").as_double() == 1.5);
  CHECK(r0.at("trial_ms").items().size() == 3);
  CHECK(r0.at("stats").at("samples").as_int() == 4);
  CHECK(r0.at("stats").at("converged").as_bool());
  CHECK(r0.at("bound").as_string() == "memory");
  CHECK(r0.at("cost_basis").as_string() == "formula");
  CHECK(r0.at("bw_fraction").as_double() == Approx(rep.rows[0].bw_fraction.value()));

  const fibkit::util::JsonValue& r1 = results[1];
  CHECK_FALSE(r1.at("stats").at("converged").as_bool());
  CHECK(r1.at("trial_ms").items().back().is_null()); // NaN -> null
  CHECK(r1.at("flops").is_null());                   // inf -> null

  const fibkit::util::JsonValue& r2 = results[2];
  CHECK(r2.at("status").as_string() == "INCORRECT_NUMERICAL");
  CHECK(r2.at("latency_ms").is_null());
  CHECK(r2.at("stats").is_null());
  CHECK(r2.at("trial_ms").items().empty());
  CHECK(r2.at("bound").is_null());
  CHECK(r2.at("log").as_string().rfind("max abs error", 0) == 0);

  BenchReport empty = base_report();
  const fibkit::util::JsonValue e = parse_json(parser, report_to_json(empty), {"e.json", 0});
  CHECK(e.at("baseline").is_null());
  CHECK(e.at("results").items().empty());
  CHECK(e.at("summaries").items().empty());
}

TEST_CASE("render_table: rows, failure logs and the summary line", "[report]") {
  BenchReport rep = base_report();
  const double speedups[] = {2.0, 3.0, 4.63}; // mean 3.21
  for (std::size_t i = 0; i < 3; ++i) {
    rep.rows.push_back(passed_row("tuned", "moe", i, 0.1, 0.1 * speedups[i]));
  }
  BenchReport mixed = mixed_report();
  rep.rows.insert(rep.rows.end(), mixed.rows.begin(), mixed.rows.end());
  rep.rows.push_back(failed_row("bare", "gdn", 5, "RUNTIME_ERROR", ""));
  rep.notes = mixed.notes;

  const std::string plain = render_table(rep, false);
  INFO(plain);
  CHECK(plain.find('\x1b') == std::string::npos);
  CHECK(plain.find("NVIDIA H100 80GB HBM3") != std::string::npos);
  CHECK(plain.find("mean speedup 3.21x over 3 workloads\n") != std::string::npos);
  CHECK(plain.find("mean speedup 3.00x over 2 workloads (of 4; 1 failed, 1 without a reference "
                   "timing)") != std::string::npos);
  CHECK(plain.find("mean speedup 3.21x over 2 workloads\n") != std::string::npos);
  CHECK(plain.find("INCORRECT_NUMERICAL") != std::string::npos);
  CHECK(plain.find("max abs error 3.5 > atol 0.01") != std::string::npos);
  CHECK(plain.find("second line that is not shown") == std::string::npos);
  CHECK(plain.find("no mean speedup: 0 of 1 workload passed") != std::string::npos);
  CHECK(plain.find("0123abcd") != std::string::npos);
  CHECK(plain.find("2.00x") != std::string::npos);
  CHECK(plain.find("note: synthesized stand-ins for missing blobs") != std::string::npos);

  const std::string colored = render_table(rep, true);
  CHECK(colored.find("\x1b[") != std::string::npos);
  CHECK(colored.find("mean speedup 3.21x over 3 workloads") != std::string::npos);

  CHECK(render_table(base_report(), false).find("no results") != std::string::npos);
}

TEST_CASE("html_escape replaces the five special characters", "[report]") {
  CHECK(html_escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  CHECK(html_escape("plain text 1.0x") == "plain text 1.0x");
  CHECK(html_escape("") == "");
}

TEST_CASE("render_html: self-contained page, escaped strings, one svg per chart", "[report]") {
  const std::string hostile = "<script>alert(1)</script>";
  BenchReport rep = mixed_report();
  for (BenchRow& r : rep.rows) {
    if (r.definition == "moe") {
      r.solution = hostile;
    }
  }
  rep.rows[2].log = "error: <img src=x onerror=alert(2)> & more";
  rep.notes.push_back("note with <b>markup</b>");
  const std::string html = render_html(rep);

  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("</html>") != std::string::npos);
  CHECK(html.find("<meta charset=\"utf-8\">") != std::string::npos);
  CHECK(html.find(hostile) == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;img src=x onerror=alert(2)&gt; &amp; more") != std::string::npos);
  CHECK(html.find("<b>markup</b>") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);

  // Group "moe": latency, speedup and roofline charts; group "gdn" has no roofline data.
  CHECK(count_of(html, "<svg") == 5);
  CHECK(count_of(html, "</svg>") == 5);
  CHECK(html.find("No roofline data") != std::string::npos);

  // Nothing external: the only "http" is the SVG namespace.
  CHECK(count_of(html, "http") == count_of(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  CHECK(html.find("@font-face") == std::string::npos);

  // The header and summary carry the run's facts.
  for (const char* text : {"NVIDIA H100 80GB HBM3", "sm_90a", "contest", "cupti",
                           "2025-06-01T12:00:00Z", "INCORRECT_NUMERICAL", "3.00x", "3.21x",
                           "synthesized stand-ins for missing blobs", "<title>"}) {
    INFO(text);
    CHECK(html.find(text) != std::string::npos);
  }
}

TEST_CASE("render_html: latencies in the unit that suits them", "[report]") {
  BenchReport rep = base_report();
  rep.rows.push_back(passed_row("s", "d", 0, 0.00297, 0.0412)); // 2.97 µs, 41.2 µs
  rep.rows.push_back(passed_row("s", "d", 1, 0.000412, 1.25));  // 412 ns, 1.25 ms
  rep.rows.push_back(passed_row("s", "d", 2, 3100.0, 6200.0));  // 3.1 s
  const std::string html = render_html(rep);
  for (const char* text : {"<b>2.970 \u00b5s</b>", "41.20 \u00b5s", "<b>412.0 ns</b>", "1.250 ms",
                           "<b>3.100 s</b>", "6.200 s"}) {
    INFO(text);
    CHECK(html.find(text) != std::string::npos);
  }
  CHECK(html.find("0.002970") == std::string::npos);
  CHECK(html.find("latency ms") == std::string::npos);
}

TEST_CASE("reports render rows without optional data", "[report]") {
  BenchReport rep = base_report();
  rep.device_peaks.clear();
  BenchRow bare;
  bare.solution = "s";
  bare.definition = "d";
  bare.status = "PASSED";
  rep.rows.push_back(bare);
  BenchRow timed_out = bare;
  timed_out.status = "TIMEOUT";
  timed_out.index = 1;
  rep.rows.push_back(timed_out);
  BenchRow odd = bare;
  odd.index = 2;
  odd.latency_ms = std::numeric_limits<double>::quiet_NaN();
  odd.speedup = std::numeric_limits<double>::infinity();
  odd.reference_ms = 0.0;
  odd.bw_fraction = 1.7; // over the peak: the bar is clipped, the label says so
  rep.rows.push_back(odd);

  const std::string table = render_table(rep, false);
  CHECK(table.find("TIMEOUT") != std::string::npos);
  CHECK(table.find("no mean speedup") != std::string::npos);

  const std::string html = render_html(rep);
  CHECK(count_of(html, "<svg") == 2); // latency + roofline; no finite speedup
  CHECK(html.find("No workload has a reference timing") != std::string::npos);
  CHECK(html.find("170%") != std::string::npos);
  CHECK(html.find("nan\"") == std::string::npos); // no NaN coordinate in the SVG
  CHECK(html.find("inf\"") == std::string::npos);

  fibkit::util::JsonParser parser;
  const fibkit::util::JsonValue doc = parse_json(parser, report_to_json(rep), {"r.json", 0});
  const auto results = doc.at("results").items();
  REQUIRE(results.size() == 3);
  CHECK(results[0].at("latency_ms").is_null());
  CHECK(results[2].at("latency_ms").is_null());
  CHECK(results[2].at("speedup_factor").is_null());

  const std::string empty = render_html(base_report());
  CHECK(count_of(empty, "<svg") == 0);
  CHECK(empty.find("No results") != std::string::npos);
}

TEST_CASE("render_html: 130 workloads in one chart", "[report]") {
  BenchReport rep = base_report();
  for (std::size_t i = 0; i < 130; ++i) {
    rep.rows.push_back(passed_row("big", "indexer", i, 0.01 * static_cast<double>(i + 1), 0.5));
  }
  const std::string html = render_html(rep);
  CHECK(count_of(html, "<svg") == 3);
  CHECK(count_of(html, "<g class=\"row") == 3 * 130);
}

// ---- the sample page --------------------------------------------------------------------------

namespace {

/// A deterministic pseudo-random value in [0, 1) for (salt, i).
double jitter(std::size_t salt, std::size_t i) {
  std::uint64_t x = (salt + 1) * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 29;
  return static_cast<double>(x >> 11) / 9007199254740992.0;
}

BenchRow sample_row(const std::string& solution, const std::string& definition, std::size_t i,
                    const std::string& axes, double latency, double reference, double flops,
                    double bytes, std::optional<double> baseline) {
  BenchRow r;
  r.solution = solution;
  r.definition = definition;
  const std::size_t base = definition.size() * 101;
  const auto hex = [&](std::size_t salt) {
    return fmt::format("{:08x}", static_cast<std::uint32_t>(jitter(base + salt, i) * 4294967295.0));
  };
  r.workload_uuid = hex(1) + "-" + hex(2).substr(0, 4) + "-5" + hex(3).substr(0, 3) + "-8" +
                    hex(4).substr(0, 3) + "-" + hex(5) + hex(6).substr(0, 4);
  r.index = i;
  r.axes = axes;
  r.status = "PASSED";
  for (std::size_t t = 0; t < 3; ++t) {
    r.trial_ms.push_back(latency * (0.985 + 0.03 * jitter(7 + t, i)));
  }
  double sum = 0.0;
  for (double t : r.trial_ms) {
    sum += t;
  }
  r.latency_ms = sum / 3.0;
  r.stats = stats_around(*r.latency_ms, 150);
  r.stats->p90_ms *= 1.0 + 0.05 * jitter(12, i);
  r.stats->stdrel = 0.004 + 0.03 * jitter(13, i);
  r.stats->converged = jitter(11, i) > 0.06;
  r.reference_ms = reference;
  r.speedup = reference / *r.latency_ms;
  if (baseline) {
    r.baseline_ms = *baseline;
    r.baseline_speedup = *baseline / *r.latency_ms;
  }
  r.flops = flops;
  r.bytes = bytes;
  r.achieved_tflops = flops / (*r.latency_ms * 1e-3) / 1e12;
  r.achieved_gbps = bytes / (*r.latency_ms * 1e-3) / 1e9;
  r.bw_fraction = *r.achieved_gbps / 3350.0;
  const bool moe = definition.rfind("moe", 0) == 0;
  r.flop_fraction = *r.achieved_tflops / (moe ? 1979.0 : 989.0);
  r.practical_bw_fraction = *r.achieved_gbps / 2900.0;
  r.bound = *r.bw_fraction >= *r.flop_fraction ? "memory" : "compute";
  r.cost_basis = moe ? fmt::format("P={} selected experts, {} active (counted from the inputs)",
                                   8 * (i + 1), std::min<std::size_t>(32, 3 + 2 * i))
                     : "formula (axes only)";
  return r;
}

} // namespace

TEST_CASE("sample report for a look in a browser ($FIBKIT_SAMPLE_REPORT)", "[report][.sample]") {
  BenchReport rep = base_report();
  rep.timestamp = "2025-06-01T12:34:56Z";
  rep.baseline_name = "moe_v2 (bench-0529.json)";
  rep.notes = {"synthesized stand-ins for missing blobs (fibkit synth --dataset DIR writes them)",
               "3 workloads did not converge within the iteration cap; their spread is shown"};

  // 19 MoE workloads: seq_len 1 .. 11948, compute-heavy, against a baseline run.
  const std::size_t seq_lens[] = {1,   7,   14,   32,   52,   64,   80,   128,  200,  256,
                                  512, 901, 1024, 2048, 3001, 4096, 6000, 8192, 11948};
  for (std::size_t i = 0; i < 19; ++i) {
    const double t = static_cast<double>(seq_lens[i]);
    const double flops = t * 8 * 3 * 2 * 7168.0 * 2048.0;
    const double bytes = std::min(32.0, 8 * t) * 3 * 7168.0 * 2048.0 + t * 7168.0 * 4;
    const double latency = 0.045 + bytes / 2.4e12 * 1e3 + flops / 560e12 * 1e3;
    const double reference = latency * (2.2 + 5.0 * jitter(40, i));
    BenchRow r = sample_row("moe_fused_v3",
                            "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_"
                            "h7168_i2048",
                            i, "seq_len=" + std::to_string(seq_lens[i]), latency, reference, flops,
                            bytes, latency * (0.9 + 0.5 * jitter(41, i)));
    if (i == 12) {
      r.status = "INCORRECT_NUMERICAL";
      r.speedup.reset();
      r.baseline_speedup.reset();
      r.log = "output: 1843 of 917504 elements (0.20%) exceed atol 1 + rtol 0.3 * |ref|; "
              "required matched ratio 0.9\nmax abs error 14.25 at [412, 5120], max rel 2.31";
    }
    rep.rows.push_back(r);
  }
  // 54 GDN decode workloads: batch_size 1 .. 512, memory-bound; two failures.
  for (std::size_t i = 0; i < 54; ++i) {
    const double b = std::round(std::pow(512.0, static_cast<double>(i) / 53.0));
    const double bytes = b * (8 * 128 * 128 * 4 * 2 + 3 * 8 * 128 * 2);
    const double flops = b * 8 * 128 * 128 * 6;
    const double latency = 0.0042 + bytes / 2.7e12 * 1e3;
    const double reference = latency * (0.85 + 3.5 * jitter(50, i));
    BenchRow r = sample_row("gdn_decode_tiled", "gdn_decode_qk4_v8_d128_k_last", i,
                            fmt::format("batch_size={}", static_cast<long>(b)), latency, reference,
                            flops, bytes, std::nullopt);
    if (i == 17 || i == 40) {
      const bool crash = i == 17;
      BenchRow failed;
      failed.solution = r.solution;
      failed.definition = r.definition;
      failed.workload_uuid = r.workload_uuid;
      failed.index = r.index;
      failed.axes = r.axes;
      r = failed;
      r.status = crash ? "RUNTIME_ERROR" : "TIMEOUT";
      r.log = crash ? "CUDA_ERROR_ILLEGAL_ADDRESS in gdn_decode_kernel<8, 128>\n  at launch 3 "
                      "of trial 1"
                    : "timed out after 300 s";
    }
    if (i == 5) {
      r.flops.reset(); // a row without roofline data
      r.bytes.reset();
      r.achieved_gbps.reset();
      r.achieved_tflops.reset();
      r.bw_fraction.reset();
      r.flop_fraction.reset();
      r.bound.clear();
    }
    rep.rows.push_back(r);
  }

  const std::string html = render_html(rep);
  CHECK(count_of(html, "<svg") == 6);
  const char* path = std::getenv("FIBKIT_SAMPLE_REPORT");
  if (path && *path) {
    std::ofstream(path, std::ios::binary) << html;
    std::ofstream(std::string(path) + ".txt", std::ios::binary) << render_table(rep, false);
    std::ofstream(std::string(path) + ".json", std::ios::binary) << report_to_json(rep);
    WARN("sample report written to " << path);
  }
}
