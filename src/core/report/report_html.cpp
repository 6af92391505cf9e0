// The bench report as one self-contained HTML page with inline SVG charts (render_html); its
// stylesheet is report_html.css, embedded in the binary.
#include "fibkit/core/report/bench_report.hpp"

#include "report_common.hpp"

#include "fibkit/core/eval/stats.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/core/trace/tracks.hpp"
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

using namespace report;

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

using namespace report;

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
      "<title>fibkit bench &middot; {} &middot; {}</title>\n<style>\n{}</style>\n</head>\n"
      "<body>\n<main>\n",
      e_gpu, html_escape(report.timestamp), embedded_file("src/core/report/report_html.css"));

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

} // namespace fibkit::core
