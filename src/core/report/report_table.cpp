// The bench report as a terminal table (render_table).
#include "fibkit/core/report/bench_report.hpp"

#include "report_common.hpp"

#include "fibkit/core/eval/stats.hpp"
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

} // namespace

using namespace report;

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

} // namespace fibkit::core
