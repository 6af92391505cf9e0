// fibkit list: the definitions of a TraceSet, their axes, workload counts and blob presence.
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/trace/blobs.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_writer.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <set>

namespace fibkit::commands {

namespace {

struct ListOptions {
  std::optional<std::string> dataset;
  bool json = false;
};

ExitCode run_list(const ListOptions& opt, const Context& ctx) {
  const core::Dataset ds = core::load_dataset(opt.dataset);
  for (const auto& [def_name, traces] : ds.set.workloads) {
    if (!ds.set.find_definition(def_name)) {
      spdlog::warn("{} workloads name the unknown definition \"{}\"", traces.size(), def_name);
    }
  }
  std::size_t invalid = 0;
  if (opt.json) {
    util::JsonWriter out(2);
    out.begin_object().key("schema_version").value(1);
    out.key("dataset").value(ds.label).key("embedded").value(ds.embedded);
    out.key("definitions").begin_array();
    for (const core::Definition& d : ds.set.definitions) {
      const auto& workloads = ds.set.workloads_of(d.name);
      const core::BlobReport blobs = core::check_blobs(ds.set, d, ds.embedded);
      out.begin_object().key("name").value(d.name).key("op_type").value(d.op_type);
      out.key("axes").begin_array();
      for (const core::Axis& a : d.axes) {
        out.begin_object().key("name").value(a.name).key("type").value(a.is_const ? "const"
                                                                                  : "var");
        if (a.is_const) {
          out.key("value").value(a.value);
        }
        out.end_object();
      }
      out.end_array();
      out.key("workloads").value(static_cast<std::uint64_t>(workloads.size()));
      out.key("blobs").begin_object();
      out.key("referenced").value(static_cast<std::uint64_t>(blobs.referenced));
      out.key("present").value(static_cast<std::uint64_t>(blobs.referenced - blobs.missing.size()));
      out.key("missing").begin_array();
      for (const std::string& m : blobs.missing) {
        out.value(m);
      }
      out.end_array().key("invalid").begin_array();
      for (const std::string& m : blobs.invalid) {
        out.value(m);
      }
      out.end_array().end_object().end_object();
      invalid += blobs.invalid.size();
    }
    out.end_array().end_object();
    util::write_stdout(out.str() + "\n");
    return invalid ? ExitCode::failed : ExitCode::ok;
  }

  const bool color = ctx.color_stdout;
  fmt::print("{}\n", util::styled(fmt::format("TraceSet: {} ({} definitions)", ds.label,
                                              ds.set.definitions.size()),
                                  util::Style::bold, color));
  for (const core::Definition& d : ds.set.definitions) {
    const auto& workloads = ds.set.workloads_of(d.name);
    const core::BlobReport blobs = core::check_blobs(ds.set, d, ds.embedded);
    std::string var_axes;
    std::string const_axes;
    for (const core::Axis& a : d.axes) {
      std::string& target = a.is_const ? const_axes : var_axes;
      target += target.empty() ? "" : " ";
      target += a.is_const ? fmt::format("{}={}", a.name, a.value) : a.name;
    }
    fmt::print("\n{}  [{}]  {} workloads\n", util::styled(d.name, util::Style::cyan, color),
               d.op_type, workloads.size());
    fmt::print("  var axes:   {}\n", var_axes.empty() ? "-" : var_axes);
    fmt::print("  const axes: {}\n", const_axes.empty() ? "-" : const_axes);
    if (blobs.referenced == 0) {
      fmt::print("  blobs:      none referenced\n");
    } else {
      const std::size_t present = blobs.referenced - blobs.missing.size();
      const std::string text = fmt::format("{} referenced, {} present, {} missing",
                                           blobs.referenced, present, blobs.missing.size());
      fmt::print("  blobs:      {}\n",
                 util::styled(text,
                              blobs.missing.empty() ? util::Style::green : util::Style::yellow,
                              color));
    }
    for (const std::string& m : blobs.invalid) {
      fmt::print("  {} {}\n", util::styled("invalid:", util::Style::red, color), m);
    }
    invalid += blobs.invalid.size();
  }
  if (invalid) {
    spdlog::error("{} invalid blob tensor(s): the official loader would refuse these workloads",
                  invalid);
    return ExitCode::failed;
  }
  return ExitCode::ok;
}

} // namespace

Command register_list(CLI::App& app) {
  auto opt = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand(
      "list",
      "List the definitions of a TraceSet: op_type, axes, workloads, blobs present/missing");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet directory (default: $FIB_DATASET_PATH, else the embedded examples)");
  sub->add_flag("--json", opt->json, "Print one JSON document on stdout");
  return {sub, [opt](const Context& ctx) { return run_list(*opt, ctx); }};
}

} // namespace fibkit::commands
