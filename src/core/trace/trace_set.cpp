#include "fibkit/core/trace/trace_set.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace fs = std::filesystem;

namespace fibkit::core {

const Definition* TraceSet::find_definition(std::string_view name) const {
  for (const Definition& d : definitions) {
    if (d.name == name) {
      return &d;
    }
  }
  return nullptr;
}

const std::vector<Trace>& TraceSet::workloads_of(std::string_view definition) const {
  static const std::vector<Trace> empty;
  auto it = workloads.find(std::string(definition));
  return it == workloads.end() ? empty : it->second;
}

fs::path TraceSet::blob_path(const std::string& path) const {
  const fs::path p(path);
  return p.is_absolute() ? p : (root / p).lexically_normal();
}

namespace {

// Files with `extension` under `dir`, sorted like Python's sorted(rglob()).
std::vector<fs::path> sorted_files(const fs::path& dir, const std::string& extension) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return files;
  }
  // An error (an unreadable folder) ends the iteration: it is checked after the loop too, so
  // that nothing is skipped silently.
  fs::path current = dir;
  fs::recursive_directory_iterator it(dir, fs::directory_options::follow_directory_symlink, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    current = it->path();
    if (it->path().extension() != extension) {
      continue;
    }
    std::error_code status_ec;
    if (it->is_regular_file(status_ec)) {
      files.push_back(it->path());
    } else if (fs::is_symlink(it->symlink_status(status_ec)) &&
               !fs::exists(it->path(), status_ec)) {
      throw Error(fmt::format("{}: cannot read: a broken symbolic link (to {})",
                              it->path().string(),
                              fs::read_symlink(it->path(), status_ec).string()));
    }
  }
  if (ec) {
    throw Error(fmt::format("{}: cannot list directory: {}",
                            (current == dir ? dir : current).string(), ec.message()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

std::vector<Trace> parse_trace_lines(std::string_view text, const std::string& display_name,
                                     bool workload_only, std::vector<std::size_t>* line_numbers) {
  std::vector<Trace> traces;
  util::JsonParser parser;
  std::size_t line_no = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    ++line_no;
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // The official loader parses `line.strip()` and skips empty results; ASCII part of
    // Python's whitespace (JSON itself only allows space, tab, CR and LF).
    constexpr std::string_view space = " \t\r\f\v\x1c\x1d\x1e\x1f";
    const std::size_t first = line.find_first_not_of(space);
    if (first == std::string_view::npos) {
      continue;
    }
    line = line.substr(first, line.find_last_not_of(space) - first + 1);
    util::JsonValue json = util::parse_json(parser, line, {display_name, line_no});
    Trace trace = parse_trace(json);
    if (workload_only && !trace.is_workload_trace()) {
      json.fail("a workload file may only hold workload traces (solution and evaluation null)");
    }
    if (!workload_only && trace.is_workload_trace()) {
      json.fail("a traces file may not hold workload-only traces");
    }
    traces.push_back(std::move(trace));
    if (line_numbers) {
      line_numbers->push_back(line_no);
    }
  }
  return traces;
}

std::vector<Trace> load_trace_lines(const fs::path& path, const std::string& display_name,
                                    bool workload_only) {
  return parse_trace_lines(util::read_file(path), display_name, workload_only);
}

TraceSet load_trace_set(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    throw Error(fmt::format("{}: dataset directory not found", root.string()));
  }
  std::vector<DatasetFile> files;
  for (const auto& [dir, ext] : {std::pair<const char*, const char*>{"definitions", ".json"},
                                 {"solutions", ".json"},
                                 {"workloads", ".jsonl"},
                                 {"traces", ".jsonl"}}) {
    for (const fs::path& file : sorted_files(root / dir, ext)) {
      files.push_back(
          {file.lexically_relative(root).generic_string(), util::read_file(file), file.string()});
    }
  }
  TraceSet set = load_trace_set_files(files);
  set.root = root;
  return set;
}

TraceSet load_trace_set_files(const std::vector<DatasetFile>& files) {
  TraceSet set;
  const auto in = [](const std::string& path, std::string_view dir, std::string_view ext) {
    return path.rfind(std::string(dir) + "/", 0) == 0 && path.size() > ext.size() &&
           path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  util::JsonParser parser;
  std::map<std::string, std::string> workload_where;              // uuid -> file:line
  std::map<std::string, std::vector<std::string>> workload_lines; // definition -> file:line
  std::map<std::string, std::string> definition_files;
  std::map<std::string, std::string> solution_files;
  for (const DatasetFile& f : files) {
    const std::string& shown = f.display.empty() ? f.path : f.display;
    if (in(f.path, "definitions", ".json")) {
      Definition def = parse_definition(util::parse_json(parser, f.content, {shown, 0}));
      auto [it, inserted] = definition_files.emplace(def.name, shown);
      if (!inserted) {
        throw Error(fmt::format("{}: duplicate definition name \"{}\" (also in {})", shown,
                                def.name, it->second));
      }
      set.definitions.push_back(std::move(def));
    } else if (in(f.path, "solutions", ".json")) {
      Solution sol = parse_solution(util::parse_json(parser, f.content, {shown, 0}));
      auto [it, inserted] = solution_files.emplace(sol.name, shown);
      if (!inserted) {
        throw Error(fmt::format("{}: duplicate solution name \"{}\" (also in {})", shown, sol.name,
                                it->second));
      }
      set.solutions[sol.definition].push_back(std::move(sol));
    } else if (in(f.path, "workloads", ".jsonl")) {
      std::vector<std::size_t> lines;
      std::vector<Trace> traces = parse_trace_lines(f.content, shown, true, &lines);
      for (std::size_t i = 0; i < traces.size(); ++i) {
        const std::string where = fmt::format("{}:{}", shown, lines[i]);
        auto [it, inserted] = workload_where.emplace(traces[i].workload.uuid, where);
        if (!inserted) {
          throw Error(fmt::format("{}: $.workload.uuid: workload uuid \"{}\" is used twice (also "
                                  "at {}); the official evaluator keys workloads by uuid",
                                  where, traces[i].workload.uuid, it->second));
        }
        workload_lines[traces[i].definition].push_back(where);
        set.workloads[traces[i].definition].push_back(std::move(traces[i]));
      }
    } else if (in(f.path, "traces", ".jsonl")) {
      for (Trace& t : parse_trace_lines(f.content, shown, false)) {
        set.traces[t.definition].push_back(std::move(t));
      }
    }
  }
  // Every workload gives a value to every var axis of its definition.
  for (const Definition& def : set.definitions) {
    const std::vector<Trace>& traces = set.workloads_of(def.name);
    for (std::size_t i = 0; i < traces.size(); ++i) {
      for (const Axis& a : def.axes) {
        if (!a.is_const && !traces[i].workload.find_axis(a.name)) {
          throw Error(fmt::format("{}: $.workload.axes: missing var axis \"{}\" of definition {} "
                                  "(the official evaluator cannot size its tensors)",
                                  workload_lines[def.name][i], a.name, def.name));
        }
      }
    }
  }
  return set;
}

} // namespace fibkit::core
