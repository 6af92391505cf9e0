#include "fibkit/core/trace/solution.hpp"

#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>

#include <set>

namespace fibkit::core {

namespace {
const std::set<std::string> k_languages{"python", "triton", "cpp", "cuda", "tilelang"};
const std::set<std::string> k_bindings{"tvm-ffi", "torch"};

std::size_t count_occurrences(const std::string& text, std::string_view needle) {
  std::size_t count = 0;
  for (std::size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// Python's `Path(p).parts` contains "..".
bool has_parent_component(const std::string& path) {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    if (path.compare(start, end - start, "..") == 0 && end - start == 2) {
      return true;
    }
    start = end + 1;
  }
  return false;
}
} // namespace

std::string Solution::entry_file() const {
  return spec.entry_point.substr(0, spec.entry_point.find("::"));
}

std::string Solution::entry_symbol() const {
  const auto pos = spec.entry_point.rfind("::");
  return pos == std::string::npos ? std::string() : spec.entry_point.substr(pos + 2);
}

std::string validate_solution(const Solution& s) {
  if (s.name.empty()) {
    return "$.name: must be a non-empty string";
  }
  if (s.definition.empty()) {
    return "$.definition: must be a non-empty string";
  }
  if (s.author.empty()) {
    return "$.author: must be a non-empty string";
  }
  if (!k_languages.count(s.spec.language)) {
    return fmt::format("$.spec.language: unknown language \"{}\" (expected python, triton, cpp, "
                       "cuda or tilelang)",
                       s.spec.language);
  }
  if (s.spec.target_hardware.empty()) {
    return "$.spec.target_hardware: must list at least one entry";
  }
  if (s.spec.entry_point.empty()) {
    return "$.spec.entry_point: must be a non-empty string";
  }
  if (count_occurrences(s.spec.entry_point, "::") != 1) {
    return fmt::format(
        "$.spec.entry_point: \"{}\" must have the form \"<file_path>::<function_name>\"",
        s.spec.entry_point);
  }
  for (std::size_t i = 0; i < s.spec.dependencies.size(); ++i) {
    if (s.spec.dependencies[i].empty()) {
      return fmt::format("$.spec.dependencies[{}]: must be a non-empty string", i);
    }
  }
  if (s.spec.binding && !k_bindings.count(*s.spec.binding)) {
    return fmt::format("$.spec.binding: unknown binding \"{}\" (expected tvm-ffi, torch or null)",
                       *s.spec.binding);
  }
  if (s.sources.empty()) {
    return "$.sources: must hold at least one source file";
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < s.sources.size(); ++i) {
    const SourceFile& f = s.sources[i];
    if (f.path.empty()) {
      return fmt::format("$.sources[{}].path: must be a non-empty string", i);
    }
    if (f.content.empty()) {
      return fmt::format("$.sources[{}].content: source \"{}\" is empty", i, f.path);
    }
    if (f.path.front() == '/') {
      return fmt::format("$.sources[{}].path: absolute path not allowed: {}", i, f.path);
    }
    if (has_parent_component(f.path)) {
      return fmt::format("$.sources[{}].path: parent directory traversal not allowed: {}", i,
                         f.path);
    }
    if (!seen.insert(f.path).second) {
      return fmt::format("$.sources[{}].path: duplicate source path \"{}\"", i, f.path);
    }
  }
  if (!seen.count(s.entry_file())) {
    return fmt::format("$.spec.entry_point: entry source file \"{}\" not found in sources",
                       s.entry_file());
  }
  return {};
}

namespace {
std::vector<std::string> string_list(const util::JsonValue& json, bool nonempty) {
  std::vector<std::string> out;
  for (const util::JsonValue& item : json.items()) {
    out.push_back(nonempty ? item.as_nonempty_string() : item.as_string());
  }
  return out;
}
} // namespace

Solution parse_solution(const util::JsonValue& json) {
  if (!json.is_object()) {
    json.fail(fmt::format("expected a solution object, got {}", json.type_name()));
  }
  Solution s;
  s.name = json.at("name").as_nonempty_string();
  s.definition = json.at("definition").as_nonempty_string();
  s.author = json.at("author").as_nonempty_string();
  const util::JsonValue spec = json.at("spec");
  if (!spec.is_object()) {
    spec.fail(fmt::format("expected an object, got {}", spec.type_name()));
  }
  s.spec.language = spec.at("language").as_string();
  s.spec.target_hardware = string_list(spec.at("target_hardware"), false);
  s.spec.entry_point = spec.at("entry_point").as_nonempty_string();
  if (auto deps = spec.find("dependencies")) {
    s.spec.dependencies = string_list(*deps, true);
  }
  if (auto dps = spec.find("destination_passing_style")) {
    s.spec.destination_passing_style = dps->as_bool();
  }
  if (spec.has_non_null("binding")) {
    s.spec.binding = spec.at("binding").as_string();
  }
  for (const util::JsonValue& src : json.at("sources").items()) {
    if (!src.is_object()) {
      src.fail(fmt::format("expected a source file object, got {}", src.type_name()));
    }
    s.sources.push_back({src.at("path").as_nonempty_string(), src.at("content").as_string()});
  }
  if (json.has_non_null("description")) {
    s.description = json.at("description").as_string();
  }
  if (std::string err = validate_solution(s); !err.empty()) {
    throw Error(fmt::format("{}: {}", json.origin().where(), err));
  }
  return s;
}

Solution load_solution(const std::filesystem::path& path, const std::string& display_name) {
  const std::string text = util::read_file(path);
  util::JsonParser parser;
  return parse_solution(util::parse_json(parser, text, {display_name, 0}));
}

void write_solution(util::JsonWriter& out, const Solution& s) {
  out.begin_object();
  out.key("name").value(s.name).key("definition").value(s.definition);
  out.key("author").value(s.author);
  out.key("spec").begin_object();
  out.key("language").value(s.spec.language);
  out.key("target_hardware").begin_array();
  for (const std::string& t : s.spec.target_hardware) {
    out.value(t);
  }
  out.end_array();
  out.key("entry_point").value(s.spec.entry_point);
  out.key("dependencies").begin_array();
  for (const std::string& d : s.spec.dependencies) {
    out.value(d);
  }
  out.end_array();
  out.key("destination_passing_style").value(s.spec.destination_passing_style);
  out.key("binding");
  if (s.spec.binding) {
    out.value(*s.spec.binding);
  } else {
    out.null();
  }
  out.end_object();
  out.key("sources").begin_array();
  for (const SourceFile& f : s.sources) {
    out.begin_object().key("path").value(f.path).key("content").value(f.content).end_object();
  }
  out.end_array();
  out.key("description");
  if (s.description) {
    out.value(*s.description);
  } else {
    out.null();
  }
  out.end_object();
}

std::string solution_to_json(const Solution& solution) {
  util::JsonWriter out(2);
  write_solution(out, solution);
  return out.take();
}

} // namespace fibkit::core
