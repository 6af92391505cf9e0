#include "fibkit/core/bench_report.hpp"

#include "fibkit/core/stats.hpp"
#include "fibkit/core/tracks.hpp"

#include "fibkit/util/json_writer.hpp"
#include "fibkit/util/terminal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace fibkit::core {

namespace {

bool is_finite(const std::optional<double>& v) {
  return v && std::isfinite(*v);
}
bool is_positive(const std::optional<double>& v) {
  return is_finite(v) && *v > 0.0;
}

/// The rows of one (solution, definition), in report order.
struct Group {
  std::string solution;
  std::string definition;
  std::vector<const BenchRow*> rows;
};

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
std::string sig(double v, int digits = 3) {
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
std::string time_text(double ms, int digits = 4) {
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

// ---- JSON -------------------------------------------------------------------------------------

void write_number(util::JsonWriter& json, const std::optional<double>& v) {
  if (v) {
    json.value_inf_nan_null(*v);
  } else {
    json.null();
  }
}

void write_text_or_null(util::JsonWriter& json, const std::string& text) {
  if (text.empty()) {
    json.null();
  } else {
    json.value(text);
  }
}

void write_row(util::JsonWriter& json, const BenchRow& row) {
  json.begin_object();
  json.key("solution").value(row.solution);
  json.key("definition").value(row.definition);
  json.key("workload").value(row.workload_uuid);
  json.key("index").value(static_cast<std::uint64_t>(row.index));
  json.key("axes").value(row.axes);
  json.key("status").value(row.status);
  json.key("latency_ms");
  write_number(json, row.latency_ms);
  json.key("trial_ms").begin_array();
  for (double t : row.trial_ms) {
    json.value_inf_nan_null(t);
  }
  json.end_array();
  json.key("stats");
  if (row.stats) {
    const LatencyStats& s = *row.stats;
    json.begin_object();
    json.key("median_ms").value_inf_nan_null(s.median_ms);
    json.key("mean_ms").value_inf_nan_null(s.mean_ms);
    json.key("p10_ms").value_inf_nan_null(s.p10_ms);
    json.key("p90_ms").value_inf_nan_null(s.p90_ms);
    json.key("stdrel").value_inf_nan_null(s.stdrel);
    json.key("samples").value(static_cast<std::uint64_t>(s.samples));
    json.key("converged").value(s.converged);
    json.end_object();
  } else {
    json.null();
  }
  json.key("reference_latency_ms");
  write_number(json, row.reference_ms);
  json.key("speedup_factor");
  write_number(json, row.speedup);
  json.key("baseline_latency_ms");
  write_number(json, row.baseline_ms);
  json.key("baseline_speedup_factor");
  write_number(json, row.baseline_speedup);
  json.key("flops");
  write_number(json, row.flops);
  json.key("bytes");
  write_number(json, row.bytes);
  json.key("achieved_tflops");
  write_number(json, row.achieved_tflops);
  json.key("achieved_gbps");
  write_number(json, row.achieved_gbps);
  json.key("bw_fraction");
  write_number(json, row.bw_fraction);
  json.key("flop_fraction");
  write_number(json, row.flop_fraction);
  json.key("practical_bw_fraction");
  write_number(json, row.practical_bw_fraction);
  json.key("bound");
  write_text_or_null(json, row.bound);
  json.key("cost_basis");
  write_text_or_null(json, row.cost_basis);
  json.key("ab_verdict");
  write_text_or_null(json, row.ab_verdict);
  json.key("log").value(row.log);
  json.end_object();
}

// ---- terminal table ---------------------------------------------------------------------------

enum class Align { left, right };

/// `text` padded (or clipped) to `width` columns, then styled: padding first keeps the ANSI
/// codes out of the width.
std::string cell(std::string_view text, std::size_t width, Align align,
                 util::Style style = util::Style::none, bool color = false) {
  std::string t = clip(text, width, "~");
  const std::string fill(width - util::display_width(t), ' ');
  t = align == Align::left ? t + fill : fill + t;
  return util::styled(t, style, color);
}

// ---- HTML / SVG -------------------------------------------------------------------------------

template <typename... Args>
void put(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

/// A horizontal value axis mapped onto pixels [x0, x1].
struct Axis {
  bool log = false;
  bool percent = false; ///< label fractions as percentages
  double lo = 0.0;
  double hi = 1.0;
  double x0 = 0.0;
  double x1 = 1.0;
  struct Tick {
    double value;
    bool labelled;
  };
  std::vector<Tick> ticks;

  double x(double v) const {
    v = std::clamp(v, lo, hi);
    const double t = log ? std::log(v / lo) / std::log(hi / lo) : (v - lo) / (hi - lo);
    return x0 + t * (x1 - x0);
  }
};

double pow10(int e) {
  return std::pow(10.0, e);
}
int decade_of(double v) {
  return static_cast<int>(std::floor(std::log10(v) + 1e-9));
}

/// The 1-2-5 value after `v` (which is one of them).
double next_125(double v) {
  const double p = pow10(decade_of(v));
  const double m = v / p;
  return m < 1.5 ? 2 * p : m < 3.5 ? 5 * p : 10 * p;
}

double floor_125(double v) {
  const double p = pow10(decade_of(v));
  for (double m : {5.0, 2.0, 1.0}) {
    if (m * p <= v * (1 + 1e-9)) {
      return m * p;
    }
  }
  return p;
}

double ceil_125(double v) {
  const double p = pow10(decade_of(v));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= v * (1 - 1e-9)) {
      return m * p;
    }
  }
  return 10 * p;
}

/// A linear axis from 0 with 1-2-5 steps, or a log axis of whole decades when the values span
/// more than a factor 20.
Axis latency_axis(const std::vector<double>& values, double x0, double x1) {
  Axis a;
  a.x0 = x0;
  a.x1 = x1;
  if (values.empty()) {
    a.ticks = {{0.0, true}, {1.0, true}};
    return a;
  }
  const auto [mn_it, mx_it] = std::minmax_element(values.begin(), values.end());
  const double mn = *mn_it;
  const double mx = *mx_it;
  if (mx / mn > 20.0) {
    a.log = true;
    int d0 = decade_of(mn);
    if (mn / pow10(d0) < 1.2) {
      --d0; // the fastest bar keeps a visible length
    }
    int d1 = static_cast<int>(std::ceil(std::log10(mx) - 1e-9));
    d1 = std::max(d1, d0 + 1);
    a.lo = pow10(d0);
    a.hi = pow10(d1);
    const bool label_minor = d1 - d0 <= 2;
    for (int d = d0; d <= d1; ++d) {
      a.ticks.push_back({pow10(d), true});
      if (d < d1 && d1 - d0 <= 4) {
        a.ticks.push_back({2 * pow10(d), label_minor});
        a.ticks.push_back({5 * pow10(d), label_minor});
      }
    }
    return a;
  }
  const double step = ceil_125(std::max(mx, 1e-12) * 1.04 / 5.0);
  a.lo = 0.0;
  a.hi = std::ceil(mx * 1.04 / step) * step;
  for (int k = 0; k * step <= a.hi * (1 + 1e-9); ++k) {
    a.ticks.push_back({k * step, true});
  }
  return a;
}

/// A log axis of 1-2-5 values that contains 1.0 and every value (speedups).
Axis ratio_axis(const std::vector<double>& values, double x0, double x1) {
  Axis a;
  a.log = true;
  a.x0 = x0;
  a.x1 = x1;
  double mn = 1.0;
  double mx = 1.0;
  for (double v : values) {
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  a.lo = floor_125(mn / 1.15);
  a.hi = ceil_125(mx * 1.15);
  std::vector<double> all;
  for (double v = a.lo; v <= a.hi * (1 + 1e-9); v = next_125(v)) {
    all.push_back(v);
  }
  for (double v : all) {
    const double m = v / pow10(decade_of(v));
    a.ticks.push_back({v, all.size() <= 12 || m < 1.5});
  }
  return a;
}

/// The linear 0..100 % axis of the roofline chart.
Axis fraction_axis(double x0, double x1) {
  Axis a;
  a.percent = true;
  a.x0 = x0;
  a.x1 = x1;
  for (int k = 0; k <= 4; ++k) {
    a.ticks.push_back({0.25 * k, true});
  }
  return a;
}

// Geometry shared by the charts (pixels).
constexpr double k_chart_width = 1000.0;
constexpr double k_plot_x0 = 212.0;
constexpr double k_plot_x1 = 884.0;
constexpr double k_axis_band = 24.0;

/// The rows of a chart, with their vertical positions.
struct ChartLayout {
  std::vector<double> y; ///< top of each row
  double bottom = 0.0;   ///< where the gridlines end
  bool bottom_labels = false;
  double height = 0.0;
};

/// Rows of equal `pitch` below the top axis band; tall charts repeat the tick labels below.
ChartLayout layout_rows(std::size_t count, double pitch) {
  ChartLayout l;
  double y = k_axis_band + 4.0;
  for (std::size_t i = 0; i < count; ++i) {
    l.y.push_back(y);
    y += pitch;
  }
  l.bottom = y + 4.0;
  l.bottom_labels = count >= 8;
  l.height = l.bottom + (l.bottom_labels ? k_axis_band : 4.0);
  return l;
}

void svg_open(std::string& out, double height, std::string_view label) {
  put(out,
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"{0:.0f}\" "
      "height=\"{1:.0f}\" viewBox=\"0 0 {0:.0f} {1:.0f}\" role=\"img\" aria-label=\"{2}\">\n",
      k_chart_width, height, html_escape(label));
}

/// Gridlines through the rows and tick labels above (and below) them; `title` names the axis.
void svg_axis(std::string& out, const Axis& axis, const ChartLayout& l, std::string_view title,
              std::string_view suffix) {
  const double top = k_axis_band;
  const double bottom = l.bottom;
  put(out, "<g class=\"axis\">\n");
  for (const Axis::Tick& t : axis.ticks) {
    const double x = axis.x(t.value);
    put(out, "<line class=\"{}\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>\n",
        t.labelled ? "grid" : "grid minor", x, top, x, bottom);
    if (t.labelled) {
      const std::string text = axis.percent ? tick_text(t.value * 100.0) + "%"
                                            : tick_text(t.value) + std::string(suffix);
      put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x, top - 8.0, html_escape(text));
      if (l.bottom_labels) {
        put(out, "<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", x, bottom + 14.0,
            html_escape(text));
      }
    }
  }
  put(out, "<text class=\"axis-title\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", 42.0, top - 8.0,
      html_escape(title));
  put(out, "</g>\n");
}

std::string row_tooltip(const BenchRow& row) {
  std::string t = fmt::format("#{} {}\n{}\n{}", row.index, row.workload_uuid,
                              row.axes.empty() ? "(no axes)" : row.axes, row.status);
  if (row.latency_ms) {
    t += "\nlatency " + time_text(*row.latency_ms);
  }
  if (row.stats) {
    t += fmt::format(" (p10 {} / p90 {}, stdrel {}, {} samples{})", time_text(row.stats->p10_ms),
                     time_text(row.stats->p90_ms), percent_text(row.stats->stdrel),
                     row.stats->samples, row.stats->converged ? "" : ", not converged");
  }
  if (row.reference_ms) {
    t += "\nreference " + time_text(*row.reference_ms);
  }
  if (row.speedup) {
    t += "\nspeedup " + speedup_text(*row.speedup);
  }
  if (row.baseline_ms) {
    t += "\nbaseline " + time_text(*row.baseline_ms);
  }
  if (row.baseline_speedup) {
    t += "\nvs baseline " + speedup_text(*row.baseline_speedup);
  }
  if (row.achieved_gbps) {
    t += "\n" + sig(*row.achieved_gbps, 4) + " GB/s";
    if (row.bw_fraction) {
      t += " (" + percent_text(*row.bw_fraction) + " of peak";
      if (row.practical_bw_fraction) {
        t += ", " + percent_text(*row.practical_bw_fraction) + " of the practical ceiling";
      }
      t += ")";
    }
  }
  if (row.achieved_tflops) {
    t += "\n" + sig(*row.achieved_tflops, 4) + " TFLOP/s";
    if (row.flop_fraction) {
      t += " (" + percent_text(*row.flop_fraction) + " of peak)";
    }
  }
  if (!row.bound.empty()) {
    t += "\n" + row.bound + "-bound";
  }
  if (!row.passed() && !row.log.empty()) {
    t += "\n" + clip(first_line(row.log), 200, "\u2026");
  }
  return t;
}

/// Opens a row's group: tooltip, background band and the label column.
void svg_row_open(std::string& out, const BenchRow& row, std::size_t i, double y, double h) {
  std::string cls = "row";
  if (!row.passed()) {
    cls += " fail";
  } else if (i % 2 == 1) {
    cls += " z";
  }
  put(out, "<g class=\"{}\"><title>{}</title>\n", cls, html_escape(row_tooltip(row)));
  put(out, "<rect class=\"bg\" x=\"0\" y=\"{:.1f}\" width=\"{:.0f}\" height=\"{:.1f}\"/>\n", y,
      k_chart_width, h);
  const double cy = y + h / 2.0;
  put(out, "<text class=\"idx\" x=\"34\" y=\"{:.1f}\">#{}</text>\n", cy, row.index);
  put(out, "<text class=\"lbl\" x=\"42\" y=\"{:.1f}\">{}</text>\n", cy,
      html_escape(
          clip(row.axes.empty() ? row.workload_uuid.substr(0, 8) : row.axes, 26, "\u2026")));
}

void svg_bar(std::string& out, std::string_view cls, double x0, double x1, double y, double h) {
  const double left = std::min(x0, x1);
  const double width = std::max(std::fabs(x1 - x0), 1.5);
  put(out, "<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>\n",
      cls, left, y, width, h);
}

void svg_note(std::string& out, std::string_view cls, double x, double cy, std::string_view text) {
  put(out, "<text class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", cls, x, cy,
      html_escape(text));
}

void svg_value(std::string& out, double cy, std::string_view text, std::string_view cls = "val") {
  put(out, "<text class=\"{}\" x=\"{:.0f}\" y=\"{:.1f}\">{}</text>\n", cls, k_chart_width - 10.0,
      cy, html_escape(text));
}

std::string latency_chart(const Group& g) {
  bool has_ref = false;
  bool has_base = false;
  std::vector<double> values;
  for (const BenchRow* r : g.rows) {
    for (const auto* v : {&r->latency_ms, &r->reference_ms, &r->baseline_ms}) {
      if (is_positive(*v)) {
        values.push_back(**v);
      }
    }
    has_ref = has_ref || is_positive(r->reference_ms);
    has_base = has_base || is_positive(r->baseline_ms);
  }
  const bool dense = g.rows.size() > 40;
  const double bar = dense ? 8.0 : 11.0;
  const double thin = dense ? 4.0 : 5.0;
  const double gap = dense ? 1.0 : 2.0;
  const double pad = dense ? 4.0 : 6.0;
  const double pitch = 2 * pad + bar + (has_ref ? gap + thin : 0.0) + (has_base ? gap + thin : 0.0);
  const ChartLayout l = layout_rows(g.rows.size(), pitch);
  const Axis axis = latency_axis(values, k_plot_x0, k_plot_x1);

  std::string out;
  svg_open(out, l.height, "latency per workload of " + g.solution + " on " + g.definition);
  svg_axis(out, axis, l, axis.log ? "ms (log scale)" : "ms", "");
  for (std::size_t i = 0; i < g.rows.size(); ++i) {
    const BenchRow& r = *g.rows[i];
    const double y = l.y[i];
    svg_row_open(out, r, i, y, pitch);
    double by = y + pad;
    double bar_end = k_plot_x0;
    if (is_positive(r.latency_ms)) {
      bar_end = axis.x(*r.latency_ms);
      svg_bar(out, r.passed() ? "b-sol" : "b-fail", k_plot_x0, bar_end, by, bar);
      svg_value(out, by + bar / 2.0, sig(*r.latency_ms, 3));
    }
    by += bar + gap;
    if (has_ref) {
      if (is_positive(r.reference_ms)) {
        const double x = axis.x(*r.reference_ms);
        bar_end = std::max(bar_end, x);
        svg_bar(out, "b-ref", k_plot_x0, x, by, thin);
      }
      by += thin + gap;
    }
    if (has_base && is_positive(r.baseline_ms)) {
      const double x = axis.x(*r.baseline_ms);
      bar_end = std::max(bar_end, x);
      svg_bar(out, "b-base", k_plot_x0, x, by, thin);
    }
    if (!r.passed()) {
      const double x = std::min(bar_end + 6.0, k_plot_x1 - 150.0);
      svg_note(out, "st", x, y + pitch / 2.0, r.status);
    }
    put(out, "</g>\n");
  }
  put(out, "</svg>\n");
  return out;
}

std::string speedup_chart(const Group& g) {
  bool has_base = false;
  std::vector<double> values;
  for (const BenchRow* r : g.rows) {
    for (const auto* v : {&r->speedup, &r->baseline_speedup}) {
      if (is_positive(*v)) {
        values.push_back(**v);
      }
    }
    has_base = has_base || is_positive(r->baseline_speedup);
  }
  const bool dense = g.rows.size() > 40;
  const double bar = dense ? 8.0 : 11.0;
  const double thin = dense ? 4.0 : 5.0;
  const double gap = dense ? 1.0 : 2.0;
  const double pad = dense ? 3.0 : 5.0;
  const double pitch = 2 * pad + bar + (has_base ? gap + thin : 0.0);
  const ChartLayout l = layout_rows(g.rows.size(), pitch);
  const Axis axis = ratio_axis(values, k_plot_x0, k_plot_x1);
  const double one = axis.x(1.0);

  std::string out;
  svg_open(out, l.height, "speedup per workload of " + g.solution + " on " + g.definition);
  svg_axis(out, axis, l, "speedup (log scale)", "x");
  for (std::size_t i = 0; i < g.rows.size(); ++i) {
    const BenchRow& r = *g.rows[i];
    const double y = l.y[i];
    const double cy = y + pitch / 2.0;
    svg_row_open(out, r, i, y, pitch);
    if (is_positive(r.speedup)) {
      const double v = *r.speedup;
      svg_bar(out,
              !r.passed() ? "b-fail"
              : v >= 1.0  ? "b-up"
                          : "b-down",
              one, axis.x(v), y + pad, bar);
      svg_value(out, y + pad + bar / 2.0, speedup_text(v), v >= 1.0 ? "val up" : "val down");
    }
    if (has_base && is_positive(r.baseline_speedup)) {
      svg_bar(out, "b-base", one, axis.x(*r.baseline_speedup), y + pad + bar + gap, thin);
    }
    if (!r.passed()) {
      svg_note(out, "st", one + 6.0, cy, r.status);
    } else if (!is_positive(r.speedup)) {
      svg_note(out, "muted", one + 6.0, cy, "no reference timing");
    }
    put(out, "</g>\n");
  }
  put(out,
      "<line class=\"one\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>\n"
      "</svg>\n",
      one, k_axis_band - 2.0, l.bottom);
  return out;
}

std::string roofline_chart(const Group& g) {
  const bool dense = g.rows.size() > 40;
  const double bar = dense ? 5.0 : 7.0;
  const double gap = dense ? 1.0 : 2.0;
  const double pad = dense ? 3.0 : 5.0;
  const double pitch = 2 * pad + 2 * bar + gap;
  const ChartLayout l = layout_rows(g.rows.size(), pitch);
  const Axis axis = fraction_axis(k_plot_x0, k_plot_x1);

  std::string out;
  svg_open(out, l.height,
           "roofline fractions per workload of " + g.solution + " on " + g.definition);
  svg_axis(out, axis, l, "fraction of peak", "");
  for (std::size_t i = 0; i < g.rows.size(); ++i) {
    const BenchRow& r = *g.rows[i];
    const double y = l.y[i];
    const double cy = y + pitch / 2.0;
    svg_row_open(out, r, i, y, pitch);
    const bool bw = is_finite(r.bw_fraction);
    const bool flop = is_finite(r.flop_fraction);
    if (!r.passed()) {
      svg_note(out, "st", k_plot_x0 + 6.0, cy, r.status);
    } else if (!bw && !flop) {
      svg_note(out, "muted", k_plot_x0 + 6.0, cy, "no roofline data");
    } else {
      const std::pair<const std::optional<double>*, const char*> bars[] = {
          {&r.bw_fraction, "b-bw"}, {&r.flop_fraction, "b-flop"}};
      double by = y + pad;
      for (const auto& [v, cls] : bars) {
        if (is_finite(*v)) {
          const double x = axis.x(std::max(**v, 0.0));
          svg_bar(out, cls, k_plot_x0, x, by, bar);
          svg_note(out, "pct", std::min(x, k_plot_x1) + 4.0, by + bar / 2.0, percent_text(**v));
        }
        by += bar + gap;
      }
      if (!r.bound.empty()) {
        svg_value(out, cy, r.bound + "-bound", "val muted");
      }
    }
    put(out, "</g>\n");
  }
  put(out, "</svg>\n");
  return out;
}

const char* const k_css = R"css(
:root{--fg:#1f2937;--muted:#6b7280;--line:#e5e7eb;--card:#fff;--page:#f3f4f6;--sol:#2563eb;
--ref:#9ca3af;--base:#8b5cf6;--up:#16a34a;--down:#ea580c;--fail:#dc2626;--bw:#0891b2;
--flop:#d97706}
*{box-sizing:border-box}
body{margin:0;background:var(--page);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 16px 48px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:0 0 6px}
h3{font-size:14px;margin:22px 0 6px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 20px;
margin:16px 0}
.mono,code,td.n,.meta dd{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.muted{color:var(--muted)}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(240px,1fr));gap:6px 24px;
margin:14px 0 0}
.meta div{display:flex;gap:8px;min-width:0}
.meta dt{color:var(--muted);min-width:78px}
.meta dd{margin:0;font-size:13px;overflow-wrap:anywhere}
.notes{margin:12px 0 0;padding:8px 12px 8px 28px;background:#fffbeb;border:1px solid #fde68a;
border-radius:6px}
table{border-collapse:collapse;width:100%;font-size:13px}
table.detail{font-size:12px}
table.detail td,table.detail th{padding:3px 6px}
th{text-align:left;font-weight:600;color:var(--muted);border-bottom:1px solid var(--line);
padding:4px 8px;white-space:nowrap}
td{padding:3px 8px;border-bottom:1px solid #f3f4f6;white-space:nowrap}
td.n,th.n{text-align:right}
tr.fail td{background:#fef2f2}
td.log{white-space:pre-wrap;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
color:#991b1b;max-width:0}
.scroll{overflow-x:auto}
td.def{white-space:normal;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:12px;font-weight:600}
.badge.ok{background:#dcfce7;color:#166534}
.badge.bad{background:#fee2e2;color:#991b1b}
.up{color:var(--up)}
.down{color:var(--down)}
.big{font-weight:700}
.pills{display:flex;flex-wrap:wrap;gap:6px 14px;color:var(--muted);font-size:13px}
.pills b{color:var(--fg)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:var(--muted);margin:0 0 4px}
.sw{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:5px;
vertical-align:-1px}
a{color:var(--sol);text-decoration:none}
a:hover{text-decoration:underline}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
fill:var(--fg);dominant-baseline:central}
svg.chart .axis text{fill:var(--muted);text-anchor:middle;font-size:10px}
svg.chart .axis .axis-title{text-anchor:start;font-weight:600}
svg.chart .grid{stroke:#e5e7eb;stroke-width:1}
svg.chart .grid.minor{stroke:#f3f4f6}
svg.chart .one{stroke:#374151;stroke-width:1.5}
svg.chart .bg{fill:transparent}
svg.chart .z .bg{fill:#f9fafb}
svg.chart .fail .bg{fill:#fef2f2}
svg.chart .row:hover .bg{fill:#e0e7ff}
svg.chart .idx{fill:var(--muted);text-anchor:end;font-size:10px}
svg.chart .fail .idx,svg.chart .fail .lbl{fill:var(--fail)}
svg.chart .val{text-anchor:end;font-variant-numeric:tabular-nums}
svg.chart .val.up{fill:var(--up)}
svg.chart .val.down{fill:var(--down)}
svg.chart .muted,svg.chart .val.muted{fill:var(--muted)}
svg.chart .st{fill:var(--fail);font-weight:600;font-size:10px}
svg.chart .pct{fill:var(--muted);font-size:9px}
.b-sol{fill:var(--sol)}.b-ref{fill:var(--ref)}.b-base{fill:var(--base)}.b-fail{fill:var(--fail)}
.b-up{fill:var(--up)}.b-down{fill:var(--down)}.b-bw{fill:var(--bw)}.b-flop{fill:var(--flop)}
.sw.b-sol{background:var(--sol)}.sw.b-ref{background:var(--ref)}.sw.b-base{background:var(--base)}
.sw.b-fail{background:var(--fail)}.sw.b-up{background:var(--up)}.sw.b-down{background:var(--down)}
.sw.b-bw{background:var(--bw)}.sw.b-flop{background:var(--flop)}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
)css";

using LegendItems = std::vector<std::pair<const char*, std::string>>;

void legend(std::string& out, const LegendItems& items) {
  put(out, "<div class=\"legend\">");
  for (const auto& [cls, text] : items) {
    put(out, "<span><span class=\"sw {}\"></span>{}</span>", cls, html_escape(text));
  }
  put(out, "</div>\n");
}

std::string opt_cell(const std::optional<double>& v, int digits = 4) {
  return v ? sig(*v, digits) : "";
}

std::string speedup_span(const std::optional<double>& v, bool big = false) {
  if (!v) {
    return "<span class=\"muted\">&ndash;</span>";
  }
  return fmt::format("<span class=\"{}{}\">{}</span>", *v >= 1.0 ? "up" : "down", big ? " big" : "",
                     speedup_text(*v));
}

std::string status_badge(const BenchRow& row) {
  return fmt::format("<span class=\"badge {}\">{}</span>", row.passed() ? "ok" : "bad",
                     html_escape(row.status));
}

/// One table cell: `text` is HTML already; numbers are right-aligned.
void td(std::string& out, const std::string& text, std::string_view cls = "n") {
  if (cls.empty()) {
    put(out, "<td>{}</td>", text);
  } else {
    put(out, "<td class=\"{}\">{}</td>", cls, text);
  }
}

void detail_table(std::string& out, const Group& g, bool baseline) {
  // The columns most readers want come first; the rest is a horizontal scroll away.
  put(out, "<div class=\"scroll\"><table class=\"detail\">\n<thead><tr>"
           "<th class=\"n\">#</th><th>workload</th><th>axes</th><th>status</th>"
           "<th class=\"n\">latency</th><th class=\"n\">reference</th>"
           "<th class=\"n\">speedup</th>");
  if (baseline) {
    put(out, "<th class=\"n\">baseline</th><th class=\"n\">vs baseline</th>");
  }
  put(out, "<th class=\"n\">p10</th><th class=\"n\">median</th><th class=\"n\">p90</th>"
           "<th class=\"n\">mean</th><th class=\"n\">stdrel</th><th class=\"n\">samples</th>"
           "<th class=\"n\">GB/s</th><th class=\"n\">TFLOP/s</th>"
           "<th class=\"n\" title=\"of the peak bandwidth (of the practical ceiling)\">bw %</th>"
           "<th class=\"n\" title=\"of the peak FLOP rate\">FLOP %</th><th>bound</th>"
           "<th class=\"n\">bytes</th><th class=\"n\">FLOPs</th><th>trials</th>"
           "<th>cost basis</th></tr></thead>\n<tbody>\n");
  const int columns = baseline ? 24 : 22;
  for (const BenchRow* rp : g.rows) {
    const BenchRow& r = *rp;
    put(out, "<tr{}>", r.passed() ? "" : " class=\"fail\"");
    td(out, std::to_string(r.index));
    put(out, "<td class=\"mono\" title=\"{}\">{}</td>", html_escape(r.workload_uuid),
        html_escape(r.workload_uuid.substr(0, 8)));
    td(out, html_escape(r.axes), "");
    td(out, status_badge(r), "");
    td(out, r.latency_ms ? "<b>" + time_text(*r.latency_ms) + "</b>" : "");
    td(out, r.reference_ms ? time_text(*r.reference_ms) : "");
    td(out, r.speedup ? speedup_span(r.speedup) : "");
    if (baseline) {
      td(out, r.baseline_ms ? time_text(*r.baseline_ms) : "");
      td(out, r.baseline_speedup ? speedup_span(r.baseline_speedup) : "");
    }
    if (r.stats) {
      const LatencyStats& s = *r.stats;
      td(out, time_text(s.p10_ms));
      td(out, time_text(s.median_ms));
      td(out, time_text(s.p90_ms));
      td(out, time_text(s.mean_ms));
      td(out, s.converged ? percent_text(s.stdrel)
                          : "<span class=\"down\" title=\"did not converge\">&#9888; " +
                                percent_text(s.stdrel) + "</span>");
      td(out, std::to_string(s.samples));
    } else {
      put(out, "<td></td><td></td><td></td><td></td><td></td><td></td>");
    }
    td(out, opt_cell(r.achieved_gbps));
    td(out, opt_cell(r.achieved_tflops));
    td(out, (r.bw_fraction ? percent_text(*r.bw_fraction) : "") +
                (r.practical_bw_fraction ? " <span class=\"muted\">(" +
                                               percent_text(*r.practical_bw_fraction) + ")</span>"
                                         : ""));
    td(out, r.flop_fraction ? percent_text(*r.flop_fraction) : "");
    td(out, html_escape(r.bound), "");
    td(out, r.bytes ? si_text(*r.bytes) + "B" : "");
    td(out, r.flops ? si_text(*r.flops) : "");
    std::string trials;
    for (double t : r.trial_ms) {
      trials += (trials.empty() ? "" : ", ") + time_text(t);
    }
    td(out, trials, "mono");
    td(out, html_escape(r.ab_verdict.empty() ? r.cost_basis : r.cost_basis + "; " + r.ab_verdict),
       "muted");
    put(out, "</tr>\n");
    if (!r.passed() && !r.log.empty()) {
      put(out, "<tr class=\"fail\"><td></td><td class=\"log\" colspan=\"{}\">{}</td></tr>\n",
          columns - 1, html_escape(clip(r.log, 4000, "\u2026")));
    }
  }
  put(out, "</tbody></table></div>\n");
}

} // namespace

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

std::string report_to_json(const BenchReport& report) {
  util::JsonWriter json(2);
  json.begin_object();
  json.key("schema_version").value(1);
  json.key("fibkit_version").value(report.fibkit_version);
  json.key("timestamp").value(report.timestamp);
  json.key("gpu").value(report.gpu);
  json.key("arch").value(report.arch);
  json.key("mode").value(report.mode);
  json.key("timer").value(report.timer);
  json.key("warmup").value(report.warmup);
  json.key("iterations").value(report.iterations);
  json.key("trials").value(report.trials);
  json.key("reference").value(report.reference_kind);
  json.key("baseline");
  if (report.baseline_name) {
    json.value(*report.baseline_name);
  } else {
    json.null();
  }
  json.key("device_peaks");
  write_text_or_null(json, report.device_peaks);
  json.key("notes").begin_array();
  for (const std::string& note : report.notes) {
    json.value(note);
  }
  json.end_array();
  json.key("summaries").begin_array();
  for (const DefinitionSummary& s : summarize_definitions(report)) {
    json.begin_object();
    json.key("solution").value(s.solution);
    json.key("definition").value(s.definition);
    json.key("workloads").value(static_cast<std::uint64_t>(s.workloads));
    json.key("passed").value(static_cast<std::uint64_t>(s.passed));
    json.key("failed").value(static_cast<std::uint64_t>(s.failed()));
    json.key("scored").value(static_cast<std::uint64_t>(s.scored));
    json.key("mean_speedup");
    write_number(json, s.mean_speedup);
    json.key("min_speedup");
    write_number(json, s.min_speedup);
    json.key("max_speedup");
    write_number(json, s.max_speedup);
    json.key("mean_baseline_speedup");
    write_number(json, s.mean_baseline_speedup);
    json.key("contest_score");
    write_number(json, s.contest_score);
    json.end_object();
  }
  json.end_array();
  json.key("track_scores").begin_array();
  for (const auto& [solution, t] : track_scores(report)) {
    json.begin_object().key("solution").value(solution).key("track").value(t.track);
    json.key("score").value(t.score);
    json.key("definitions_scored").value(static_cast<std::uint64_t>(t.scored));
    json.key("definitions").value(static_cast<std::uint64_t>(t.expected)).end_object();
  }
  json.end_array();
  json.key("results").begin_array();
  for (const BenchRow& row : report.rows) {
    write_row(json, row);
  }
  json.end_array();
  json.end_object();
  return json.take() + "\n";
}

std::string render_table(const BenchReport& report, bool color) {
  using util::Style;
  std::string out;
  put(out, "{}  {}  {}  {} mode  timer {}  warmup {}, {} iterations x {} trials\n",
      util::styled("fibkit bench", Style::bold, color), report.gpu, report.arch, report.mode,
      report.timer, report.warmup, report.iterations, report.trials);
  const bool baseline = report.baseline_name.has_value();
  for (const Group& g : group_rows(report)) {
    const DefinitionSummary s = summarize_group(g);
    put(out, "\n{}  {}  {}, reference {}{}\n", util::styled(g.solution, Style::bold, color),
        g.definition, workloads_text(g.rows.size()), report.reference_kind,
        baseline ? ", baseline " + *report.baseline_name : "");
    std::string head = "  " + cell("#", 4, Align::right) + "  " + cell("uuid", 8, Align::left) +
                       "  " + cell("axes", 28, Align::left) + "  " +
                       cell("status", 19, Align::left) + "  " + cell("latency", 9, Align::right) +
                       "  " + cell("p10-p90", 15, Align::left) + "  " +
                       cell("ref", 8, Align::right) + "  " + cell("speedup", 7, Align::right);
    if (baseline) {
      head += "  " + cell("vs base", 7, Align::right);
    }
    head += "  roofline";
    out += util::styled(head, Style::dim, color) + "\n";
    bool unconverged = false;
    for (const BenchRow* rp : g.rows) {
      const BenchRow& r = *rp;
      const bool ok = r.passed();
      std::string latency = r.latency_ms ? sig(*r.latency_ms, 3) : "-";
      if (r.stats && !r.stats->converged) {
        latency += "*";
        unconverged = true;
      }
      const std::string spread =
          r.stats ? sig(r.stats->p10_ms, 3) + "-" + sig(r.stats->p90_ms, 3) : "-";
      std::string line =
          "  " + cell(std::to_string(r.index), 4, Align::right) + "  " +
          cell(r.workload_uuid.substr(0, 8), 8, Align::left) + "  " +
          cell(r.axes, 28, Align::left) + "  " +
          cell(r.status, 19, Align::left, ok ? Style::green : Style::red, color) + "  " +
          cell(latency, 9, Align::right) + "  " + cell(spread, 15, Align::left) + "  " +
          cell(r.reference_ms ? sig(*r.reference_ms, 3) : "-", 8, Align::right) + "  ";
      if (is_finite(r.speedup)) {
        line += cell(speedup_text(*r.speedup), 7, Align::right,
                     *r.speedup >= 1.0 ? Style::green : Style::yellow, color && ok);
      } else {
        line += cell("-", 7, Align::right);
      }
      if (baseline) {
        line += "  " + cell(is_finite(r.baseline_speedup) ? speedup_text(*r.baseline_speedup) : "-",
                            7, Align::right);
      }
      const auto roof = roofline_of(r);
      line += "  " + (roof ? percent_text(roof->first) + " " + roof->second : std::string("-"));
      while (!line.empty() && line.back() == ' ') {
        line.pop_back();
      }
      out += line + "\n";
      const std::string why = first_line(r.log);
      if (!why.empty() && (!ok || r.log.rfind("baseline not timed", 0) == 0)) {
        out += "        " + util::styled(clip(why, 110, "~"), Style::dim, color) + "\n";
      }
      if (!r.ab_verdict.empty()) {
        out += "        " + util::styled(clip(r.ab_verdict, 110, "~"), Style::dim, color) + "\n";
      }
    }
    if (unconverged) {
      out += util::styled("  * the spread did not settle within the iteration cap", Style::dim,
                          color) +
             "\n";
    }
    std::string summary = summary_sentence(s);
    if (s.mean_baseline_speedup) {
      summary += fmt::format(", {} vs baseline", speedup_text(*s.mean_baseline_speedup));
    }
    if (s.contest_score) {
      summary += fmt::format("; contest score {}", speedup_text(*s.contest_score));
    }
    out += "  " + util::styled(summary, Style::bold, color) + "\n";
  }
  if (report.rows.empty()) {
    out += "\nno results\n";
  }
  for (const auto& [solution, t] : track_scores(report)) {
    out += util::styled(fmt::format("{}: track {} contest score {} ({} of {} definitions scored; "
                                    "sum / {})",
                                    solution, t.track, speedup_text(t.score), t.scored, t.expected,
                                    t.expected),
                        Style::bold, color) +
           "\n";
  }
  for (const std::string& note : report.notes) {
    out += util::styled("note: " + note, Style::yellow, color) + "\n";
  }
  return out;
}

std::string render_html(const BenchReport& report) {
  const std::vector<Group> groups = group_rows(report);
  std::vector<DefinitionSummary> summaries;
  std::size_t passed = 0;
  std::vector<std::string> solutions;
  std::vector<std::string> definitions;
  for (const Group& g : groups) {
    summaries.push_back(summarize_group(g));
    passed += summaries.back().passed;
    if (std::find(solutions.begin(), solutions.end(), g.solution) == solutions.end()) {
      solutions.push_back(g.solution);
    }
    if (std::find(definitions.begin(), definitions.end(), g.definition) == definitions.end()) {
      definitions.push_back(g.definition);
    }
  }
  const bool baseline = report.baseline_name.has_value();
  const std::string e_gpu = html_escape(report.gpu.empty() ? "unknown GPU" : report.gpu);

  std::string out;
  out.reserve(64 * 1024 + report.rows.size() * 4096);
  put(out,
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>fibkit bench &middot; {} &middot; {}</title>\n<style>{}</style>\n</head>\n"
      "<body>\n<main>\n",
      e_gpu, html_escape(report.timestamp), k_css);

  // Run header.
  put(out,
      "<header class=\"card\">\n<h1>fibkit bench report</h1>\n"
      "<div class=\"pills\"><span><b>{}</b> solution{}</span><span><b>{}</b> "
      "definition{}</span><span><b>{}</b> workload runs</span><span class=\"up\"><b>{}</b> "
      "passed</span><span class=\"{}\"><b>{}</b> failed</span></div>\n<dl class=\"meta\">\n",
      solutions.size(), solutions.size() == 1 ? "" : "s", definitions.size(),
      definitions.size() == 1 ? "" : "s", report.rows.size(), passed,
      report.rows.size() > passed ? "down" : "muted", report.rows.size() - passed);
  const auto meta = [&](std::string_view key, const std::string& value) {
    put(out, "<div><dt>{}</dt><dd>{}</dd></div>\n", key, html_escape(value));
  };
  meta("GPU", report.gpu);
  meta("arch", report.arch);
  meta("mode", report.mode);
  meta("timer", report.timer);
  meta("timing", fmt::format("{} warmup, {} iterations x {} trials", report.warmup,
                             report.iterations, report.trials));
  meta("reference", report.reference_kind);
  if (baseline) {
    meta("baseline", *report.baseline_name);
  }
  if (!report.device_peaks.empty()) {
    meta("peaks", report.device_peaks);
  }
  meta("time", report.timestamp);
  meta("fibkit", report.fibkit_version);
  put(out, "</dl>\n");
  if (!report.notes.empty()) {
    put(out, "<ul class=\"notes\">\n");
    for (const std::string& note : report.notes) {
      put(out, "<li>{}</li>\n", html_escape(note));
    }
    put(out, "</ul>\n");
  }
  put(out, "</header>\n");

  // Summary table.
  put(out, "<section class=\"card\">\n<h2>Summary</h2>\n<p class=\"muted\">Score: arithmetic "
           "mean of the per-workload speedups (reference / solution) over PASSED "
           "workloads.</p>\n");
  if (groups.empty()) {
    put(out, "<p>No results.</p>\n");
  } else {
    put(out,
        "<div class=\"scroll\"><table class=\"summary\">\n<thead><tr><th>solution</th>"
        "<th>definition</th><th class=\"n\">workloads</th><th class=\"n\">passed</th>"
        "<th class=\"n\">failed</th><th class=\"n\">mean speedup</th>"
        "<th class=\"n\">min</th><th class=\"n\">max</th>{}</tr></thead>\n<tbody>\n",
        baseline ? "<th class=\"n\">vs baseline</th>" : "");
    for (std::size_t i = 0; i < summaries.size(); ++i) {
      const DefinitionSummary& s = summaries[i];
      put(out,
          "<tr><td><a href=\"#g{}\"><b>{}</b></a></td><td class=\"def\">{}</td><td "
          "class=\"n\">{}</td>"
          "<td class=\"n\">{}</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td>"
          "<td class=\"n\">{}</td><td class=\"n\">{}</td>",
          i, html_escape(s.solution), html_escape(s.definition), s.workloads, s.passed,
          s.failed() ? " down" : "", s.failed(), speedup_span(s.mean_speedup, true),
          speedup_span(s.min_speedup), speedup_span(s.max_speedup));
      if (baseline) {
        put(out, "<td class=\"n\">{}</td>", speedup_span(s.mean_baseline_speedup));
      }
      put(out, "</tr>\n");
    }
    put(out, "</tbody></table></div>\n");
  }
  put(out, "</section>\n");

  // One card per (solution, definition).
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    const Group& g = groups[gi];
    const DefinitionSummary& s = summaries[gi];
    bool any_speedup = false;
    bool any_roofline = false;
    bool any_ref = false;
    bool any_base = false;
    for (const BenchRow* r : g.rows) {
      any_speedup = any_speedup || is_positive(r->speedup);
      any_roofline = any_roofline || is_finite(r->bw_fraction) || is_finite(r->flop_fraction);
      any_ref = any_ref || is_positive(r->reference_ms);
      any_base = any_base || is_positive(r->baseline_ms);
    }
    put(out,
        "<section class=\"card\" id=\"g{}\">\n<h2>{} <span class=\"muted\">on</span> "
        "{}</h2>\n<div class=\"pills\"><span><b>{}</b> workload{}</span>"
        "<span><b>{}</b> passed</span><span class=\"{}\"><b>{}</b> failed</span>"
        "<span>mean speedup {}</span>",
        gi, html_escape(g.solution), html_escape(g.definition), s.workloads,
        s.workloads == 1 ? "" : "s", s.passed, s.failed() ? "down" : "muted", s.failed(),
        speedup_span(s.mean_speedup, true));
    if (s.scored >= 2) {
      put(out, "<span>range {} &ndash; {}</span>", speedup_span(s.min_speedup),
          speedup_span(s.max_speedup));
    }
    if (s.mean_baseline_speedup) {
      put(out, "<span>vs baseline {}</span>", speedup_span(s.mean_baseline_speedup, true));
    }
    put(out, "</div>\n");

    put(out, "<h3>Latency per workload</h3>\n");
    LegendItems items{{"b-sol", g.solution}};
    if (any_ref) {
      items.emplace_back("b-ref", "reference (" + report.reference_kind + ")");
    }
    if (any_base) {
      items.emplace_back("b-base", "baseline " + report.baseline_name.value_or("?"));
    }
    if (s.failed() > 0) {
      items.emplace_back("b-fail", "failed");
    }
    legend(out, items);
    out += latency_chart(g);

    put(out, "<h3>Speedup over the reference</h3>\n");
    if (any_speedup) {
      items = {{"b-up", "faster than the reference"}, {"b-down", "slower"}};
      if (any_base) {
        items.emplace_back("b-base", "speedup over baseline " + report.baseline_name.value_or("?"));
      }
      legend(out, items);
      out += speedup_chart(g);
    } else {
      put(out, "<p class=\"muted\">No workload has a reference timing.</p>\n");
    }

    put(out, "<h3>Roofline: fraction of peak</h3>\n");
    if (any_roofline) {
      legend(out, {{"b-bw", "DRAM bandwidth"}, {"b-flop", "FLOP rate"}});
      out += roofline_chart(g);
    } else {
      put(out, "<p class=\"muted\">No roofline data (no FLOP/byte counts for this "
               "definition).</p>\n");
    }

    put(out, "<h3>Every number</h3>\n");
    detail_table(out, g, any_base);
    put(out, "</section>\n");
  }
  put(out, "<footer>fibkit {} &middot; {}</footer>\n</main>\n</body>\n</html>\n",
      html_escape(report.fibkit_version), html_escape(report.timestamp));
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (char c : text) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

} // namespace fibkit::core
