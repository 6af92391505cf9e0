#include "fibkit/core/report/bench_report.hpp"

#include "report_common.hpp"

#include "fibkit/core/eval/stats.hpp"
#include "fibkit/core/trace/tracks.hpp"
#include "fibkit/util/terminal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace fibkit::core {

namespace report {

bool is_finite(const std::optional<double>& v) {
  return v && std::isfinite(*v);
}
bool is_positive(const std::optional<double>& v) {
  return is_finite(v) && *v > 0.0;
}

std::vector<Group> group_rows(const BenchReport& report) {
  std::vector<Group> groups;
  for (const BenchRow& row : report.rows) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return g.solution == row.solution && g.definition == row.definition;
    });
    if (it == groups.end()) {
      groups.push_back({row.solution, row.definition, {}});
      it = std::prev(groups.end());
    }
    it->rows.push_back(&row);
  }
  return groups;
}

DefinitionSummary summarize_group(const Group& g) {
  DefinitionSummary s;
  s.solution = g.solution;
  s.definition = g.definition;
  s.workloads = g.rows.size();
  double sum = 0.0;
  double baseline_sum = 0.0;
  std::size_t baseline_count = 0;
  for (const BenchRow* row : g.rows) {
    if (!row->passed()) {
      continue;
    }
    ++s.passed;
    if (is_finite(row->speedup)) {
      const double v = *row->speedup;
      sum += v;
      ++s.scored;
      s.min_speedup = s.min_speedup ? std::min(*s.min_speedup, v) : v;
      s.max_speedup = s.max_speedup ? std::max(*s.max_speedup, v) : v;
    }
    if (is_finite(row->baseline_speedup)) {
      baseline_sum += *row->baseline_speedup;
      ++baseline_count;
    }
  }
  if (s.scored > 0) {
    s.mean_speedup = sum / static_cast<double>(s.scored);
  }
  if (baseline_count > 0) {
    s.mean_baseline_speedup = baseline_sum / static_cast<double>(baseline_count);
    s.contest_score = s.failed() > 0 ? 0.0 : *s.mean_baseline_speedup;
  }
  return s;
}

// ---- number and text formatting ---------------------------------------------------------------

std::string non_finite_text(double v) {
  return std::isnan(v) ? "NaN" : v > 0 ? "inf" : "-inf";
}

/// `v` in fixed notation with about `sig` significant digits ("0.0123", "12.3", "1234").
std::string sig(double v, int digits) {
  if (!std::isfinite(v)) {
    return non_finite_text(v);
  }
  if (v == 0.0) {
    return "0";
  }
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(v))));
  const int decimals = std::clamp(digits - 1 - magnitude, 0, 9);
  return fmt::format("{:.{}f}", v, decimals);
}

/// A duration given in milliseconds, in the unit that suits its magnitude (as nvbench prints
/// them): "2.97 µs", "412 ns", "1.250 ms", "3.10 s".
std::string time_text(double ms, int digits) {
  if (!std::isfinite(ms)) {
    return non_finite_text(ms);
  }
  const double a = std::fabs(ms);
  if (a == 0.0) {
    return "0";
  }
  if (a < 1e-3) {
    return sig(ms * 1e6, digits) + " ns";
  }
  if (a < 1.0) {
    return sig(ms * 1e3, digits) + " \u00b5s";
  }
  if (a < 1e3) {
    return sig(ms, digits) + " ms";
  }
  return sig(ms / 1e3, digits) + " s";
}

/// sig() without trailing zeros after the point ("0.5", "10"): axis labels.
std::string tick_text(double v) {
  std::string s = sig(v, 3);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') {
      s.pop_back();
    }
    if (s.back() == '.') {
      s.pop_back();
    }
  }
  return s;
}

std::string speedup_text(double v) {
  if (!std::isfinite(v)) {
    return non_finite_text(v);
  }
  return fmt::format(std::fabs(v) >= 100.0 ? "{:.0f}x" : "{:.2f}x", v);
}

std::string percent_text(double fraction) {
  if (!std::isfinite(fraction)) {
    return non_finite_text(fraction);
  }
  if (fraction > 0.0 && fraction < 0.0005) {
    return "<0.1%";
  }
  return fmt::format(fraction < 0.095 ? "{:.1f}%" : "{:.0f}%", fraction * 100.0);
}

/// `v` with an SI prefix: "1.23 G", "512 k".
std::string si_text(double v) {
  if (!std::isfinite(v)) {
    return non_finite_text(v);
  }
  static const char* const prefixes[] = {"", " k", " M", " G", " T", " P", " E"};
  std::size_t p = 0;
  while (std::fabs(v) >= 999.5 && p + 1 < std::size(prefixes)) {
    v /= 1000.0;
    ++p;
  }
  return sig(v, 3) + prefixes[p];
}

/// The first `count` code points of UTF-8 `text`.
std::string_view utf8_prefix(std::string_view text, std::size_t count) {
  std::size_t i = 0;
  for (std::size_t n = 0; i < text.size() && n < count; ++n) {
    ++i;
    while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) {
      ++i;
    }
  }
  return text.substr(0, i);
}

/// `text` cut to `width` code points, the last one replaced by `mark` when cut.
std::string clip(std::string_view text, std::size_t width, std::string_view mark) {
  if (util::display_width(text) <= width) {
    return std::string(text);
  }
  return std::string(utf8_prefix(text, width > 0 ? width - 1 : 0)) + std::string(mark);
}

std::string first_line(std::string_view text) {
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) {
    return "";
  }
  text.remove_prefix(start);
  std::string_view line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
    line.remove_suffix(1);
  }
  return std::string(line);
}

/// The roofline fraction of the row's bound (the larger one when the bound is unknown) and a
/// short name of it: {0.72, "bw"}.
std::optional<std::pair<double, const char*>> roofline_of(const BenchRow& row) {
  const bool bw = is_finite(row.bw_fraction);
  const bool flop = is_finite(row.flop_fraction);
  if (row.bound == "memory" && bw) {
    return std::pair{*row.bw_fraction, "bw"};
  }
  if (row.bound == "compute" && flop) {
    return std::pair{*row.flop_fraction, "flop"};
  }
  if (bw && (!flop || *row.bw_fraction >= *row.flop_fraction)) {
    return std::pair{*row.bw_fraction, "bw"};
  }
  if (flop) {
    return std::pair{*row.flop_fraction, "flop"};
  }
  return std::nullopt;
}

/// "1 workload", "19 workloads".
std::string workloads_text(std::size_t n) {
  return fmt::format("{} workload{}", n, n == 1 ? "" : "s");
}

std::string summary_sentence(const DefinitionSummary& s) {
  if (!s.mean_speedup) {
    return fmt::format("no mean speedup: {} of {} passed, none with a reference timing", s.passed,
                       workloads_text(s.workloads));
  }
  std::string out = fmt::format("mean speedup {} over {}", speedup_text(*s.mean_speedup),
                                workloads_text(s.scored));
  if (s.scored < s.workloads) {
    out += fmt::format(" (of {}; {} failed", s.workloads, s.failed());
    if (s.passed > s.scored) {
      out += fmt::format(", {} without a reference timing", s.passed - s.scored);
    }
    out += ")";
  }
  return out;
}

} // namespace report

using namespace report;

std::optional<double> speedup_over(std::optional<double> other_ms, double latency_ms) {
  if (!other_ms || !std::isfinite(*other_ms) || !std::isfinite(latency_ms) || *other_ms <= 0 ||
      latency_ms <= 0) {
    return std::nullopt;
  }
  return *other_ms / latency_ms;
}

void set_timings(BenchRow& row, const RowTimings& t) {
  row.latency_ms = t.latency_ms;
  row.trial_ms = t.trial_ms;
  if (!t.samples_ms.empty()) {
    const Summary sum = summarize(t.samples_ms);
    row.stats =
        LatencyStats{sum.median, sum.mean, sum.p10, sum.p90, sum.stdrel, sum.n, t.converged};
  }
  if (t.reference_ms && *t.reference_ms > 0) {
    row.reference_ms = t.reference_ms;
    row.speedup = speedup_over(t.reference_ms, t.latency_ms);
  }
  if (t.baseline_ms) {
    row.baseline_ms = t.baseline_ms;
    row.baseline_speedup = speedup_over(t.baseline_ms, t.latency_ms);
  }
}

std::vector<DefinitionSummary> summarize_definitions(const BenchReport& report) {
  std::vector<DefinitionSummary> out;
  for (const Group& g : group_rows(report)) {
    out.push_back(summarize_group(g));
  }
  return out;
}

std::vector<std::pair<std::string, TrackScore>> track_scores(const BenchReport& report) {
  std::vector<std::pair<std::string, TrackScore>> out;
  for (const DefinitionSummary& s : summarize_definitions(report)) {
    const Track* track = track_of_definition(s.definition);
    if (track == nullptr || !s.contest_score) {
      continue;
    }
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& e) {
      return e.first == s.solution && e.second.track == track->name;
    });
    if (it == out.end()) {
      out.push_back(
          {s.solution, TrackScore{std::string(track->name), 0.0, 0, track->definitions.size()}});
      it = out.end() - 1;
    }
    it->second.score += *s.contest_score / static_cast<double>(it->second.expected);
    ++it->second.scored;
  }
  return out;
}

} // namespace fibkit::core
