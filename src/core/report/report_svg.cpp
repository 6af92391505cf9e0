// The bench report's SVG charts (latency, speedup, roofline per definition), for report_html.
#include "report_common.hpp"

#include "fibkit/util/terminal.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

namespace fibkit::core::report {

namespace {

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

} // namespace

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

} // namespace fibkit::core::report
