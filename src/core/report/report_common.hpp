// Private to the bench report's files (bench_report.cpp: the model and summaries;
// report_table.cpp: the terminal table; report_html.cpp and report_svg.cpp: the HTML page and
// its charts): the grouping of rows and the number and text formatting they share.
#pragma once

#include "fibkit/core/report/bench_report.hpp"

#include <fmt/format.h>

#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fibkit::core::report {

bool is_finite(const std::optional<double>& v);
bool is_positive(const std::optional<double>& v);

/// The rows of one (solution, definition), in report order.
struct Group {
  std::string solution;
  std::string definition;
  std::vector<const BenchRow*> rows;
};

/// Rows grouped by (solution, definition), in the order of their first row.
std::vector<Group> group_rows(const BenchReport& report);
DefinitionSummary summarize_group(const Group& g);

std::string non_finite_text(double v);
/// `v` in fixed notation with about `digits` significant digits ("0.0123", "12.3", "1234").
std::string sig(double v, int digits = 3);
/// A latency given in ms, in the unit that suits its magnitude (ns, us, ms, s).
std::string time_text(double ms, int digits = 4);
std::string tick_text(double v);
std::string speedup_text(double v);
std::string percent_text(double fraction);
std::string si_text(double v);
std::string_view utf8_prefix(std::string_view text, std::size_t count);
/// `text` cut to `width` display columns, ending in `mark` when cut.
std::string clip(std::string_view text, std::size_t width, std::string_view mark);
std::string first_line(std::string_view text);
/// The larger roofline fraction of a row and its kind ("bw" or "flop").
std::optional<std::pair<double, const char*>> roofline_of(const BenchRow& row);
/// "1 workload", "19 workloads".
std::string workloads_text(std::size_t n);
std::string summary_sentence(const DefinitionSummary& s);

/// One definition's charts as inline SVG (report_svg.cpp): latency bars against the reference
/// (and baseline), speedup bars around 1x, roofline fractions.
std::string latency_chart(const Group& g);
std::string speedup_chart(const Group& g);
std::string roofline_chart(const Group& g);

template <typename... Args>
void put(std::string& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

} // namespace fibkit::core::report
