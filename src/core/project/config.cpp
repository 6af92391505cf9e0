#include "fibkit/core/project/config.hpp"

#include "fibkit/core/trace/tracks.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

namespace fs = std::filesystem;

namespace fibkit::core {

namespace {

// Reading TOML with line numbers: every error is "<file>:<line>: <key path>: <what>".
class Reader {
public:
  Reader(std::string display_name) : m_file(std::move(display_name)) {}

  std::string where(const toml::node& node) const {
    return fmt::format("{}:{}", m_file, node.source().begin.line);
  }
  std::string where(const toml::key& key) const {
    return fmt::format("{}:{}", m_file, key.source().begin.line);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& path,
                         std::string_view what) const {
    throw Error(fmt::format("{}: {}: {}", where(node), path, what));
  }
  [[noreturn]] void fail_key(const toml::key& key, const std::string& path,
                             std::string_view what) const {
    throw Error(fmt::format("{}: {}: {}", where(key), path, what));
  }

  static std::string_view type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
    }
  }

  // Refuses keys of `table` outside `allowed`, suggesting the closest one.
  void check_keys(const toml::table& table, const std::string& path,
                  const std::vector<std::string_view>& allowed) const {
    for (auto&& [key, value] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) {
          list += list.empty() ? "" : ", ";
          list += a;
        }
        fail_key(key, join(path, key.str()),
                 fmt::format("unknown key \"{}\" (allowed here: {})", key.str(), list));
      }
    }
  }

  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  }

  std::string string(const toml::node& node, const std::string& path) const {
    if (!node.is_string()) {
      fail(node, path, fmt::format("expected a string, got {}", type_name(node)));
    }
    return node.as_string()->get();
  }
  std::string nonempty_string(const toml::node& node, const std::string& path) const {
    std::string s = string(node, path);
    if (s.empty()) {
      fail(node, path, "must not be empty");
    }
    return s;
  }
  bool boolean(const toml::node& node, const std::string& path) const {
    if (!node.is_boolean()) {
      fail(node, path, fmt::format("expected a boolean, got {}", type_name(node)));
    }
    return node.as_boolean()->get();
  }
  const toml::table& table(const toml::node& node, const std::string& path) const {
    if (!node.is_table()) {
      fail(node, path, fmt::format("expected a table, got {}", type_name(node)));
    }
    return *node.as_table();
  }
  const toml::array& array(const toml::node& node, const std::string& path) const {
    if (!node.is_array()) {
      fail(node, path, fmt::format("expected an array, got {}", type_name(node)));
    }
    return *node.as_array();
  }
  // A string or an array of strings.
  std::vector<std::string> strings(const toml::node& node, const std::string& path) const {
    std::vector<std::string> out;
    if (node.is_string()) {
      out.push_back(node.as_string()->get());
      return out;
    }
    if (!node.is_array()) {
      fail(node, path, fmt::format("expected an array of strings, got {}", type_name(node)));
    }
    const toml::array& arr = *node.as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      out.push_back(string(*arr.get(i), fmt::format("{}[{}]", path, i)));
    }
    return out;
  }
  // An integer or an expression string.
  Expr expr(const toml::node& node, const std::string& path) const {
    const std::string context = fmt::format("{}: {}", where(node), path);
    if (node.is_integer()) {
      return Expr::constant(node.as_integer()->get(), context);
    }
    if (node.is_string()) {
      return Expr::parse(node.as_string()->get(), context);
    }
    fail(node, path,
         fmt::format("expected an integer or an expression string, got {}", type_name(node)));
  }
  // 1..3 expressions (a single integer or string counts as one).
  std::vector<Expr> dims(const toml::node& node, const std::string& path) const {
    std::vector<Expr> out;
    if (!node.is_array()) {
      out.push_back(expr(node, path));
      return out;
    }
    const toml::array& arr = *node.as_array();
    if (arr.empty() || arr.size() > 3) {
      fail(node, path, fmt::format("expected 1 to 3 entries, got {}", arr.size()));
    }
    for (std::size_t i = 0; i < arr.size(); ++i) {
      out.push_back(expr(*arr.get(i), fmt::format("{}[{}]", path, i)));
    }
    return out;
  }

  const std::string& file() const { return m_file; }

private:
  std::string m_file;
};

const std::vector<std::string_view> k_build_keys{"language",
                                                 "entry_point",
                                                 "destination_passing_style",
                                                 "target_hardware",
                                                 "dependencies",
                                                 "binding",
                                                 "arch",
                                                 "options",
                                                 "defines",
                                                 "include_dirs",
                                                 "embed_cubin"};

// "<file>::<function>", with "::" exactly once as the official BuildSpec requires.
std::string read_entry_point(const Reader& r, const toml::node& node, const std::string& path) {
  std::string entry = r.nonempty_string(node, path);
  std::size_t count = 0;
  for (auto pos = entry.find("::"); pos != std::string::npos; pos = entry.find("::", pos + 2)) {
    ++count;
  }
  if (count != 1) {
    r.fail(node, path,
           fmt::format("\"{}\" must have the form \"<file>::<function>\", e.g. \"kernel.cu::run\"",
                       entry));
  }
  return entry;
}

void read_build(const Reader& r, const toml::table& t, const std::string& path, BuildConfig& b) {
  r.check_keys(t, path, k_build_keys);
  for (auto&& [key, node] : t) {
    const std::string p = Reader::join(path, key.str());
    const std::string_view k = key.str();
    if (k == "language") {
      b.language = r.string(node, p);
      static const std::set<std::string> languages{"python", "triton", "cpp", "cuda", "tilelang"};
      if (!languages.count(b.language)) {
        r.fail(
            node, p,
            fmt::format("unknown language \"{}\" (expected cuda, cpp, triton, python or tilelang)",
                        b.language));
      }
    } else if (k == "entry_point") {
      b.entry_point = read_entry_point(r, node, p);
    } else if (k == "destination_passing_style") {
      b.destination_passing_style = r.boolean(node, p);
    } else if (k == "target_hardware") {
      b.target_hardware = r.strings(node, p);
      if (b.target_hardware.empty()) {
        r.fail(node, p, "must list at least one entry");
      }
    } else if (k == "dependencies") {
      b.dependencies = r.strings(node, p);
    } else if (k == "binding") {
      b.binding = r.string(node, p);
      if (*b.binding != "tvm-ffi" && *b.binding != "torch") {
        r.fail(node, p,
               fmt::format("unknown binding \"{}\" (expected tvm-ffi or torch)", *b.binding));
      }
    } else if (k == "arch") {
      b.arch = r.strings(node, p);
      for (const std::string& a : b.arch) {
        if (a != "auto" && (a.rfind("sm_", 0) != 0 || a.size() < 5)) {
          r.fail(
              node, p,
              fmt::format(
                  "\"{}\" is not an arch (expected e.g. \"sm_90a\", \"sm_100a\" or \"auto\")", a));
        }
      }
    } else if (k == "options") {
      b.options = r.strings(node, p);
    } else if (k == "include_dirs") {
      b.include_dirs = r.strings(node, p);
    } else if (k == "embed_cubin") {
      b.embed_cubin = r.boolean(node, p);
    } else if (k == "defines") {
      b.defines.clear();
      for (auto&& [dk, dv] : r.table(node, p)) {
        const std::string dp = Reader::join(p, dk.str());
        if (!is_valid_name(dk.str())) {
          r.fail_key(dk, dp, "a define name must be a C identifier");
        }
        std::string value;
        if (dv.is_string()) {
          value = dv.as_string()->get();
        } else if (dv.is_integer()) {
          value = std::to_string(dv.as_integer()->get());
        } else if (dv.is_boolean()) {
          value = dv.as_boolean()->get() ? "1" : "0";
        } else {
          r.fail(
              dv, dp,
              fmt::format("expected a string, integer or boolean, got {}", Reader::type_name(dv)));
        }
        b.defines.emplace_back(std::string(dk.str()), value);
      }
    }
  }
}

WorkspaceConfig read_workspace(const Reader& r, const toml::table& t, const std::string& path) {
  r.check_keys(t, path, {"name", "dtype", "shape", "init"});
  WorkspaceConfig w;
  w.where = r.where(t);
  for (std::string_view required : {"name", "dtype", "shape"}) {
    if (!t.contains(required)) {
      r.fail(t, path, fmt::format("missing required key \"{}\"", required));
    }
  }
  w.name = r.nonempty_string(*t.get("name"), path + ".name");
  if (!is_valid_name(w.name)) {
    r.fail(*t.get("name"), path + ".name", "a workspace name must be an identifier");
  }
  const std::string dtype = r.string(*t.get("dtype"), path + ".dtype");
  auto parsed = parse_dtype(dtype);
  if (!parsed) {
    r.fail(*t.get("dtype"), path + ".dtype",
           fmt::format("unknown dtype \"{}\" (expected one of {})", dtype, dtype_names()));
  }
  w.dtype = *parsed;
  const toml::array& shape = r.array(*t.get("shape"), path + ".shape");
  for (std::size_t i = 0; i < shape.size(); ++i) {
    w.shape.push_back(r.expr(*shape.get(i), fmt::format("{}.shape[{}]", path, i)));
  }
  if (const toml::node* init = t.get("init")) {
    const std::string value = r.string(*init, path + ".init");
    if (value == "zero") {
      w.init = WorkspaceConfig::Init::zero;
    } else if (value == "uninitialized") {
      w.init = WorkspaceConfig::Init::uninitialized;
    } else {
      r.fail(*init, path + ".init",
             fmt::format("unknown init \"{}\" (expected \"zero\" or \"uninitialized\")", value));
    }
  }
  return w;
}

LaunchArg read_arg(const Reader& r, const toml::node& node, const std::string& path) {
  LaunchArg arg;
  arg.text = r.nonempty_string(node, path);
  const auto colon = arg.text.find(':');
  if (colon == std::string::npos) {
    arg.kind = LaunchArg::Kind::name;
    arg.name = arg.text;
    if (!is_valid_name(arg.name)) {
      r.fail(
          node, path,
          fmt::format("\"{}\" is neither a name nor a typed literal like \"int32:4\"", arg.text));
    }
    return arg;
  }
  arg.type = arg.text.substr(0, colon);
  const std::string body = arg.text.substr(colon + 1);
  if (arg.type == "int32" || arg.type == "int64" || arg.type == "uint32" || arg.type == "uint64") {
    arg.kind = LaunchArg::Kind::integer;
    arg.integer = Expr::parse(body, fmt::format("{}: {}", r.where(node), path));
  } else if (arg.type == "float32" || arg.type == "float64") {
    arg.kind = LaunchArg::Kind::floating;
    char* end = nullptr;
    arg.floating = std::strtod(body.c_str(), &end);
    const bool plain = !body.empty() && body.find_first_of(" \t\nxXpP") == std::string::npos;
    if (!plain || end != body.c_str() + body.size() || !std::isfinite(arg.floating)) {
      r.fail(node, path, fmt::format("\"{}\" is not a float literal", body));
    }
  } else {
    r.fail(node, path,
           fmt::format("unknown literal type \"{}\" (expected int32, int64, uint32, uint64, "
                       "float32 or float64)",
                       arg.type));
  }
  return arg;
}

LaunchConfig read_launch(const Reader& r, const toml::table& t, const std::string& path) {
  r.check_keys(
      t, path,
      {"kernel", "grid", "block", "shared_memory", "cluster", "cooperative", "when", "args"});
  LaunchConfig l;
  l.where = r.where(t);
  for (std::string_view required : {"kernel", "grid", "block", "args"}) {
    if (!t.contains(required)) {
      r.fail(t, path, fmt::format("missing required key \"{}\"", required));
    }
  }
  l.kernel = r.nonempty_string(*t.get("kernel"), path + ".kernel");
  l.grid = r.dims(*t.get("grid"), path + ".grid");
  l.block = r.dims(*t.get("block"), path + ".block");
  if (const toml::node* smem = t.get("shared_memory")) {
    l.shared_memory = r.expr(*smem, path + ".shared_memory");
  }
  if (const toml::node* cluster = t.get("cluster")) {
    l.cluster = r.dims(*cluster, path + ".cluster");
  }
  if (const toml::node* coop = t.get("cooperative")) {
    l.cooperative = r.boolean(*coop, path + ".cooperative");
  }
  if (const toml::node* when = t.get("when")) {
    l.when = r.expr(*when, path + ".when");
  }
  const toml::array& args = r.array(*t.get("args"), path + ".args");
  for (std::size_t i = 0; i < args.size(); ++i) {
    l.args.push_back(read_arg(r, *args.get(i), fmt::format("{}.args[{}]", path, i)));
  }
  return l;
}

fs::path default_source_dir(const fs::path& dir, const SolutionConfig& s) {
  const fs::path kernels = dir / "kernels" / (s.track.empty() ? s.definition : s.track);
  std::error_code ec;
  if (fs::is_directory(kernels, ec)) {
    return kernels;
  }
  // A starter-kit project keeps its sources in solution/<language>/.
  const fs::path starter = dir / "solution" / s.build.language;
  if (fs::is_directory(starter, ec)) {
    return starter;
  }
  return kernels;
}

SolutionConfig read_solution(const Reader& r, const toml::table& t, const std::string& path,
                             const BuildConfig& defaults, const fs::path& dir) {
  r.check_keys(t, path,
               {"name", "definition", "author", "description", "sources", "source_dir",
                "entry_point", "build", "workspace", "launch"});
  SolutionConfig s;
  s.where = r.where(t);
  s.build = defaults;
  for (std::string_view required : {"name", "definition", "author"}) {
    if (!t.contains(required)) {
      r.fail(t, path, fmt::format("missing required key \"{}\"", required));
    }
  }
  s.name = r.nonempty_string(*t.get("name"), path + ".name");
  s.author = r.nonempty_string(*t.get("author"), path + ".author");
  const toml::node& def_node = *t.get("definition");
  s.definition = r.nonempty_string(def_node, path + ".definition");
  if (const Track* track = find_track(s.definition)) {
    if (track->definitions.size() != 1) {
      std::string names;
      for (std::string_view d : track->definitions) {
        names += names.empty() ? "" : ", ";
        names += d;
      }
      r.fail(def_node, path + ".definition",
             fmt::format("\"{}\" is a track with {} definitions ({}): name one per solution, "
                         "with a [[solution]] table for each",
                         s.definition, track->definitions.size(), names));
    }
    s.track = std::string(track->name);
    s.definition = std::string(track->definitions.front());
  } else if (const Track* owner = track_of_definition(s.definition)) {
    s.track = std::string(owner->name);
  }
  if (const toml::node* d = t.get("description")) {
    s.description = r.string(*d, path + ".description");
  }
  if (const toml::node* b = t.get("build")) {
    read_build(r, r.table(*b, path + ".build"), path + ".build", s.build);
  }
  if (const toml::node* e = t.get("entry_point")) {
    s.build.entry_point = read_entry_point(r, *e, path + ".entry_point");
  }
  for (std::string& d : s.build.include_dirs) {
    d = (dir / d).lexically_normal().string(); // relative to the config file's directory
  }
  if (const toml::node* src = t.get("sources")) {
    s.sources = r.strings(*src, path + ".sources");
    if (s.sources.empty()) {
      r.fail(*src, path + ".sources", "must list at least one file");
    }
  }
  if (const toml::node* sd = t.get("source_dir")) {
    s.source_dir = (dir / r.nonempty_string(*sd, path + ".source_dir")).lexically_normal();
  } else {
    s.source_dir = default_source_dir(dir, s);
  }
  if (const toml::node* ws = t.get("workspace")) {
    const toml::array& arr = r.array(*ws, path + ".workspace");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string p = fmt::format("{}.workspace[{}]", path, i);
      s.workspaces.push_back(read_workspace(r, r.table(*arr.get(i), p), p));
    }
  }
  if (const toml::node* ls = t.get("launch")) {
    const toml::array& arr = r.array(*ls, path + ".launch");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string p = fmt::format("{}.launch[{}]", path, i);
      s.launches.push_back(read_launch(r, r.table(*arr.get(i), p), p));
    }
  }
  return s;
}

} // namespace

ProjectConfig parse_config(std::string_view text, const std::string& display_name,
                           const fs::path& dir) {
  toml::table root;
  try {
    root = toml::parse(text, display_name);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}:{}: invalid TOML: {}", display_name, e.source().begin.line,
                            e.source().begin.column, e.description()));
  }
  const Reader r(display_name);
  r.check_keys(root, "", {"solution", "build"});
  ProjectConfig config;
  config.dir = dir;
  BuildConfig defaults;
  if (const toml::node* b = root.get("build")) {
    read_build(r, r.table(*b, "build"), "build", defaults);
  }
  const toml::node* sol = root.get("solution");
  if (!sol) {
    throw Error(fmt::format("{}: no [solution] table: a config names at least one solution "
                            "(name, definition, author)",
                            display_name));
  }
  if (sol->is_table()) {
    config.solutions.push_back(read_solution(r, *sol->as_table(), "solution", defaults, dir));
  } else if (sol->is_array()) {
    const toml::array& arr = *sol->as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string p = fmt::format("solution[{}]", i);
      config.solutions.push_back(read_solution(r, r.table(*arr.get(i), p), p, defaults, dir));
    }
    if (config.solutions.empty()) {
      r.fail(*sol, "solution", "the solution array is empty");
    }
  } else {
    r.fail(*sol, "solution",
           fmt::format("expected a table or an array of tables, got {}", Reader::type_name(*sol)));
  }
  std::set<std::string> names;
  for (const SolutionConfig& s : config.solutions) {
    if (!names.insert(s.name).second) {
      throw Error(fmt::format("{}: solution name \"{}\" is used twice", s.where, s.name));
    }
  }
  return config;
}

ProjectConfig load_config(const fs::path& path) {
  std::error_code ec;
  const fs::path abs = fs::absolute(path, ec).lexically_normal();
  ProjectConfig config = parse_config(
      util::read_file(abs), util::display_path(abs, fs::current_path(ec)), abs.parent_path());
  config.file = abs;
  return config;
}

ProjectConfig load_project_config(const std::string& flag) {
  if (!flag.empty()) {
    return load_config(flag);
  }
  const fs::path found = find_config(fs::current_path());
  if (found.empty()) {
    throw UsageError("no config.toml in this directory or its parents (pass --config FILE, or "
                     "create a project with `fibkit init --track TRACK`)");
  }
  return load_config(found);
}

fs::path find_config(const fs::path& start) {
  std::error_code ec;
  for (fs::path dir = fs::absolute(start, ec);; dir = dir.parent_path()) {
    if (fs::is_regular_file(dir / "config.toml", ec)) {
      return dir / "config.toml";
    }
    if (fs::exists(dir / ".git", ec) || dir == dir.parent_path()) {
      return {};
    }
  }
}

const SolutionConfig& ProjectConfig::select(std::string_view name) const {
  std::string names;
  for (const SolutionConfig& s : solutions) {
    if (s.name == name || (name.empty() && solutions.size() == 1)) {
      return s;
    }
    names += fmt::format("\n  {} ({})", s.name, s.definition);
  }
  if (name.empty()) {
    throw UsageError(fmt::format("{} holds {} solutions; choose one with --solution NAME:{}",
                                 file.filename().string(), solutions.size(), names));
  }
  throw UsageError(
      fmt::format("no solution named \"{}\" in {}; its solutions:{}", name, file.string(), names));
}

std::vector<const SolutionConfig*> ProjectConfig::selection(std::string_view name) const {
  std::vector<const SolutionConfig*> out;
  if (!name.empty()) {
    out.push_back(&select(name));
    return out;
  }
  for (const SolutionConfig& s : solutions) {
    out.push_back(&s);
  }
  return out;
}

void check_launch_plan(const SolutionConfig& s, const Definition& def) {
  // Names an expression may use: every axis, the device facts, and nothing else.
  Env names;
  for (const Axis& a : def.axes) {
    names.set(a.name, 1);
  }
  names.set("num_sms", 1);
  const auto check_exprs = [&](const std::vector<Expr>& exprs) {
    for (const Expr& e : exprs) {
      e.check_names(names);
    }
  };
  std::set<std::string> workspace_names;
  for (const WorkspaceConfig& w : s.workspaces) {
    if (def.find_input(w.name) || def.find_output(w.name) || def.find_axis(w.name)) {
      throw Error(fmt::format("{}: workspace \"{}\" has the name of a tensor or axis of {}",
                              w.where, w.name, def.name));
    }
    if (!workspace_names.insert(w.name).second) {
      throw Error(fmt::format("{}: workspace \"{}\" is declared twice", w.where, w.name));
    }
    check_exprs(w.shape);
  }
  std::set<std::string> written;
  for (const LaunchConfig& l : s.launches) {
    check_exprs(l.grid);
    check_exprs(l.block);
    check_exprs({l.shared_memory});
    check_exprs(l.cluster);
    for (std::size_t i = 0; i < l.args.size(); ++i) {
      const LaunchArg& a = l.args[i];
      if (a.kind == LaunchArg::Kind::integer) {
        a.integer->check_names(names);
      }
      if (a.kind != LaunchArg::Kind::name) {
        continue;
      }
      if (def.find_output(a.name)) {
        written.insert(a.name);
      } else if (!def.find_input(a.name) && !def.find_axis(a.name) &&
                 !workspace_names.count(a.name)) {
        throw Error(fmt::format("{}: kernel \"{}\" argument {} \"{}\" is not an input, output, "
                                "axis or workspace of {}",
                                l.where, l.kernel, i, a.name, def.name));
      }
    }
  }
  if (!s.launches.empty()) {
    for (const TensorSpec& out : def.outputs) {
      if (!written.count(out.name)) {
        throw Error(fmt::format("{}: no launch of solution \"{}\" is passed output \"{}\"", s.where,
                                s.name, out.name));
      }
    }
  }
}

} // namespace fibkit::core
