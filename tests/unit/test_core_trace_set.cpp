// Tests for TraceSet loading (include/fibkit/core/trace/trace_set.hpp) and the file helpers
// (include/fibkit/util/file.hpp): both trace layouts, blank lines, refused lines with file:line,
// duplicate names, and the facts of the contest dataset and of fibkit's embedded examples.
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/core/trace/trace_set.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/json_reader.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace fibkit;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;

namespace {

/// Writes `content` to `root/rel` byte for byte, creating the directories.
void put(const fs::path& root, const std::string& rel, const std::string& content) {
  const fs::path path = root / rel;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

std::string definition_json(const std::string& name) {
  return R"({"name":")" + name +
         R"(","op_type":"t","axes":{"M":{"type":"var"}},"inputs":{"x":{"shape":["M"],)"
         R"("dtype":"float32"}},"outputs":{"y":{"shape":["M"],"dtype":"float32"}},)"
         R"("reference":"def run(x):\n    return x\n"})";
}

std::string solution_json(const std::string& name, const std::string& definition) {
  return R"({"name":")" + name + R"(","definition":")" + definition +
         R"(","author":"a","spec":{"language":"python","target_hardware":["cuda"],)"
         R"("entry_point":"m.py::run"},"sources":[{"path":"m.py","content":"x"}]})";
}

std::string workload_line(const std::string& definition, const std::string& uuid) {
  return R"({"definition":")" + definition +
         R"(","workload":{"axes":{"M":4},"inputs":{},"uuid":")" + uuid +
         R"("},"solution":null,"evaluation":null})";
}

std::string trace_line(const std::string& definition, const std::string& solution) {
  return R"({"definition":")" + definition +
         R"(","workload":{"axes":{"M":4},"inputs":{},"uuid":"u"},"solution":")" + solution +
         R"(","evaluation":{"status":"TIMEOUT","environment":{"hardware":"h"},"timestamp":"t"}})";
}

std::string uuids(const std::vector<core::Trace>& traces) {
  std::string out;
  for (const core::Trace& t : traces) {
    out += (out.empty() ? "" : ",") + t.workload.uuid;
  }
  return out;
}

const fs::path k_contest = FIBKIT_CONTEST_DATASET;

/// The contest workload counts, by definition name.
const std::map<std::string, std::size_t> k_contest_counts{
    {"moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048", 19},
    {"dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64", 23},
    {"dsa_topk_indexer_fp8_h64_d128_topk2048_ps64", 128},
    {"gdn_decode_qk4_v8_d128_k_last", 54},
    {"gdn_prefill_qk4_v8_d128_k_last", 100},
};

bool have_contest_dataset() {
  std::error_code ec;
  if (fs::is_directory(k_contest / "definitions", ec)) {
    return true;
  }
  WARN("skipped: the contest dataset is not at " << k_contest.string());
  return false;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Layouts

TEST_CASE("traceset: the mini fixture, recursive, with both trace layouts", "[core][traceset]") {
  const fs::path root = fs::path(FIBKIT_TEST_DATA) / "traceset" / "mini";
  const core::TraceSet set = core::load_trace_set(root);
  CHECK(set.root == root);
  // Sorted file order; nested directories are walked; README.md is not a definition.
  REQUIRE(set.definitions.size() == 2);
  CHECK(set.definitions[0].name == "add_n8");
  CHECK(set.definitions[1].name == "scale_n8");
  CHECK(set.find_definition("scale_n8") == &set.definitions[1]);
  CHECK(set.find_definition("nope") == nullptr);
  // Workloads: the blank line is skipped; omitted solution/evaluation keys are null.
  CHECK(uuids(set.workloads_of("add_n8")) == "w-add-1,w-add-2");
  CHECK(uuids(set.workloads_of("scale_n8")) == "w-scale-1");
  CHECK(set.workloads_of("nope").empty());
  CHECK(set.workloads.size() == 2);
  // Solutions grouped by their definition field.
  REQUIRE(set.solutions.count("add_n8") == 1);
  REQUIRE(set.solutions.at("add_n8").size() == 1);
  CHECK(set.solutions.at("add_n8")[0].name == "add_py");
  // traces/<author>/<op_type>/<def>.jsonl and traces/<op_type>/<def>.jsonl both load, in sorted
  // path order ("alice/..." before "elementwise/...").
  REQUIRE(set.traces.count("add_n8") == 1);
  const std::vector<core::Trace>& traces = set.traces.at("add_n8");
  REQUIRE(traces.size() == 2);
  CHECK(traces[0].evaluation->status == core::EvaluationStatus::runtime_error);
  CHECK(traces[0].evaluation->log == "CUDA error");
  CHECK(traces[1].evaluation->status == core::EvaluationStatus::passed);
  CHECK(traces[1].evaluation->performance->speedup_factor == 2.0);
  CHECK(traces[1].evaluation->environment.libs ==
        std::vector<std::pair<std::string, std::string>>{{"torch", "2.9.0"}});
}

TEST_CASE("traceset: files are sorted by path components, like Python's sorted(Path)",
          "[core][traceset]") {
  TempDir tmp;
  // As strings "a-b/..." < "a/..." ('-' < '/'); as components "a" < "a-b" < "z.json".
  put(tmp.path(), "definitions/z.json", definition_json("d_z"));
  put(tmp.path(), "definitions/a-b/d.json", definition_json("d_ab"));
  put(tmp.path(), "definitions/a/d.json", definition_json("d_a"));
  put(tmp.path(), "definitions/a/d.json.bak", "not json");
  put(tmp.path(), "definitions/a/notes.txt", "not json");
  put(tmp.path(), "workloads/t/x.json", "ignored: workloads are *.jsonl");
  put(tmp.path(), "solutions/x.jsonl", "ignored: solutions are *.json");
  put(tmp.path(), "blob/workloads/t/d_a/x.safetensors", "ignored");
  put(tmp.path(), "other/definitions/x.json", "ignored");
  const core::TraceSet set = core::load_trace_set(tmp.path());
  REQUIRE(set.definitions.size() == 3);
  CHECK(set.definitions[0].name == "d_a");
  CHECK(set.definitions[1].name == "d_ab");
  CHECK(set.definitions[2].name == "d_z");
  CHECK(set.workloads.empty());
  CHECK(set.solutions.empty());
  CHECK(set.traces.empty());
}

TEST_CASE("traceset: blank and whitespace-only lines are skipped, line numbers kept",
          "[core][traceset]") {
  TempDir tmp;
  put(tmp.path(), "definitions/t/d.json", definition_json("d"));
  put(tmp.path(), "workloads/t/d.jsonl",
      "\n  \n" + workload_line("d", "u1") + "\n\t \r\n" + workload_line("d", "u2") + "   \r\n" +
          workload_line("d", "u3") + "\n   \n\t\n  ");
  put(tmp.path(), "traces/t/d.jsonl", "\n" + trace_line("d", "s") + "\n\n");
  const core::TraceSet set = core::load_trace_set(tmp.path());
  CHECK(uuids(set.workloads_of("d")) == "u1,u2,u3");
  CHECK(set.traces.at("d").size() == 1);

  // An error after blank lines names the physical line.
  const std::string lines = "\n\n" + workload_line("d", "u1") + "\n\n{\"definition\":\"d\"}\n";
  CHECK(error_of([&] { (void)core::parse_trace_lines(lines, "w.jsonl", true); }) ==
        "w.jsonl:5: $: missing required key \"workload\"");
  // Python's str.strip() also removes form feeds, vertical tabs and \x1c-\x1f.
  CHECK(uuids(core::parse_trace_lines("\f\n\v \x1c\n\f" + workload_line("d", "u9") + "\v\x1f\n",
                                      "w.jsonl", true)) == "u9");
  CHECK(core::parse_trace_lines("", "e.jsonl", true).empty());
  CHECK(core::parse_trace_lines("\n \n", "e.jsonl", false).empty());
}

TEST_CASE("traceset: workload files refuse evaluated lines and trace files workload-only ones",
          "[core][traceset]") {
  TempDir tmp;
  put(tmp.path(), "definitions/t/d.json", definition_json("d"));
  put(tmp.path(), "workloads/t/d.jsonl",
      workload_line("d", "u1") + "\n" + trace_line("d", "s") + "\n");
  const std::string file = (tmp.path() / "workloads/t/d.jsonl").string();
  CHECK(error_of([&] { (void)core::load_trace_set(tmp.path()); }) ==
        file + ":2: $: a workload file may only hold workload traces (solution and evaluation "
               "null)");

  // A solution without an evaluation is not a workload trace either.
  const std::string solution_only =
      R"({"definition":"d","workload":{"axes":{},"inputs":{},"uuid":"u"},"solution":"s"})";
  CHECK(error_of([&] { (void)core::parse_trace_lines(solution_only, "w.jsonl", true); }) ==
        "w.jsonl:1: $: a workload file may only hold workload traces (solution and evaluation "
        "null)");
  CHECK(core::parse_trace_lines(solution_only, "t.jsonl", false).size() == 1);

  TempDir other;
  put(other.path(), "definitions/t/d.json", definition_json("d"));
  put(other.path(), "traces/alice/t/d.jsonl",
      trace_line("d", "s") + "\n\n" + workload_line("d", "u1") + "\n");
  CHECK(error_of([&] { (void)core::load_trace_set(other.path()); }) ==
        (other.path() / "traces/alice/t/d.jsonl").string() +
            ":3: $: a traces file may not hold workload-only traces");
}

TEST_CASE("traceset: duplicate definition and solution names name both files", "[core][traceset]") {
  TempDir defs;
  put(defs.path(), "definitions/a/d.json", definition_json("same"));
  put(defs.path(), "definitions/b/d.json", definition_json("same"));
  CHECK(error_of([&] { (void)core::load_trace_set(defs.path()); }) ==
        (defs.path() / "definitions/b/d.json").string() + ": duplicate definition name \"same\" " +
            "(also in " + (defs.path() / "definitions/a/d.json").string() + ")");

  TempDir sols;
  put(sols.path(), "definitions/t/d.json", definition_json("d"));
  put(sols.path(), "solutions/alice/t/d/s.json", solution_json("s", "d"));
  put(sols.path(), "solutions/bob/t/d/s.json", solution_json("s", "d"));
  CHECK(error_of([&] { (void)core::load_trace_set(sols.path()); }) ==
        (sols.path() / "solutions/bob/t/d/s.json").string() + ": duplicate solution name \"s\" " +
            "(also in " + (sols.path() / "solutions/alice/t/d/s.json").string() + ")");

  // Different names are fine, and solutions group by their definition field, not their folder.
  TempDir ok;
  put(ok.path(), "solutions/alice/x.json", solution_json("s1", "d1"));
  put(ok.path(), "solutions/alice/y.json", solution_json("s2", "d2"));
  put(ok.path(), "solutions/bob/z.json", solution_json("s3", "d1"));
  const core::TraceSet set = core::load_trace_set(ok.path());
  CHECK(set.solutions.at("d1").size() == 2);
  CHECK(set.solutions.at("d2").size() == 1);
}

TEST_CASE("traceset: truncated and invalid entries name the file, line and path",
          "[core][traceset]") {
  TempDir tmp;
  put(tmp.path(), "definitions/t/d.json", definition_json("d"));
  const std::string line = workload_line("d", "u1");
  put(tmp.path(), "workloads/t/d.jsonl",
      line + "\n" + line + "\n" + line.substr(0, line.size() / 2) + "\n" + line + "\n");
  CHECK_THAT(error_of([&] { (void)core::load_trace_set(tmp.path()); }),
             Catch::StartsWith((tmp.path() / "workloads/t/d.jsonl").string() + ":3:") &&
                 Catch::Contains(": invalid JSON: "));

  TempDir bad_def;
  put(bad_def.path(), "definitions/t/d.json",
      R"({"name":"d","op_type":"t","axes":{},"inputs":{"x":{"shape":["M"],"dtype":"float32"}},)"
      R"("outputs":{},"reference":"def run(x): pass"})");
  CHECK(error_of([&] { (void)core::load_trace_set(bad_def.path()); }) ==
        (bad_def.path() / "definitions/t/d.json").string() +
            ": $.inputs.x.shape[0]: references undefined axis \"M\"");

  TempDir bad_sol;
  put(bad_sol.path(), "solutions/a/s.json",
      R"({"name":"s","definition":"d","author":"a","spec":{"language":"python",)"
      R"("target_hardware":["cuda"],"entry_point":"m.py::run"},"sources":[]})");
  CHECK(error_of([&] { (void)core::load_trace_set(bad_sol.path()); }) ==
        (bad_sol.path() / "solutions/a/s.json").string() +
            ": $.sources: must hold at least one source file");

  TempDir bad_trace;
  put(bad_trace.path(), "traces/t/d.jsonl",
      trace_line("d", "s") + "\n" +
          R"({"definition":"d","workload":{"axes":{"M":-2},"inputs":{},"uuid":"u"},"solution":"s"})" +
          "\n");
  CHECK(error_of([&] { (void)core::load_trace_set(bad_trace.path()); }) ==
        (bad_trace.path() / "traces/t/d.jsonl").string() +
            ":2: $.workload.axes.M: axis value must be >= 0, got -2");
}

TEST_CASE("traceset: missing root, empty root, blob paths and in-memory files",
          "[core][traceset]") {
  TempDir tmp;
  CHECK(error_of([&] { (void)core::load_trace_set(tmp.path() / "nope"); }) ==
        (tmp.path() / "nope").string() + ": dataset directory not found");
  const core::TraceSet empty = core::load_trace_set(tmp.path());
  CHECK(empty.definitions.empty());
  CHECK(empty.workloads.empty());
  CHECK(empty.blob_path("./blob/w/x.safetensors") == tmp.path() / "blob/w/x.safetensors");
  CHECK(empty.blob_path("blob/../blob/y.safetensors") == tmp.path() / "blob/y.safetensors");
  CHECK(empty.blob_path("/abs/z.safetensors") == fs::path("/abs/z.safetensors"));

  // In memory: the display name is used in errors; other folders and extensions are ignored.
  const core::TraceSet set = core::load_trace_set_files({
      {"definitions/t/d.json", definition_json("d"), ""},
      {"workloads/t/d.jsonl", workload_line("d", "u1") + "\n", "<mem>/w.jsonl"},
      {"workloads/t/d.json", "not read", ""},
      {"README.md", "not read", ""},
      {"definitionsX/d.json", "not read", ""},
  });
  CHECK(set.definitions.size() == 1);
  CHECK(uuids(set.workloads_of("d")) == "u1");
  CHECK(error_of([&] {
          (void)core::load_trace_set_files({{"workloads/t/d.jsonl", "{", "<mem>/w.jsonl"}});
        }).rfind("<mem>/w.jsonl:1:2: invalid JSON: ", 0) == 0);
  CHECK(error_of([&] {
          (void)core::load_trace_set_files({{"definitions/d.json", "{", ""}});
        }).rfind("definitions/d.json:1:2: invalid JSON: ", 0) == 0);
}

// ---------------------------------------------------------------------------------------------
// File helpers

TEST_CASE("append_lines: newline handling like append_jsonl_file", "[core][traceset]") {
  TempDir tmp;
  // A new file, with missing parent directories.
  const fs::path fresh = tmp.path() / "traces/alice/t/d.jsonl";
  util::append_lines(fresh, {"a", "b"});
  CHECK(util::read_file(fresh) == "a\nb\n");
  // Two appends.
  util::append_lines(fresh, {"c"});
  CHECK(util::read_file(fresh) == "a\nb\nc\n");
  // A file without a final newline gets one first.
  const fs::path no_newline = tmp.path() / "x.jsonl";
  put(tmp.path(), "x.jsonl", "{\"k\":1}");
  util::append_lines(no_newline, {"{\"k\":2}"});
  CHECK(util::read_file(no_newline) == "{\"k\":1}\n{\"k\":2}\n");
  // An empty file gets no leading newline.
  const fs::path empty = tmp.path() / "empty.jsonl";
  put(tmp.path(), "empty.jsonl", "");
  util::append_lines(empty, {"x"});
  CHECK(util::read_file(empty) == "x\n");
  // Appending nothing to a complete file changes nothing.
  util::append_lines(empty, {});
  CHECK(util::read_file(empty) == "x\n");
  // What append_lines writes loads back.
  put(tmp.path(), "ts/definitions/t/d.json", definition_json("d"));
  put(tmp.path(), "ts/workloads/t/d.jsonl", workload_line("d", "u1"));
  util::append_lines(tmp.path() / "ts/workloads/t/d.jsonl", {workload_line("d", "u2")});
  CHECK(uuids(core::load_trace_set(tmp.path() / "ts").workloads_of("d")) == "u1,u2");
}

TEST_CASE("write_file_atomic replaces content and leaves no temporary file", "[core][traceset]") {
  TempDir tmp;
  const fs::path path = tmp.path() / "deep/er/solution.json";
  util::write_file_atomic(path, "first version, longer than the second\n");
  CHECK(util::read_file(path) == "first version, longer than the second\n");
  util::write_file_atomic(path, "second\n");
  CHECK(util::read_file(path) == "second\n");
  util::write_file_atomic(path, "");
  CHECK(util::read_file(path).empty());
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path.parent_path())) {
    names.push_back(entry.path().filename().string());
  }
  CHECK(names == std::vector<std::string>{"solution.json"});
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0644);

  // A parent that is a file: an error, and nothing is left behind.
  put(tmp.path(), "blocker", "x");
  CHECK_THAT(error_of([&] { util::write_file_atomic(tmp.path() / "blocker/f.json", "y"); }),
             Catch::Contains("cannot create directory"));
  CHECK(util::read_file(tmp.path() / "blocker") == "x");
}

TEST_CASE("read_file and display_path", "[core][traceset]") {
  TempDir tmp;
  CHECK(error_of([&] { (void)util::read_file(tmp.path() / "missing.json"); }) ==
        (tmp.path() / "missing.json").string() + ": cannot open: No such file or directory");
  CHECK(error_of([&] { (void)util::read_file(tmp.path()); }) ==
        tmp.path().string() + ": is a directory, expected a file");
  put(tmp.path(), "bin", std::string("a\0b\r\n", 5));
  CHECK(util::read_file(tmp.path() / "bin") == std::string("a\0b\r\n", 5));
  CHECK(util::display_path(tmp.path() / "workloads/x.jsonl", tmp.path()) == "workloads/x.jsonl");
  CHECK(util::display_path("/elsewhere/x.jsonl", tmp.path()) == "/elsewhere/x.jsonl");
}

// ---------------------------------------------------------------------------------------------
// The contest dataset and the embedded examples

namespace {

/// Semantic equality of two JSON trees: objects as key -> value maps (last duplicate wins, order
/// ignored), arrays in order, numbers by value with the integer/float kind kept. Sets `why` to
/// the JSON path of the first difference.
bool same_json(simdjson::dom::element a, simdjson::dom::element b, const std::string& path,
               std::string& why) {
  using T = simdjson::dom::element_type;
  const auto kind = [](simdjson::dom::element e) {
    switch (e.type()) {
    case T::INT64:
    case T::UINT64:
      return std::string("integer");
    case T::DOUBLE:
      return std::string("float");
    case T::STRING:
      return std::string("string");
    case T::BOOL:
      return std::string("bool");
    case T::NULL_VALUE:
      return std::string("null");
    case T::ARRAY:
      return std::string("array");
    case T::OBJECT:
      return std::string("object");
    }
    return std::string("?");
  };
  if (kind(a) != kind(b)) {
    why = path + ": " + kind(a) + " vs " + kind(b);
    return false;
  }
  bool same = true;
  switch (a.type()) {
  case T::OBJECT: {
    std::map<std::string, simdjson::dom::element> ma;
    std::map<std::string, simdjson::dom::element> mb;
    // Named copies: ranging over value_unsafe() of a temporary result would dangle.
    const simdjson::dom::object oa = a.get_object().value_unsafe();
    const simdjson::dom::object ob = b.get_object().value_unsafe();
    for (auto field : oa) {
      ma[std::string(field.key)] = field.value;
    }
    for (auto field : ob) {
      mb[std::string(field.key)] = field.value;
    }
    for (const auto& [key, value] : ma) {
      if (!mb.count(key)) {
        why = util::json_path_member(path, key) + ": missing on the right";
        return false;
      }
      if (!same_json(value, mb.at(key), util::json_path_member(path, key), why)) {
        return false;
      }
    }
    for (const auto& entry : mb) {
      if (!ma.count(entry.first)) {
        why = util::json_path_member(path, entry.first) + ": missing on the left";
        return false;
      }
    }
    return true;
  }
  case T::ARRAY: {
    const simdjson::dom::array xa = a.get_array().value_unsafe();
    const simdjson::dom::array xb = b.get_array().value_unsafe();
    if (xa.size() != xb.size()) {
      why = path + ": arrays of " + std::to_string(xa.size()) + " and " +
            std::to_string(xb.size()) + " items";
      return false;
    }
    std::size_t i = 0;
    auto ib = xb.begin();
    for (auto item : xa) {
      if (!same_json(item, *ib, util::json_path_index(path, i), why)) {
        return false;
      }
      ++ib;
      ++i;
    }
    return true;
  }
  case T::INT64:
    same = a.get_int64().value_unsafe() == b.get_int64().value_unsafe();
    break;
  case T::UINT64:
    same = a.get_uint64().value_unsafe() == b.get_uint64().value_unsafe();
    break;
  case T::DOUBLE:
    same = a.get_double().value_unsafe() == b.get_double().value_unsafe();
    break;
  case T::STRING:
    same = a.get_string().value_unsafe() == b.get_string().value_unsafe();
    break;
  case T::BOOL:
    same = a.get_bool().value_unsafe() == b.get_bool().value_unsafe();
    break;
  case T::NULL_VALUE:
    same = true;
    break;
  }
  if (!same) {
    why = path + ": " + simdjson::minify(a) + " vs " + simdjson::minify(b);
  }
  return same;
}

bool same_json_text(const std::string& left, const std::string& right, std::string& why) {
  simdjson::dom::parser pa;
  simdjson::dom::parser pb;
  const simdjson::padded_string ta(left);
  const simdjson::padded_string tb(right);
  simdjson::dom::element ea;
  simdjson::dom::element eb;
  if (pa.parse(ta).get(ea) || pb.parse(tb).get(eb)) {
    why = "not JSON";
    return false;
  }
  return same_json(ea, eb, "$", why);
}

/// One workload input as a comparable fact: kind, scalar kind and value, tensor key.
using InputFact = std::tuple<int, int, double, std::string>;

std::map<std::string, InputFact> input_facts(const core::Workload& w) {
  std::map<std::string, InputFact> out;
  for (const auto& [name, spec] : w.inputs) {
    const bool scalar = spec.kind == core::InputSpec::Kind::scalar;
    out[name] = {static_cast<int>(spec.kind), scalar ? static_cast<int>(spec.value.kind) : -1,
                 scalar ? spec.value.as_double() : 0.0, spec.tensor_key};
  }
  return out;
}

} // namespace

TEST_CASE("same_json: the comparer itself", "[core][traceset]") {
  std::string why;
  CHECK(same_json_text(R"({"a":1,"b":[1.5,"x",null,true]})", R"({"b":[1.50,"x",null,true],"a":1})",
                       why));
  CHECK(same_json_text(R"({"a":1,"a":2})", R"({"a":2})", why));
  CHECK_FALSE(same_json_text(R"({"a":1})", R"({"a":1.0})", why));
  CHECK(why == "$.a: integer vs float");
  CHECK_FALSE(same_json_text(R"({"a":[1,2]})", R"({"a":[2,1]})", why));
  CHECK(why == "$.a[0]: 1 vs 2");
  CHECK_FALSE(same_json_text(R"({"a":1})", R"({"a":1,"b":null})", why));
  CHECK(why == "$.b: missing on the left");
  CHECK_FALSE(same_json_text(R"({"a b":"x"})", R"({"a b":"y"})", why));
  CHECK(why == "$[\"a b\"]: \"x\" vs \"y\"");
}

TEST_CASE("contest dataset: 5 definitions and their workload counts", "[core][traceset]") {
  if (!have_contest_dataset()) {
    return;
  }
  const core::TraceSet set = core::load_trace_set(k_contest);
  REQUIRE(set.definitions.size() == 5);
  for (const auto& [name, count] : k_contest_counts) {
    INFO(name);
    REQUIRE(set.find_definition(name) != nullptr);
    CHECK(set.workloads_of(name).size() == count);
  }
  CHECK(set.workloads.size() == 5);
  CHECK(set.traces.empty());
  // The baseline solutions load and point at contest definitions.
  for (const auto& [definition, solutions] : set.solutions) {
    CHECK(set.find_definition(definition) != nullptr);
    CHECK_FALSE(solutions.empty());
  }
}

TEST_CASE("contest dataset: every workload line re-serialises to an equal object",
          "[core][traceset]") {
  if (!have_contest_dataset()) {
    return;
  }
  std::size_t files = 0;
  std::size_t lines = 0;
  for (const auto& entry : fs::recursive_directory_iterator(k_contest / "workloads")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".jsonl") {
      continue;
    }
    ++files;
    const std::string text = util::read_file(entry.path());
    util::JsonParser parser;
    std::size_t start = 0;
    std::size_t line_no = 0;
    while (start < text.size()) {
      std::size_t end = text.find('\n', start);
      if (end == std::string::npos) {
        end = text.size();
      }
      const std::string line = text.substr(start, end - start);
      start = end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        continue;
      }
      ++lines;
      const std::string shown = entry.path().filename().string();
      const core::Trace trace = core::parse_trace(util::parse_json(parser, line, {shown, line_no}));
      const std::string written = core::trace_to_json_line(trace);
      std::string why;
      INFO(shown << ":" << line_no);
      REQUIRE(same_json_text(line, written, why));
      // And writing is a fixed point.
      util::JsonParser again;
      CHECK(core::trace_to_json_line(
                core::parse_trace(util::parse_json(again, written, {shown, line_no}))) == written);
    }
  }
  CHECK(files == 5);
  CHECK(lines == 19 + 23 + 128 + 54 + 100);
}

TEST_CASE("embedded examples: the five contest definitions and workload counts",
          "[core][traceset]") {
  const core::TraceSet set = core::load_embedded_examples();
  REQUIRE(set.definitions.size() == 5);
  for (const auto& [name, count] : k_contest_counts) {
    INFO(name);
    REQUIRE(set.find_definition(name) != nullptr);
    CHECK(set.workloads_of(name).size() == count);
  }
  CHECK(set.root.empty());
  const core::Dataset dataset = core::load_dataset(std::nullopt);
  if (dataset.embedded) {
    CHECK(dataset.label == "embedded examples");
    CHECK(dataset.set.definitions.size() == 5);
  }
}

TEST_CASE("embedded examples carry the contest's facts", "[core][traceset]") {
  if (!have_contest_dataset()) {
    return;
  }
  const core::TraceSet contest = core::load_trace_set(k_contest);
  const core::TraceSet examples = core::load_embedded_examples();
  REQUIRE(examples.definitions.size() == contest.definitions.size());
  for (const core::Definition& want : contest.definitions) {
    INFO(want.name);
    const core::Definition* have = examples.find_definition(want.name);
    REQUIRE(have != nullptr);
    CHECK(have->op_type == want.op_type);
    REQUIRE(have->axes.size() == want.axes.size());
    for (std::size_t i = 0; i < want.axes.size(); ++i) {
      INFO("axis " << want.axes[i].name);
      CHECK(have->axes[i].name == want.axes[i].name);
      CHECK(have->axes[i].is_const == want.axes[i].is_const);
      CHECK(have->axes[i].value == want.axes[i].value);
    }
    for (const auto& [have_group, want_group] :
         {std::pair{&have->inputs, &want.inputs}, std::pair{&have->outputs, &want.outputs}}) {
      REQUIRE(have_group->size() == want_group->size());
      for (std::size_t i = 0; i < want_group->size(); ++i) {
        const core::TensorSpec& h = (*have_group)[i];
        const core::TensorSpec& w = (*want_group)[i];
        INFO("tensor " << w.name);
        CHECK(h.name == w.name);
        CHECK(h.shape == w.shape);
        CHECK(core::dtype_name(h.dtype) == core::dtype_name(w.dtype));
      }
    }

    const std::vector<core::Trace>& want_w = contest.workloads_of(want.name);
    const std::vector<core::Trace>& have_w = examples.workloads_of(want.name);
    REQUIRE(have_w.size() == want_w.size());
    for (std::size_t i = 0; i < want_w.size(); ++i) {
      INFO("workload " << i);
      CHECK(have_w[i].definition == want.name);
      CHECK(have_w[i].workload.axes == want_w[i].workload.axes);
      CHECK(input_facts(have_w[i].workload) == input_facts(want_w[i].workload));
    }
  }
}

TEST_CASE("dataset_source: --dataset, then FIB_DATASET_PATH, then the embedded examples",
          "[core][traceset]") {
  const fibkit::testing::EnvGuard env("FIB_DATASET_PATH", "/from/env");
  CHECK(core::dataset_source(std::string("/from/flag")).path == "/from/flag");
  CHECK(core::dataset_source(std::string("/from/flag")).from == "--dataset");
  CHECK(core::dataset_source(std::nullopt).path == "/from/env");
  CHECK(core::dataset_source(std::string()).from == "$FIB_DATASET_PATH"); // empty flag: unset
  ::unsetenv("FIB_DATASET_PATH");
  CHECK(core::dataset_source(std::nullopt).path.empty());
  CHECK(core::dataset_source(std::nullopt).from == "default");
}
