// The bench report as one JSON document (report_to_json).
#include "fibkit/core/report/bench_report.hpp"

#include "fibkit/util/json_writer.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace fibkit::core {

namespace {

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

} // namespace

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

} // namespace fibkit::core
