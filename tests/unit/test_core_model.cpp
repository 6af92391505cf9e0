// Tests for the data model (include/fibkit/core/trace/{definition,workload,solution,trace}.hpp):
// the exact messages and JSON paths of validation errors, the light Python checks, workload lax
// forms, the solution rules and the evaluation presence rules. Byte-exact serialisation is covered
// by test_core_golden.cpp.
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/core/trace/trace.hpp"
#include "fibkit/core/trace/workload.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace fibkit;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;

namespace {

/// A valid definition; tests replace pieces of it.
const std::string k_definition = R"({
  "name": "d",
  "op_type": "t",
  "axes": {"M": {"type": "var"}, "N": {"type": "const", "value": 4}, "B": {"description": "b"}},
  "inputs": {"x": {"shape": ["M", "N"], "dtype": "float16"},
             "s": {"shape": null, "dtype": "float32"},
             "z": {"shape": [], "dtype": "int64"}},
  "outputs": {"y": {"shape": ["B", "M"], "dtype": "bfloat16"}},
  "reference": "import torch\n\ndef run(x, s, z):\n    return x\n"
})";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

core::Definition parse_definition_text(const std::string& text) {
  util::JsonParser parser;
  return core::parse_definition(util::parse_json(parser, text, {"d.json", 0}));
}

std::string definition_error(const std::string& text) {
  return error_of([&] { (void)parse_definition_text(text); });
}

core::Trace parse_trace_text(const std::string& text, std::size_t line = 1) {
  util::JsonParser parser;
  return core::parse_trace(util::parse_json(parser, text, {"t.jsonl", line}));
}

std::string trace_error(const std::string& text) {
  return error_of([&] { (void)parse_trace_text(text); });
}

core::Workload parse_workload_text(const std::string& text) {
  util::JsonParser parser;
  return core::parse_workload(util::parse_json(parser, text, {"w.jsonl", 5}));
}

std::string workload_json(const core::Workload& w) {
  util::JsonWriter out;
  core::write_workload(out, w);
  return out.take();
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Definitions

TEST_CASE("definition: the base document parses with axes and tensors in order", "[core][model]") {
  const core::Definition def = parse_definition_text(k_definition);
  CHECK(def.name == "d");
  CHECK(def.op_type == "t");
  REQUIRE(def.axes.size() == 3);
  CHECK(def.axes[0].name == "M");
  CHECK_FALSE(def.axes[0].is_const);
  CHECK(def.axes[1].name == "N");
  CHECK(def.axes[1].is_const);
  CHECK(def.axes[1].value == 4);
  // No "type" and no "value": pydantic falls through to AxisVar.
  CHECK(def.axes[2].name == "B");
  CHECK_FALSE(def.axes[2].is_const);
  CHECK(def.axes[2].description == std::optional<std::string>("b"));
  REQUIRE(def.inputs.size() == 3);
  CHECK(def.inputs[0].name == "x");
  CHECK(def.inputs[1].name == "s");
  CHECK(def.inputs[1].is_scalar());
  CHECK(def.inputs[2].name == "z");
  CHECK_FALSE(def.inputs[2].is_scalar()); // [] is a 0-D tensor, not a scalar
  CHECK(def.inputs[2].shape->empty());
  REQUIRE(def.outputs.size() == 1);
  CHECK(def.outputs[0].dtype == core::DType::bfloat16);
  CHECK(def.tags.empty());
  CHECK(def.constraints.empty());
  CHECK_FALSE(def.description.has_value());
  CHECK(def.find_input("x") == &def.inputs[0]);
  CHECK(def.find_input("y") == nullptr);
  CHECK(def.find_output("y") == &def.outputs[0]);
  CHECK(def.find_axis("N") == &def.axes[1]);
  CHECK(def.find_axis("K") == nullptr);

  // An axis with only a value is const; unknown keys are ignored.
  const core::Definition implicit = parse_definition_text(
      replaced(k_definition, R"("type": "const", "value": 4)", R"("value": 8, "unknown": [1])"));
  CHECK(implicit.axes[1].is_const);
  CHECK(implicit.axes[1].value == 8);
  // Without "type", a value AxisConst refuses makes pydantic's union fall back to AxisVar.
  for (const char* value : {"-1", "\"x\"", "1.5", "null"}) {
    INFO(value);
    const core::Definition var = parse_definition_text(replaced(
        k_definition, R"("type": "const", "value": 4)", std::string(R"("value": )") + value));
    CHECK_FALSE(var.axes[1].is_const);
  }
  const core::Definition lax = parse_definition_text(
      replaced(k_definition, R"("type": "const", "value": 4)", R"("value": "16")"));
  CHECK(lax.axes[1].is_const);
  CHECK(lax.axes[1].value == 16);
}

TEST_CASE("definition: validation errors carry exact JSON paths", "[core][model]") {
  CHECK(definition_error(replaced(k_definition, R"("shape": ["M", "N"], )", "")) ==
        "d.json: $.inputs.x: missing required key \"shape\"");
  CHECK(definition_error(replaced(k_definition, R"(["M", "N"])", R"(["M", "K"])")) ==
        "d.json: $.inputs.x.shape[1]: references undefined axis \"K\"");
  CHECK(definition_error(replaced(k_definition, R"(["B", "M"])", R"(["Q"])")) ==
        "d.json: $.outputs.y.shape[0]: references undefined axis \"Q\"");
  CHECK(definition_error(replaced(k_definition, R"("dtype": "float16")", R"("dtype": "fp8")")) ==
        "d.json: $.inputs.x.dtype: unknown dtype \"fp8\" (expected one of float32, float16, "
        "bfloat16, float8_e4m3fn, float8_e5m2, float4_e2m1, int64, int32, int16, int8, bool)");
  CHECK(definition_error(replaced(k_definition, R"("outputs": {"y")", R"("outputs": {"s")")) ==
        "d.json: $.outputs.s: input and output names must not overlap (\"s\" is both)");
  CHECK(definition_error(replaced(k_definition, "def run(x, s, z)", "def main(x, s, z)")) ==
        "d.json: $.reference: reference is not valid Python: must define a top-level function "
        "named 'run'");
  CHECK(definition_error(replaced(k_definition, R"("value": 4)", R"("value": -1)")) ==
        "d.json: $.axes.N.value: must be >= 0");
  CHECK(definition_error(replaced(k_definition, R"("type": "var")", R"("type": "dynamic")")) ==
        "d.json: $.axes.M.type: must be \"const\" or \"var\", got \"dynamic\"");
  CHECK(definition_error(
            replaced(k_definition, R"("type": "const", "value": 4)", R"("type": "const")")) ==
        "d.json: $.axes.N: missing required key \"value\"");
  CHECK(definition_error(replaced(k_definition, R"("name": "d")", R"("name": "")")) ==
        "d.json: $.name: must be a non-empty string");
  CHECK(definition_error(replaced(k_definition, R"("op_type": "t",)", "")) ==
        "d.json: $: missing required key \"op_type\"");
  CHECK(definition_error(replaced(k_definition, R"("op_type": "t",)",
                                  R"("op_type": "t", "tags": ["ok", ""],)")) ==
        "d.json: $.tags[1]: must be a non-empty string");
  CHECK(definition_error(replaced(k_definition, R"("op_type": "t",)",
                                  R"("op_type": "t", "constraints": ["M > 0", "M % == 0"],)")) ==
        "d.json: $.constraints[1]: not a valid Python expression: unexpected '=='");
  CHECK(definition_error(replaced(k_definition, R"("inputs": {"x")", R"("inputs": {"")")) ==
        "d.json: $.inputs[\"\"]: tensor names must be non-empty");
  CHECK(definition_error(replaced(k_definition, R"(["M", "N"])", R"(["M", ""])")) ==
        "d.json: $.inputs.x.shape[1]: must be a non-empty string");
  CHECK(definition_error(replaced(k_definition, R"(["M", "N"])", R"("M")")) ==
        "d.json: $.inputs.x.shape: expected an array, got string");
  CHECK(definition_error("[1]") == "d.json: $: expected a definition object, got array");
  CHECK(definition_error(replaced(k_definition, "def run(x, s, z):", "def run(x, s, z:")) ==
        "d.json: $.reference: reference is not valid Python: '(' was never closed");
}

TEST_CASE("definition: a truncated file names the file", "[core][model]") {
  TempDir tmp;
  const fs::path path = tmp.path() / "definitions" / "t" / "d.json";
  util::write_file_atomic(path, k_definition.substr(0, k_definition.size() / 2));
  CHECK_THAT(error_of([&] { (void)core::load_definition(path, "definitions/t/d.json"); }),
             Catch::StartsWith("definitions/t/d.json:") && Catch::Contains(": invalid JSON: "));
  util::write_file_atomic(path, k_definition);
  CHECK(core::load_definition(path, "definitions/t/d.json").name == "d");
  CHECK_THAT(error_of([&] { (void)core::load_definition(tmp.path() / "nope.json", "nope.json"); }),
             Catch::Contains("nope.json: cannot open"));
}

TEST_CASE("definition: var_axes and concrete_shape", "[core][model]") {
  const core::Definition def = parse_definition_text(k_definition);
  CHECK(def.var_axes() == std::vector<std::string>{"M", "B"}); // declaration order
  const std::map<std::string, std::int64_t> values{{"M", 3}, {"B", 2}};
  CHECK(def.concrete_shape(*def.find_input("x"), values) == std::vector<std::int64_t>{3, 4});
  CHECK(def.concrete_shape(*def.find_output("y"), values) == std::vector<std::int64_t>{2, 3});
  CHECK(def.concrete_shape(*def.find_input("s"), values).empty()); // scalar
  CHECK(def.concrete_shape(*def.find_input("z"), values).empty()); // 0-D
  // A const axis takes the definition's value even when a value is given for it.
  CHECK(def.concrete_shape(*def.find_input("x"), {{"M", 1}, {"N", 99}}) ==
        std::vector<std::int64_t>{1, 4});
  CHECK(error_of([&] {
          (void)def.concrete_shape(*def.find_output("y"), {{"M", 3}});
        }) == "definition \"d\": no value for axis \"B\" of tensor \"y\"");
}

TEST_CASE("check_python_source: strings, comments and brackets", "[core][model]") {
  using core::check_python_source;
  CHECK(check_python_source("def run(x):\n    return x\n", true).empty());
  CHECK(check_python_source("def  run (x):\n    pass\n", true).empty());
  CHECK(check_python_source("def\trun\t(x):\n    pass\n", true).empty());
  CHECK(check_python_source("import torch\n@torch.no_grad()\ndef run(x):\n  pass", true).empty());
  CHECK(check_python_source("x = 1\n", false).empty());
  CHECK(check_python_source("", false).empty());
  // Brackets inside strings and comments do not count.
  CHECK(check_python_source("s = \"a(b[\"\nt = 'c}'\n# ) ] }\nu = \"#(\"\n", false).empty());
  CHECK(check_python_source("s = 'it\\'s ('\n", false).empty());
  CHECK(check_python_source("s = \"\"\"doc ( \"quoted\" 'x'\nline ] two\n\"\"\"\n", false).empty());
  CHECK(check_python_source("s = '''a \" b\n)'''\n", false).empty());
  CHECK(check_python_source("x = (1,\n     [2, {3: 4}])\n", false).empty());
  // Errors.
  CHECK(check_python_source("x = (1\n", false) == "'(' was never closed");
  CHECK(check_python_source("x = [1, (2]\n", false) == "line 1: unmatched ']'");
  CHECK(check_python_source("a = 1\nb = 2\nc = 3)\n", false) == "line 3: unmatched ')'");
  CHECK(check_python_source("s = \"abc\nt = 1\n", false) == "line 1: unterminated string literal");
  CHECK(check_python_source("x = 1\ns = \"\"\"never closed\n\n", false) ==
        "line 2: unterminated string literal");
  // Lines inside a string are counted, continued ones too; an unterminated literal is reported
  // at the line where it starts, as Python does.
  CHECK(check_python_source("s = 'a\\\nb'\n)", false) == "line 3: unmatched ')'");
  CHECK(check_python_source("s = \"\"\"a\\\nb\n\n", false) ==
        "line 1: unterminated string literal");
  CHECK(check_python_source("s = \"\"\"a\nb\n\"\"\"\n)", false) == "line 4: unmatched ')'");
  // `def run` must be a top-level function named exactly run.
  CHECK(check_python_source("def runner(x):\n  pass\n", true) ==
        "must define a top-level function named 'run'");
  CHECK(check_python_source("class K:\n    def run(self):\n        pass\n", true) ==
        "must define a top-level function named 'run'");
  CHECK(check_python_source("\"\"\"\ndef run(x):\n\"\"\"\n", true) ==
        "must define a top-level function named 'run'");
  CHECK(check_python_source("# def run(x):\n", true) ==
        "must define a top-level function named 'run'");
  CHECK(check_python_source("f(\ndef run(x): pass)\n", true) ==
        "must define a top-level function named 'run'");
}

TEST_CASE("check_python_expression: valid and invalid constraints", "[core][model]") {
  using core::check_python_expression;
  for (const char* ok :
       {"M % 8 == 0", "M%8==0", "M > 0 and N <= 4096", "not (M == 1)", "len(x) == 3", "f()",
        "a[0] + b[-1]", "M // 2 >= 1", "-M < 0", "M ** 2 != N", "'s' in names", "x is not None",
        "[1, 2]", "a.b.c > 1.5", "f(x=1)", "(M)", "M if M > 0 else 1", "h\xc3\xa9 > 0",
        // Slices, unpacking, tuples, comments, "not in", ".5", walrus and Ellipsis (these were
        // refused before; ast.parse(mode="eval") takes them all).
        "x.shape[1:] == y.shape[1:]", "x[:2]", "x[::2]", "x[:, 0]", "x[1:, :2]", "f(*args)",
        "f(a, **kw)", "[*a, *b]", "{**a}", "a,", "a, b", "M % 8 == 0  # a comment", "a not in b",
        ".5 < M", "(a := 1)", "x[...]", "lambda x: x", "[v for v in x if v]"}) {
    INFO(ok);
    CHECK(check_python_expression(ok).empty());
  }
  CHECK(check_python_expression("M % == 0") == "unexpected '=='");
  CHECK(check_python_expression("a +") == "expression ends with '+'");
  CHECK(check_python_expression("") == "empty expression");
  CHECK(check_python_expression("   ") == "empty expression");
  CHECK(check_python_expression("and M") == "unexpected \"and\"");
  CHECK(check_python_expression("M >= 0 and") == "expression ends with 'and'");
  CHECK(check_python_expression("M and not") == "expression ends with 'not'");
  CHECK(check_python_expression("(M") == "'(' was never closed");
  CHECK(check_python_expression("f(M + )") == "unexpected ')'");
  CHECK(check_python_expression("M $ 2") == "unexpected character '$'");
  CHECK(check_python_expression("* M") == "unexpected '*'");
  CHECK(check_python_expression("M == 'x") == "line 1: unterminated string literal");
  CHECK(check_python_expression("*a") == "unexpected '*'");
  CHECK(check_python_expression("x[,]") == "unexpected ','");
  CHECK(check_python_expression("f(a,,b)") == "unexpected ','");
  CHECK(check_python_expression("in a") == "unexpected \"in\"");
}

// ---------------------------------------------------------------------------------------------
// Workloads

TEST_CASE("workload: inputs the workload omits are not found (they are random)", "[core][model]") {
  const core::Workload w =
      parse_workload_text(R"({"axes":{"M":4,"B":2},"inputs":{"x":{"type":"random"}},"uuid":"u1"})");
  REQUIRE(w.find_input("x") != nullptr);
  CHECK(w.find_input("x")->kind == core::InputSpec::Kind::random);
  CHECK(w.find_input("s") == nullptr);
  REQUIRE(w.find_axis("B") != nullptr);
  CHECK(*w.find_axis("B") == 2);
  CHECK(w.find_axis("N") == nullptr);
  CHECK(w.axes == std::vector<std::pair<std::string, std::int64_t>>{{"M", 4}, {"B", 2}});

  const core::Workload empty = parse_workload_text(R"({"axes":{},"inputs":{},"uuid":"u2"})");
  CHECK(empty.axes.empty());
  CHECK(empty.find_input("x") == nullptr);
}

TEST_CASE("workload: scalar kinds int/float/bool survive a write", "[core][model]") {
  const core::Workload w = parse_workload_text(
      R"({"axes":{"M":1},"inputs":{"i":{"type":"scalar","value":192},)"
      R"("f":{"type":"scalar","value":2.5},"w":{"type":"scalar","value":3.0},)"
      R"("b":{"type":"scalar","value":false},"e":{"type":"scalar","value":1e-7},)"
      R"("n":{"type":"scalar","value":-5}},"uuid":"u"})");
  using K = core::ScalarValue::Kind;
  CHECK(w.find_input("i")->value.kind == K::integer);
  CHECK(w.find_input("i")->value.integer == 192);
  CHECK(w.find_input("f")->value.kind == K::floating);
  CHECK(w.find_input("f")->value.floating == 2.5);
  CHECK(w.find_input("w")->value.kind == K::floating); // 3.0 stays a float
  CHECK(w.find_input("b")->value.kind == K::boolean);
  CHECK(w.find_input("b")->value.as_double() == 0.0);
  CHECK(w.find_input("n")->value.as_double() == -5.0);
  CHECK(workload_json(w) ==
        R"({"axes":{"M":1},"inputs":{"i":{"type":"scalar","value":192},)"
        R"("f":{"type":"scalar","value":2.5},"w":{"type":"scalar","value":3.0},)"
        R"("b":{"type":"scalar","value":false},"e":{"type":"scalar","value":1e-7},)"
        R"("n":{"type":"scalar","value":-5}},"uuid":"u"})");
}

TEST_CASE("workload: lax forms (untyped inputs, string scalars, lax axes)", "[core][model]") {
  const core::Workload w = parse_workload_text(
      R"({"axes":{"A":"8","B":8.0,"C":true},"inputs":{"r":{},"v":{"value":1.5},)"
      R"("p":{"path":"blob/x.safetensors","tensor_key":"k"},"si":{"type":"scalar","value":"7"},)"
      R"("sf":{"type":"scalar","value":"1.5"},"sb":{"type":"scalar","value":"true"}},)"
      R"("uuid":"u","extra":1})");
  CHECK(w.axes == std::vector<std::pair<std::string, std::int64_t>>{{"A", 8}, {"B", 8}, {"C", 1}});
  using IK = core::InputSpec::Kind;
  using SK = core::ScalarValue::Kind;
  CHECK(w.find_input("r")->kind == IK::random);
  CHECK(w.find_input("v")->kind == IK::scalar);
  CHECK(w.find_input("v")->value.floating == 1.5);
  CHECK(w.find_input("p")->kind == IK::safetensors);
  CHECK(w.find_input("p")->path == "blob/x.safetensors");
  CHECK(w.find_input("p")->tensor_key == "k");
  CHECK(w.find_input("si")->value.kind == SK::integer);
  CHECK(w.find_input("si")->value.integer == 7);
  CHECK(w.find_input("sf")->value.kind == SK::floating);
  CHECK(w.find_input("sb")->value.kind == SK::boolean);
  CHECK(w.find_input("sb")->value.boolean);
  CHECK(workload_json(w) ==
        R"({"axes":{"A":8,"B":8,"C":1},"inputs":{"r":{"type":"random"},)"
        R"("v":{"type":"scalar","value":1.5},)"
        R"("p":{"type":"safetensors","path":"blob/x.safetensors","tensor_key":"k"},)"
        R"("si":{"type":"scalar","value":7},"sf":{"type":"scalar","value":1.5},)"
        R"("sb":{"type":"scalar","value":true}},"uuid":"u"})");
}

TEST_CASE("workload: non-finite scalars load and are written as null, like pydantic",
          "[core][model]") {
  // pydantic accepts inf/NaN for `Union[int, float, bool]` (strings and bare tokens) and writes
  // them with its default ser_json_inf_nan="null"; fibkit used to throw std::invalid_argument.
  const core::Workload w = parse_workload_text(
      R"({"axes":{},"inputs":{"a":{"type":"scalar","value":"inf"},)"
      R"("b":{"type":"scalar","value":"-Infinity"},"c":{"type":"scalar","value":NaN},)"
      R"("d":{"type":"scalar","value":-Infinity},"e":{"type":"scalar","value":"1e400"}},"uuid":"u"})");
  using K = core::ScalarValue::Kind;
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    INFO(name);
    CHECK(w.find_input(name)->value.kind == K::floating);
    CHECK_FALSE(std::isfinite(w.find_input(name)->value.floating));
  }
  CHECK(std::isnan(w.find_input("c")->value.floating));
  CHECK(w.find_input("d")->value.floating < 0);
  CHECK(workload_json(w) ==
        R"({"axes":{},"inputs":{"a":{"type":"scalar","value":null},)"
        R"("b":{"type":"scalar","value":null},"c":{"type":"scalar","value":null},)"
        R"("d":{"type":"scalar","value":null},"e":{"type":"scalar","value":null}},"uuid":"u"})");
}

TEST_CASE("workload: errors carry the line and JSON path", "[core][model]") {
  const auto err = [](const std::string& text) {
    return error_of([&] { (void)parse_workload_text(text); });
  };
  CHECK(err(R"({"axes":{"M":-1},"inputs":{},"uuid":"u"})") ==
        "w.jsonl:5: $.axes.M: axis value must be >= 0, got -1");
  CHECK(err(R"({"axes":{"M":1.5},"inputs":{},"uuid":"u"})") ==
        "w.jsonl:5: $.axes.M: expected an integer, got the fraction 1.5");
  CHECK(err(R"({"axes":{},"inputs":{"x":{"type":"zeros"}},"uuid":"u"})") ==
        "w.jsonl:5: $.inputs.x.type: unknown input type \"zeros\" (expected random, scalar or "
        "safetensors)");
  CHECK(err(R"({"axes":{},"inputs":{"x":{"type":"scalar"}},"uuid":"u"})") ==
        "w.jsonl:5: $.inputs.x: missing required key \"value\"");
  CHECK(err(R"({"axes":{},"inputs":{"x":{"type":"scalar","value":null}},"uuid":"u"})") ==
        "w.jsonl:5: $.inputs.x.value: expected an int, float or bool, got null");
  CHECK(err(R"({"axes":{},"inputs":{"x":{"type":"scalar","value":"abc"}},"uuid":"u"})") ==
        "w.jsonl:5: $.inputs.x.value: expected an int, float or bool, got the string \"abc\"");
  CHECK(err(R"({"axes":{},"inputs":{"x":{"type":"safetensors","path":"p"}},"uuid":"u"})") ==
        "w.jsonl:5: $.inputs.x: missing required key \"tensor_key\"");
  CHECK(err(R"({"axes":{},"inputs":{"x":3},"uuid":"u"})") ==
        "w.jsonl:5: $.inputs.x: expected an input spec object, got integer");
  CHECK(err(R"({"axes":{},"inputs":{}})") == "w.jsonl:5: $: missing required key \"uuid\"");
  CHECK(err(R"({"axes":{},"inputs":{},"uuid":""})") ==
        "w.jsonl:5: $.uuid: must be a non-empty string");
  CHECK(err(R"([])") == "w.jsonl:5: $: expected a workload object, got array");
}

// ---------------------------------------------------------------------------------------------
// Solutions

namespace {

core::Solution valid_solution() {
  core::Solution s;
  s.name = "sol";
  s.definition = "d";
  s.author = "alice";
  s.spec.language = "cuda";
  s.spec.target_hardware = {"B200"};
  s.spec.entry_point = "src/kernel.cu::run";
  s.spec.dependencies = {"torch"};
  s.sources = {{"src/kernel.cu", "void run() {}"}, {"src/util.h", "#pragma once"}};
  return s;
}

} // namespace

TEST_CASE("validate_solution: every rule with its message", "[core][model]") {
  using Mutate = std::function<void(core::Solution&)>;
  CHECK(core::validate_solution(valid_solution()).empty());
  const std::vector<std::pair<Mutate, std::string>> cases{
      {[](core::Solution& s) { s.name.clear(); }, "$.name: must be a non-empty string"},
      {[](core::Solution& s) { s.definition.clear(); }, "$.definition: must be a non-empty string"},
      {[](core::Solution& s) { s.author.clear(); }, "$.author: must be a non-empty string"},
      {[](core::Solution& s) { s.spec.language = "rust"; },
       "$.spec.language: unknown language \"rust\" (expected python, triton, cpp, cuda or "
       "tilelang)"},
      {[](core::Solution& s) { s.spec.language = "CUDA"; },
       "$.spec.language: unknown language \"CUDA\" (expected python, triton, cpp, cuda or "
       "tilelang)"},
      {[](core::Solution& s) { s.spec.target_hardware.clear(); },
       "$.spec.target_hardware: must list at least one entry"},
      {[](core::Solution& s) { s.spec.entry_point.clear(); },
       "$.spec.entry_point: must be a non-empty string"},
      {[](core::Solution& s) { s.spec.entry_point = "kernel"; },
       "$.spec.entry_point: \"kernel\" must have the form \"<file_path>::<function_name>\""},
      {[](core::Solution& s) { s.spec.entry_point = "a.cu::b::c"; },
       "$.spec.entry_point: \"a.cu::b::c\" must have the form \"<file_path>::<function_name>\""},
      {[](core::Solution& s) {
         s.spec.dependencies = {"torch", ""};
       },
       "$.spec.dependencies[1]: must be a non-empty string"},
      {[](core::Solution& s) { s.spec.binding = "pybind"; },
       "$.spec.binding: unknown binding \"pybind\" (expected tvm-ffi, torch or null)"},
      {[](core::Solution& s) { s.sources.clear(); },
       "$.sources: must hold at least one source file"},
      {[](core::Solution& s) { s.sources[1].path.clear(); },
       "$.sources[1].path: must be a non-empty string"},
      {[](core::Solution& s) { s.sources[1].content.clear(); },
       "$.sources[1].content: source \"src/util.h\" is empty"},
      {[](core::Solution& s) { s.sources[1].path = "/abs/util.h"; },
       "$.sources[1].path: absolute path not allowed: /abs/util.h"},
      {[](core::Solution& s) { s.sources[1].path = "../util.h"; },
       "$.sources[1].path: parent directory traversal not allowed: ../util.h"},
      {[](core::Solution& s) { s.sources[1].path = "src/../util.h"; },
       "$.sources[1].path: parent directory traversal not allowed: src/../util.h"},
      {[](core::Solution& s) { s.sources[1].path = "src/.."; },
       "$.sources[1].path: parent directory traversal not allowed: src/.."},
      {[](core::Solution& s) { s.sources[1].path = "src/kernel.cu"; },
       "$.sources[1].path: duplicate source path \"src/kernel.cu\""},
      {[](core::Solution& s) { s.spec.entry_point = "kernel.cu::run"; },
       "$.spec.entry_point: entry source file \"kernel.cu\" not found in sources"},
      {[](core::Solution& s) { s.spec.entry_point = "./src/kernel.cu::run"; },
       "$.spec.entry_point: entry source file \"./src/kernel.cu\" not found in sources"},
  };
  for (const auto& [mutate, expected] : cases) {
    core::Solution s = valid_solution();
    mutate(s);
    INFO(expected);
    CHECK(core::validate_solution(s) == expected);
  }
  // Accepted: the bindings, names that only look like a parent, an empty symbol.
  for (const Mutate& ok : std::vector<Mutate>{
           [](core::Solution& s) { s.spec.binding = "torch"; },
           [](core::Solution& s) { s.spec.binding = "tvm-ffi"; },
           [](core::Solution& s) { s.sources[1].path = "src/..util.h"; },
           [](core::Solution& s) { s.sources[1].path = "...h"; },
           [](core::Solution& s) { s.sources[1].path = "..\\util.h"; },
           [](core::Solution& s) { s.spec.entry_point = "src/kernel.cu::"; },
           [](core::Solution& s) { s.spec.language = "python"; },
       }) {
    core::Solution s = valid_solution();
    ok(s);
    CHECK(core::validate_solution(s).empty());
  }
}

TEST_CASE("solution: entry parts, parse errors with the file name", "[core][model]") {
  const core::Solution s = valid_solution();
  CHECK(s.entry_file() == "src/kernel.cu");
  CHECK(s.entry_symbol() == "run");

  const auto parse = [](const std::string& text) {
    util::JsonParser parser;
    return core::parse_solution(util::parse_json(parser, text, {"sol.json", 0}));
  };
  const std::string base = R"({"name":"n","definition":"d","author":"a","spec":{"language":"cuda",)"
                           R"("target_hardware":["B200"],"entry_point":"k.cu::run"},)"
                           R"("sources":[{"path":"k.cu","content":"x"}]})";
  const core::Solution parsed = parse(base);
  CHECK(parsed.spec.destination_passing_style);
  CHECK_FALSE(parsed.spec.binding.has_value());
  CHECK(parsed.spec.dependencies.empty());
  CHECK_FALSE(parsed.description.has_value());
  // Validation errors (from validate_solution) are prefixed with the file.
  CHECK(error_of([&] { (void)parse(replaced(base, "k.cu::run", "k.cu")); }) ==
        "sol.json: $.spec.entry_point: \"k.cu\" must have the form "
        "\"<file_path>::<function_name>\"");
  // Type errors carry the path of the value.
  CHECK(error_of([&] { (void)parse(replaced(base, R"("language":"cuda")", R"("language":3)")); }) ==
        "sol.json: $.spec.language: expected a string, got integer");
  CHECK(error_of([&] { (void)parse(replaced(base, R"("content":"x")", R"("content":1)")); }) ==
        "sol.json: $.sources[0].content: expected a string, got integer");
  CHECK(error_of([&] { (void)parse(replaced(base, R"([{"path")", R"([7,{"path")")); }) ==
        "sol.json: $.sources[0]: expected a source file object, got integer");
  // The starter kit's solution.json: indent=2.
  const std::string json = core::solution_to_json(parsed);
  CHECK_THAT(json, Catch::StartsWith("{\n  \"name\": \"n\",\n  \"definition\": \"d\","));
  CHECK_THAT(json, Catch::EndsWith("\n  \"description\": null\n}"));
}

// ---------------------------------------------------------------------------------------------
// Traces and evaluations

namespace {

const std::string k_trace_head =
    R"({"definition":"d","workload":{"axes":{"M":4},"inputs":{},"uuid":"u"},"solution":"s",)";

std::string evaluation_json(const std::string& status, bool correctness, bool performance) {
  std::string text =
      R"({"status":")" + status +
      R"(","environment":{"hardware":"NVIDIA H100"},"timestamp":"2026-01-01T00:00:00")";
  if (correctness) {
    text += R"(,"correctness":{"max_relative_error":0.5,"max_absolute_error":1.0})";
  }
  if (performance) {
    text += R"(,"performance":{"latency_ms":1.0,"reference_latency_ms":2.0,"speedup_factor":2.0})";
  }
  return text + "}";
}

} // namespace

TEST_CASE("evaluation: presence rules of correctness and performance per status", "[core][model]") {
  const std::vector<std::string> statuses{
      "PASSED",        "INCORRECT_SHAPE", "INCORRECT_NUMERICAL", "INCORRECT_DTYPE", "RUNTIME_ERROR",
      "COMPILE_ERROR", "TIMEOUT"};
  for (const std::string& status : statuses) {
    const bool needs_correctness = status == "PASSED" || status == "INCORRECT_NUMERICAL";
    const bool needs_performance = status == "PASSED";
    for (bool correctness : {false, true}) {
      for (bool performance : {false, true}) {
        std::string expected;
        if (correctness != needs_correctness) {
          expected = std::string("evaluation must ") + (needs_correctness ? "" : "not ") +
                     "include correctness when status is " + status;
        } else if (performance != needs_performance) {
          expected = std::string("evaluation must ") + (needs_performance ? "" : "not ") +
                     "include performance when status is " + status;
        }
        INFO(status << " correctness=" << correctness << " performance=" << performance);
        const std::string line = k_trace_head + R"("evaluation":)" +
                                 evaluation_json(status, correctness, performance) + "}";
        if (expected.empty()) {
          const core::Trace t = parse_trace_text(line);
          REQUIRE(t.evaluation.has_value());
          CHECK(core::status_name(t.evaluation->status) == status);
          CHECK(core::check_evaluation_presence(*t.evaluation).empty());
          // What parses writes back and parses again to the same line.
          const std::string written = core::trace_to_json_line(t);
          CHECK(core::trace_to_json_line(parse_trace_text(written)) == written);
        } else {
          CHECK(trace_error(line) == "t.jsonl:1: $.evaluation: " + expected);
        }
      }
    }
  }
  CHECK(core::parse_status("passed") == std::nullopt);
  CHECK(core::parse_status("TIMEOUT") == core::EvaluationStatus::timeout);
}

TEST_CASE("evaluation: numeric field rules and defaults", "[core][model]") {
  const auto line = [](const std::string& correctness, const std::string& performance) {
    return k_trace_head +
           R"("evaluation":{"status":"PASSED","environment":{"hardware":"h"},"timestamp":"ts",)" +
           R"("correctness":)" + correctness + R"(,"performance":)" + performance + "}}";
  };
  const std::string perf = R"({"latency_ms":1,"reference_latency_ms":2,"speedup_factor":2})";
  CHECK(trace_error(line(R"({"max_relative_error":-0.5})", perf)) ==
        "t.jsonl:1: $.evaluation.correctness.max_relative_error: must be non-negative or NaN");
  CHECK(trace_error(line(R"({"max_absolute_error":"-Infinity"})", perf)) ==
        "t.jsonl:1: $.evaluation.correctness.max_absolute_error: must be non-negative or NaN");
  CHECK(trace_error(line(R"({"max_absolute_error":"abc"})", perf)) ==
        "t.jsonl:1: $.evaluation.correctness.max_absolute_error: expected a number, got the "
        "string \"abc\"");
  CHECK(trace_error(line("{}", R"({"latency_ms":-1})")) ==
        "t.jsonl:1: $.evaluation.performance.latency_ms: must be >= 0, got -1");
  CHECK(trace_error(line("{}", R"({"speedup_factor":NaN})")) ==
        "t.jsonl:1: $.evaluation.performance.speedup_factor: must be >= 0, got nan");
  CHECK(trace_error(line("[]", perf)) ==
        "t.jsonl:1: $.evaluation.correctness: expected an object, got array");
  CHECK(trace_error(line(R"({"extra":[1]})", perf)) ==
        "t.jsonl:1: $.evaluation.correctness.extra: expected an object or null, got array");

  // Lax floats: booleans are 1.0 / 0.0; an infinite timing loads and is written as null.
  const core::Trace lax = parse_trace_text(
      line(R"({"max_relative_error":true,"max_absolute_error":false})",
           R"({"latency_ms":Infinity,"reference_latency_ms":"inf","speedup_factor":true})"));
  CHECK(lax.evaluation->correctness->max_relative_error == 1.0);
  CHECK(lax.evaluation->correctness->max_absolute_error == 0.0);
  CHECK(std::isinf(lax.evaluation->performance->latency_ms));
  CHECK(lax.evaluation->performance->speedup_factor == 1.0);
  CHECK_THAT(core::trace_to_json_line(lax),
             Catch::EndsWith(R"("correctness":{"max_relative_error":1.0,"max_absolute_error":0.0,)"
                             R"("extra":null},"performance":{"latency_ms":null,)"
                             R"("reference_latency_ms":null,"speedup_factor":1.0}}})"));

  // Defaults, inf/NaN spellings, integers as floats, extra kept (non-finite -> null).
  const core::Trace t = parse_trace_text(line(
      R"({"max_relative_error":Infinity,"max_absolute_error":"nan","extra":{"k":[1,NaN],"s":"x"}})",
      R"({"latency_ms":3})"));
  REQUIRE(t.evaluation->correctness.has_value());
  CHECK(std::isinf(t.evaluation->correctness->max_relative_error));
  CHECK(std::isnan(t.evaluation->correctness->max_absolute_error));
  CHECK(t.evaluation->correctness->extra_json == R"({"k":[1,null],"s":"x"})");
  CHECK(t.evaluation->performance->latency_ms == 3.0);
  CHECK(t.evaluation->performance->reference_latency_ms == 0.0);
  CHECK(t.evaluation->log.empty());
  CHECK(t.evaluation->environment.libs.empty());
  CHECK(
      core::trace_to_json_line(t) ==
      k_trace_head +
          R"("evaluation":{"status":"PASSED","environment":{"hardware":"h","libs":{}},)"
          R"("timestamp":"ts","log":"","correctness":{"max_relative_error":"Infinity",)"
          R"("max_absolute_error":"NaN","extra":{"k":[1,null],"s":"x"}},)"
          R"("performance":{"latency_ms":3.0,"reference_latency_ms":0.0,"speedup_factor":0.0}}})");
}

TEST_CASE("trace: required fields, workload-only detection and other errors", "[core][model]") {
  const core::Trace w =
      parse_trace_text(R"({"definition":"d","workload":{"axes":{},"inputs":{},"uuid":"u"}})");
  CHECK(w.is_workload_trace());
  CHECK(core::trace_to_json_line(w) ==
        R"({"definition":"d","workload":{"axes":{},"inputs":{},"uuid":"u"},"solution":null,)"
        R"("evaluation":null})");
  const core::Trace sol_only = parse_trace_text(
      R"({"definition":"d","workload":{"axes":{},"inputs":{},"uuid":"u"},"solution":"s"})");
  CHECK_FALSE(sol_only.is_workload_trace());

  CHECK(trace_error(R"({"workload":{"axes":{},"inputs":{},"uuid":"u"}})") ==
        "t.jsonl:1: $: missing required key \"definition\"");
  CHECK(trace_error(R"({"definition":"","workload":{}})") ==
        "t.jsonl:1: $.definition: must be a non-empty string");
  CHECK(trace_error(R"({"definition":"d","workload":{"axes":{"M":"x"},"inputs":{},"uuid":"u"}})") ==
        "t.jsonl:1: $.workload.axes.M: expected an integer, got the string \"x\"");
  CHECK(trace_error(k_trace_head + R"("evaluation":{"status":"FAILED"}})") ==
        "t.jsonl:1: $.evaluation.status: unknown status \"FAILED\" (expected PASSED, "
        "INCORRECT_SHAPE, INCORRECT_NUMERICAL, INCORRECT_DTYPE, RUNTIME_ERROR, COMPILE_ERROR or "
        "TIMEOUT)");
  CHECK(trace_error(k_trace_head + R"("evaluation":{"status":"TIMEOUT","timestamp":"t"}})") ==
        "t.jsonl:1: $.evaluation: missing required key \"environment\"");
  CHECK(trace_error(k_trace_head +
                    R"("evaluation":{"status":"TIMEOUT","environment":{"hardware":""},)"
                    R"("timestamp":"t"}})") ==
        "t.jsonl:1: $.evaluation.environment.hardware: must be a non-empty string");
  CHECK(trace_error(k_trace_head +
                    R"("evaluation":{"status":"TIMEOUT","environment":{"hardware":"h",)"
                    R"("libs":{"torch":2}},"timestamp":"t"}})") ==
        "t.jsonl:1: $.evaluation.environment.libs.torch: expected a string, got integer");
  CHECK(trace_error("7") == "t.jsonl:1: $: expected a trace object, got integer");
}

TEST_CASE("iso_timestamp_now looks like Python's datetime.now().isoformat()", "[core][model]") {
  const std::regex iso(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?$)");
  for (int i = 0; i < 50; ++i) {
    const std::string ts = core::iso_timestamp_now();
    INFO(ts);
    REQUIRE(std::regex_match(ts, iso));
  }
  // Local time, close to now.
  const std::string ts = core::iso_timestamp_now();
  std::tm parsed{};
  REQUIRE(::strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &parsed) != nullptr);
  parsed.tm_isdst = -1;
  const std::time_t then = std::mktime(&parsed);
  const std::time_t now = std::time(nullptr);
  CHECK(std::abs(static_cast<long>(now - then)) <= 2);
}
