// Tests for config.toml (include/fibkit/core/project/config.hpp): parsing, the launch plan checks
// and packing, including every example in docs/config.md.
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/util/error.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace fs = std::filesystem;

using fibkit::core::check_launch_plan;
using fibkit::core::Definition;
using fibkit::core::Expr;
using fibkit::core::ExprError;
using fibkit::core::LaunchArg;
using fibkit::core::pack_solution;
using fibkit::core::parse_config;
using fibkit::core::ProjectConfig;
using fibkit::core::Solution;
using fibkit::core::SolutionConfig;
using fibkit::core::TraceSet;
using fibkit::core::WorkspaceConfig;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;

namespace {

constexpr const char* k_moe = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048";
constexpr const char* k_gdn_decode = "gdn_decode_qk4_v8_d128_k_last";

/// Writes a small non-empty source file to each of `rels` below `dir`.
void write_sources(const TempDir& dir, const std::vector<std::string>& rels) {
  for (const std::string& rel : rels) {
    dir.write(rel, "// " + rel + "\n");
  }
}

/// `text` with every occurrence of "<dir>/" removed.
std::string relative(const TempDir& dir, std::string text) {
  const std::string prefix = dir.path().string() + "/";
  for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos)) {
    text.erase(pos, prefix.size());
  }
  return text;
}

/// A project directory that does not exist (for configs whose sources are never read).
const fs::path k_no_dir = "/nonexistent/fibkit-project";

ProjectConfig parse(std::string_view text, const fs::path& dir = k_no_dir) {
  return parse_config(text, "config.toml", dir);
}

/// The message of the error parsing `text` throws, or "no error".
std::string parse_error(std::string_view text, const fs::path& dir = k_no_dir) {
  return error_of([&] { (void)parse(text, dir); });
}

const TraceSet& examples() {
  static const TraceSet set = fibkit::core::load_embedded_examples();
  return set;
}

const Definition& definition(std::string_view name) {
  const Definition* def = examples().find_definition(name);
  REQUIRE(def != nullptr);
  return *def;
}

/// The message of the error that parsing `text` or checking its only solution's launch plan
/// against the embedded definition throws, or "no error".
std::string plan_error(std::string_view text) {
  return error_of([&] {
    const ProjectConfig config = parse(text);
    const SolutionConfig& s = config.select("");
    check_launch_plan(s, definition(s.definition));
  });
}

/// The message of the error that packing the only solution of `text` in `dir` throws, with the
/// directory removed from it, or "no error".
std::string pack_error(std::string_view text, const TempDir& dir) {
  return relative(dir, error_of([&] { (void)pack_solution(parse(text, dir.path()).select("")); }));
}

std::vector<std::string> packed_paths(const Solution& solution) {
  std::vector<std::string> paths;
  for (const auto& source : solution.sources) {
    paths.push_back(source.path);
  }
  return paths;
}

/// The packed source paths of the only solution of `text` in `dir`.
std::vector<std::string> pack_paths(std::string_view text, const TempDir& dir) {
  return packed_paths(pack_solution(parse(text, dir.path()).select("")));
}

const char* const k_starter_kit = R"toml([solution]
name = "my-team-moe-v1"
definition = "moe_fp8_block_scale_ds_routing_topk8_ng8_kg4_e32_h7168_i2048"
author = "my-team"

[build]
language = "cuda"
entry_point = "kernel.cu::run"
destination_passing_style = true
)toml";

// A GDN decode solution with a complete launch plan; tests append to it or change it.
const char* const k_gdn_plan = R"toml([solution]
name = "s"
definition = "gdn_decode_qk4_v8_d128_k_last"
author = "a"

[[solution.launch]]
kernel = "k"
grid = ["batch_size"]
block = [128]
args = ["q", "k", "v", "state", "A_log", "a", "dt_bias", "b", "scale", "output", "new_state"]
)toml";

const char* const k_allowed_build =
    "(allowed here: language, entry_point, destination_passing_style, target_hardware, "
    "dependencies, binding, arch, options, defines, include_dirs, embed_cubin)";

} // namespace

// ---- the starter kit's file ---------------------------------------------------------------------

TEST_CASE("config: the starter kit's config.toml parses unchanged", "[config]") {
  const ProjectConfig config = parse(k_starter_kit);
  REQUIRE(config.solutions.size() == 1);
  const SolutionConfig& s = config.solutions[0];
  CHECK(s.name == "my-team-moe-v1");
  CHECK(s.definition == k_moe);
  CHECK(s.track == "fused_moe");
  CHECK(s.author == "my-team");
  CHECK_FALSE(s.description.has_value());
  CHECK(s.where == "config.toml:1");
  CHECK(s.build.language == "cuda");
  CHECK(s.build.entry_point == "kernel.cu::run");
  CHECK(s.build.destination_passing_style);
  CHECK(s.build.target_hardware == std::vector<std::string>{"cuda"});
  CHECK(s.build.dependencies.empty());
  CHECK_FALSE(s.build.binding.has_value());
  CHECK(s.build.arch.empty());
  CHECK(s.build.options.empty());
  CHECK(s.build.defines.empty());
  CHECK(s.sources.empty());
  CHECK(s.workspaces.empty());
  CHECK(s.launches.empty());
  CHECK(s.source_dir == k_no_dir / "kernels" / "fused_moe");
}

TEST_CASE("config: a starter-kit project packs its solution/cuda/ files", "[config]") {
  TempDir dir;
  write_sources(dir, {"solution/cuda/kernel.cu", "solution/cuda/binding.py",
                      "solution/cuda/sub/helper.cu", "solution/triton/kernel.py"});
  dir.write("solution/cuda/README.md", "# notes\n");
  const ProjectConfig config = parse(k_starter_kit, dir.path());
  const SolutionConfig& s = config.solutions.at(0);
  CHECK(s.source_dir == dir.path() / "solution" / "cuda");

  const Solution packed = pack_solution(s);
  CHECK(packed_paths(packed) == std::vector<std::string>{"binding.py", "kernel.cu"});
  CHECK(packed.sources.at(1).content == "// solution/cuda/kernel.cu\n");
  CHECK(packed.name == "my-team-moe-v1");
  CHECK(packed.definition == k_moe);
  CHECK(packed.author == "my-team");
  CHECK(packed.description == std::optional<std::string>(""));
  CHECK(packed.spec.language == "cuda");
  CHECK(packed.spec.entry_point == "kernel.cu::run");
  CHECK(packed.spec.target_hardware == std::vector<std::string>{"cuda"});
  CHECK(packed.spec.dependencies.empty());
  CHECK(packed.spec.destination_passing_style);
  CHECK_FALSE(packed.spec.binding.has_value());

  // The same project in Triton reads solution/triton/.
  std::string triton = k_starter_kit;
  triton.replace(triton.find("\"cuda\""), 6, "\"triton\"");
  triton.replace(triton.find("kernel.cu::run"), 14, "kernel.py::run");
  CHECK(pack_paths(triton, dir) == std::vector<std::string>{"kernel.py"});
}

TEST_CASE("config: the starter kit's template entry point is refused", "[config]") {
  std::string text = k_starter_kit;
  text.replace(text.find("kernel.cu::run"), 14, "kernel");
  CHECK(parse_error(text) == "config.toml:8: build.entry_point: \"kernel\" must have the form "
                             "\"<file>::<function>\", e.g. \"kernel.cu::run\"");
  text.replace(text.find("\"kernel\""), 8, "\"a::b::c\"");
  CHECK(parse_error(text) == "config.toml:8: build.entry_point: \"a::b::c\" must have the form "
                             "\"<file>::<function>\", e.g. \"kernel.cu::run\"");
}

// ---- unknown keys, types, TOML syntax -----------------------------------------------------------

TEST_CASE("config: an unknown top-level key names the line and the allowed keys", "[config]") {
  CHECK(parse_error("[solutions]\nname = \"s\"\n") ==
        "config.toml:1: solutions: unknown key \"solutions\" (allowed here: solution, build)");
  CHECK(parse_error("[build]\nlanguage = \"cuda\"\n") ==
        "config.toml: no [solution] table: a config names at least one solution (name, "
        "definition, author)");
}

TEST_CASE("config: unknown keys in [build], [solution], a launch and a workspace", "[config]") {
  SECTION("[build]") {
    CHECK(parse_error(std::string(k_gdn_plan) + "\n[build]\nentry_pont = \"k.cu::run\"\n") ==
          std::string("config.toml:13: build.entry_pont: unknown key \"entry_pont\" ") +
              k_allowed_build);
  }
  SECTION("a solution's build table") {
    CHECK(parse_error(std::string(k_gdn_plan) + "\n[solution.build]\narc = \"sm_90a\"\n") ==
          std::string("config.toml:13: solution.build.arc: unknown key \"arc\" ") +
              k_allowed_build);
  }
  SECTION("[solution]") {
    CHECK(parse_error("[solution]\nname = \"s\"\ndefinition = \"d\"\nauthor = \"a\"\n"
                      "soruces = [\"a.cu\"]\n") ==
          "config.toml:5: solution.soruces: unknown key \"soruces\" (allowed here: name, "
          "definition, author, description, sources, source_dir, entry_point, build, workspace, "
          "launch)");
  }
  SECTION("[[solution.launch]]") {
    std::string text = k_gdn_plan;
    text.replace(text.find("block"), 5, "threads");
    CHECK(parse_error(text) ==
          "config.toml:9: solution.launch[0].threads: unknown key \"threads\" (allowed here: "
          "kernel, grid, block, shared_memory, cluster, cooperative, when, args)");
  }
  SECTION("[[solution.workspace]]") {
    CHECK(parse_error(std::string(k_gdn_plan) +
                      "\n[[solution.workspace]]\nname = \"w\"\ndtype = \"int32\"\n"
                      "shape = [4]\nsize = 4\n") ==
          "config.toml:16: solution.workspace[0].size: unknown key \"size\" (allowed here: name, "
          "dtype, shape, init)");
  }
}

TEST_CASE("config: a value of the wrong type", "[config]") {
  const std::string head = "[solution]\nname = \"s\"\ndefinition = \"d\"\nauthor = \"a\"\n";
  SECTION("a string for a boolean") {
    CHECK(parse_error(head + "[build]\ndestination_passing_style = \"false\"\n") ==
          "config.toml:6: build.destination_passing_style: expected a boolean, got a string");
  }
  SECTION("an integer for a string") {
    CHECK(parse_error("[solution]\nname = 42\ndefinition = \"d\"\nauthor = \"a\"\n") ==
          "config.toml:2: solution.name: expected a string, got an integer");
    CHECK(parse_error(head + "description = 1.5\n") ==
          "config.toml:5: solution.description: expected a string, got a float");
  }
  SECTION("a table for an array") {
    CHECK(parse_error(head + "sources = { main = \"a.cu\" }\n") ==
          "config.toml:5: solution.sources: expected an array of strings, got a table");
    CHECK(parse_error(head + "[solution.launch]\nkernel = \"k\"\n") ==
          "config.toml:5: solution.launch: expected an array, got a table");
    CHECK(parse_error(head + "[[solution.workspace]]\nname = \"w\"\ndtype = \"int32\"\n"
                             "shape = { x = 4 }\n") ==
          "config.toml:8: solution.workspace[0].shape: expected an array, got a table");
  }
  SECTION("array entries") {
    CHECK(parse_error(head + "[build]\narch = [\"sm_90a\", 100]\n") ==
          "config.toml:6: build.arch[1]: expected a string, got an integer");
    std::string text = k_gdn_plan;
    text.replace(text.find("[128]"), 5, "[1.5]");
    CHECK(parse_error(text) == "config.toml:9: solution.launch[0].block[0]: expected an integer "
                               "or an expression string, got a float");
  }
  SECTION("a solution's entry_point") {
    CHECK(parse_error(head + "entry_point = 3\n") ==
          "config.toml:5: solution.entry_point: expected a string, got an integer");
    CHECK(parse_error(head + "entry_point = \"kernel\"\n") ==
          "config.toml:5: solution.entry_point: \"kernel\" must have the form "
          "\"<file>::<function>\", e.g. \"kernel.cu::run\"");
  }
  SECTION("values outside their sets") {
    CHECK(parse_error(head + "[build]\nlanguage = \"CUDA\"\n") ==
          "config.toml:6: build.language: unknown language \"CUDA\" (expected cuda, cpp, "
          "triton, python or tilelang)");
    CHECK(parse_error(head + "[build]\ntarget_hardware = []\n") ==
          "config.toml:6: build.target_hardware: must list at least one entry");
    CHECK(parse_error(head + "sources = []\n") ==
          "config.toml:5: solution.sources: must list at least one file");
    CHECK(parse_error(head + "[build]\ndefines = { \"2X\" = 1 }\n") ==
          "config.toml:6: build.defines.2X: a define name must be a C identifier");
    CHECK(parse_error(head + "[build]\ndefines = { X = [1] }\n") ==
          "config.toml:6: build.defines.X: expected a string, integer or boolean, got an array");
  }
}

TEST_CASE("config: invalid TOML names the file, line and column", "[config]") {
  const std::string message =
      parse_error("[solution]\nname = \"s\"\ndefinition = \"d\nauthor = \"a\"\n");
  CHECK_THAT(message, Catch::StartsWith("config.toml:3:16: invalid TOML: "));
  CHECK_THAT(parse_error("[solution]\nname = \"s\"\nname = \"t\"\n"),
             Catch::StartsWith("config.toml:3:8: invalid TOML: "));
}

TEST_CASE("config: name, definition and author are required and non-empty", "[config]") {
  CHECK(parse_error("[solution]\ndefinition = \"d\"\nauthor = \"a\"\n") ==
        "config.toml:1: solution: missing required key \"name\"");
  CHECK(parse_error("[solution]\nname = \"s\"\nauthor = \"a\"\n") ==
        "config.toml:1: solution: missing required key \"definition\"");
  CHECK(parse_error("[solution]\nname = \"s\"\ndefinition = \"d\"\n") ==
        "config.toml:1: solution: missing required key \"author\"");
  CHECK(parse_error("[solution]\nname = \"s\"\ndefinition = \"d\"\nauthor = \"\"\n") ==
        "config.toml:4: solution.author: must not be empty");
  CHECK(parse_error("[[solution]]\nname = \"s\"\ndefinition = \"d\"\nauthor = \"a\"\n\n"
                    "[[solution]]\nname = \"t\"\ndefinition = \"d\"\n") ==
        "config.toml:6: solution[1]: missing required key \"author\"");
}

// ---- definitions, tracks, several solutions -----------------------------------------------------

TEST_CASE("config: a track name stands for its only definition", "[config]") {
  const ProjectConfig config =
      parse("[solution]\nname = \"s\"\ndefinition = \"fused_moe\"\nauthor = \"a\"\n");
  CHECK(config.solutions.at(0).definition == k_moe);
  CHECK(config.solutions.at(0).track == "fused_moe");

  CHECK(parse_error("[solution]\nname = \"s\"\ndefinition = \"sparse_attention\"\nauthor = "
                    "\"a\"\n") ==
        "config.toml:3: solution.definition: \"sparse_attention\" is a track with 2 definitions "
        "(dsa_sparse_attention_h16_ckv512_kpe64_topk2048_ps64, "
        "dsa_topk_indexer_fp8_h64_d128_topk2048_ps64): name one per solution, with a "
        "[[solution]] table for each");
}

TEST_CASE("config: a definition name maps to its track and its source directory", "[config]") {
  const ProjectConfig config =
      parse("[[solution]]\nname = \"p\"\ndefinition = \"gdn_prefill_qk4_v8_d128_k_last\"\n"
            "author = \"a\"\n\n[[solution]]\nname = \"x\"\ndefinition = \"my_softmax\"\n"
            "author = \"a\"\nsource_dir = \"src/../softmax\"\n\n[[solution]]\nname = \"y\"\n"
            "definition = \"my_softmax\"\nauthor = \"a\"\n");
  REQUIRE(config.solutions.size() == 3);
  CHECK(config.solutions[0].definition == "gdn_prefill_qk4_v8_d128_k_last");
  CHECK(config.solutions[0].track == "gated_delta_net");
  CHECK(config.solutions[0].source_dir == k_no_dir / "kernels" / "gated_delta_net");
  CHECK(config.solutions[0].where == "config.toml:1");
  CHECK(config.solutions[1].track.empty());
  CHECK(config.solutions[1].source_dir == k_no_dir / "softmax");
  CHECK(config.solutions[1].where == "config.toml:6");
  CHECK(config.solutions[2].source_dir == k_no_dir / "kernels" / "my_softmax");
}

TEST_CASE("config: kernels/<track>/ wins over the starter kit's solution/<language>/", "[config]") {
  TempDir dir;
  write_sources(dir, {"kernels/fused_moe/moe.cu", "solution/cuda/kernel.cu"});
  CHECK(parse(k_starter_kit, dir.path()).solutions.at(0).source_dir ==
        dir.path() / "kernels" / "fused_moe");
}

TEST_CASE("config: solution names are unique", "[config]") {
  CHECK(parse_error("[[solution]]\nname = \"s\"\ndefinition = \"d\"\nauthor = \"a\"\n\n"
                    "[[solution]]\nname = \"s\"\ndefinition = \"e\"\nauthor = \"a\"\n") ==
        "config.toml:6: solution name \"s\" is used twice");
  CHECK(parse_error("solution = []\n") == "config.toml:1: solution: the solution array is empty");
  CHECK(parse_error("solution = \"s\"\n") ==
        "config.toml:1: solution: expected a table or an array of tables, got a string");
}

TEST_CASE("config: build settings and a solution's overrides", "[config]") {
  const ProjectConfig config = parse(R"toml([build]
language = "cuda"
entry_point = "main.cu::run"
arch = "sm_100a"
options = ["-lineinfo"]
defines = { A = "x", B = 2, C = true, D = false }
include_dirs = "include"
dependencies = ["cutlass"]
binding = "torch"
target_hardware = ["cuda", "B200"]

[[solution]]
name = "s"
definition = "d"
author = "a"
description = "first"

[[solution]]
name = "t"
definition = "d"
author = "a"
entry_point = "t.cu::run"
build = { entry_point = "ignored.cu::run", arch = ["sm_90a"], defines = { E = 1 } }
)toml");
  REQUIRE(config.solutions.size() == 2);
  const auto& s = config.solutions[0];
  CHECK(s.description == std::optional<std::string>("first"));
  CHECK(s.build.entry_point == "main.cu::run");
  CHECK(s.build.arch == std::vector<std::string>{"sm_100a"});
  CHECK(s.build.options == std::vector<std::string>{"-lineinfo"});
  CHECK(s.build.defines == std::vector<std::pair<std::string, std::string>>{
                               {"A", "x"}, {"B", "2"}, {"C", "1"}, {"D", "0"}});
  // include_dirs are resolved against the config file's directory.
  CHECK(s.build.include_dirs == std::vector<std::string>{"/nonexistent/fibkit-project/include"});
  CHECK(s.build.dependencies == std::vector<std::string>{"cutlass"});
  CHECK(s.build.binding == std::optional<std::string>("torch"));
  CHECK(s.build.target_hardware == std::vector<std::string>{"cuda", "B200"});
  const auto& t = config.solutions[1];
  CHECK(t.build.entry_point == "t.cu::run");
  CHECK(t.build.arch == std::vector<std::string>{"sm_90a"});
  CHECK(t.build.defines == std::vector<std::pair<std::string, std::string>>{{"E", "1"}});
  CHECK(t.build.options == std::vector<std::string>{"-lineinfo"});
  CHECK(t.build.binding == std::optional<std::string>("torch"));
}

TEST_CASE("config: select() picks a solution by name", "[config]") {
  TempDir dir;
  const fs::path file =
      dir.write("config.toml", "[[solution]]\nname = \"a\"\ndefinition = \"d\"\nauthor = \"x\"\n"
                               "[[solution]]\nname = \"b\"\ndefinition = \"e\"\nauthor = \"x\"\n");
  const ProjectConfig config = fibkit::core::load_config(file);
  CHECK(config.file == file);
  CHECK(config.dir == dir.path());
  CHECK(config.select("b").name == "b");
  CHECK_THROWS_WITH(config.select(""), "config.toml holds 2 solutions; choose one with "
                                       "--solution NAME:\n  a (d)\n  b (e)");
  CHECK_THROWS_AS(config.select("c"), fibkit::UsageError);
  CHECK_THROWS_WITH(config.select("c"), "no solution named \"c\" in " + file.string() +
                                            "; its solutions:\n  a (d)\n  b (e)");
}

TEST_CASE("config: find_config looks in the parents and stops at .git", "[config]") {
  TempDir dir;
  dir.write("config.toml", "");
  fs::create_directories(dir.path() / "a" / "b");
  CHECK(fibkit::core::find_config(dir.path() / "a" / "b") == dir.path() / "config.toml");
  fs::create_directories(dir.path() / "a" / ".git");
  CHECK(fibkit::core::find_config(dir.path() / "a" / "b").empty());
}

// ---- launches and workspaces as read ------------------------------------------------------------

TEST_CASE("config: a launch as read", "[config]") {
  const ProjectConfig config = parse(std::string(k_gdn_plan) + R"toml(
[[solution.launch]]
kernel = "gemm<128, true>"
grid = "ceil_div(batch_size, 4)"
block = [32, 4, 2]
shared_memory = 4096
cluster = 2
cooperative = true
when = "min(1, batch_size / 8)"
args = ["output", "int64:batch_size * 2", "uint32:7", "float32:0.5", "float64:-1e-6"]
)toml");
  const auto& launches = config.solutions.at(0).launches;
  REQUIRE(launches.size() == 2);
  CHECK(launches[0].where == "config.toml:6");
  CHECK(launches[0].shared_memory.literal_value() == 0);
  CHECK(launches[0].cluster.empty());
  CHECK_FALSE(launches[0].cooperative);
  CHECK_FALSE(launches[0].when);
  const auto& l = launches[1];
  CHECK(l.where == "config.toml:12");
  CHECK(l.kernel == "gemm<128, true>");
  REQUIRE(l.grid.size() == 1);
  CHECK(l.grid[0].text() == "ceil_div(batch_size, 4)");
  CHECK(l.grid[0].context() == "config.toml:14: solution.launch[1].grid");
  CHECK(l.grid[0].eval({{"batch_size", 9}}) == 3);
  REQUIRE(l.block.size() == 3);
  CHECK(l.block[2].literal_value() == 2);
  CHECK(l.shared_memory.literal_value() == 4096);
  REQUIRE(l.cluster.size() == 1);
  CHECK(l.cooperative);
  REQUIRE(l.when);
  CHECK(l.when->context() == "config.toml:19: solution.launch[1].when");
  CHECK(l.when->eval({{"batch_size", 7}}) == 0);
  CHECK(l.when->eval({{"batch_size", 64}}) == 1);
  REQUIRE(l.args.size() == 5);
  CHECK(l.args[0].kind == LaunchArg::Kind::name);
  CHECK(l.args[0].name == "output");
  CHECK(l.args[1].kind == LaunchArg::Kind::integer);
  CHECK(l.args[1].type == "int64");
  CHECK(l.args[1].integer->eval({{"batch_size", 5}}) == 10);
  CHECK(l.args[2].type == "uint32");
  CHECK(l.args[3].kind == LaunchArg::Kind::floating);
  CHECK(l.args[3].type == "float32");
  CHECK(l.args[3].floating == 0.5);
  CHECK(l.args[4].floating == -1e-6);
  CHECK(l.args[4].text == "float64:-1e-6");
}

TEST_CASE("config: grid, block and cluster take 1 to 3 entries", "[config]") {
  std::string text = k_gdn_plan;
  const auto grid = text.find("[\"batch_size\"]");
  text.replace(grid, 14, "[]");
  CHECK(parse_error(text) ==
        "config.toml:8: solution.launch[0].grid: expected 1 to 3 entries, got 0");
  text.replace(grid, 2, "[1, 2, 3, 4]");
  CHECK(parse_error(text) ==
        "config.toml:8: solution.launch[0].grid: expected 1 to 3 entries, got 4");
  CHECK(parse_error(std::string(k_gdn_plan) + "cluster = [1, 1, 1, 1]\n") ==
        "config.toml:11: solution.launch[0].cluster: expected 1 to 3 entries, got 4");
  CHECK(parse_error(std::string(k_gdn_plan) + "cooperative = 1\n") ==
        "config.toml:11: solution.launch[0].cooperative: expected a boolean, got an integer");
  CHECK_THAT(parse_error(std::string(k_gdn_plan) + "when = \"batch_size >\"\n"),
             Catch::StartsWith("config.toml:11: solution.launch[0].when: "));
  std::string no_block = k_gdn_plan;
  no_block.erase(no_block.find("block = [128]\n"), 14);
  CHECK(parse_error(no_block) ==
        "config.toml:6: solution.launch[0]: missing required key \"block\"");
}

TEST_CASE("config: a bad expression names the file, line, key and column", "[config]") {
  std::string text = k_gdn_plan;
  text.replace(text.find("[\"batch_size\"]"), 14, "[\"batch_size\", \"num_v_heads +\"]");
  try {
    (void)parse(text);
    FAIL("no error");
  } catch (const ExprError& e) {
    CHECK(std::string(e.what()) ==
          "config.toml:8: solution.launch[0].grid[1]: \"num_v_heads +\": column 14: expected a "
          "number, a name or '(', found end of input");
    CHECK(e.context() == "config.toml:8: solution.launch[0].grid[1]");
    CHECK(e.column() == 14);
  }
  CHECK(parse_error(std::string(k_gdn_plan) + "shared_memory = \"4 * (head_size\"\n") ==
        "config.toml:11: solution.launch[0].shared_memory: \"4 * (head_size\": column 15: "
        "expected ')' to close the '(' at column 5, found end of input");
  // An element of a multi-line array has its own line.
  CHECK(parse_error(std::string(k_gdn_plan) +
                    "\n[[solution.workspace]]\nname = \"w\"\ndtype = \"int32\"\nshape = [\n"
                    "  \"batch_size\",\n  \"2 n\",\n]\n") ==
        "config.toml:17: solution.workspace[0].shape[1]: \"2 n\": column 3: unexpected name "
        "\"n\": expected an operator or the end of the expression");
}

TEST_CASE("config: typed literal arguments", "[config]") {
  const auto with_arg = [](const std::string& arg) {
    std::string text = k_gdn_plan;
    text.replace(text.find("\"new_state\"]"), 12, "\"new_state\", \"" + arg + "\"]");
    return parse_error(text);
  };
  CHECK(with_arg("int32:batch_size * 4") == "no error");
  CHECK(with_arg("int8:3") == "config.toml:10: solution.launch[0].args[11]: unknown literal type "
                              "\"int8\" (expected int32, int64, uint32, uint64, float32 or "
                              "float64)");
  CHECK(with_arg("float32:1.5f") ==
        "config.toml:10: solution.launch[0].args[11]: \"1.5f\" is not a float literal");
  CHECK(with_arg("float64:") ==
        "config.toml:10: solution.launch[0].args[11]: \"\" is not a float literal");
  CHECK(with_arg("int32:") ==
        "config.toml:10: solution.launch[0].args[11]: \"\": column 1: empty expression");
  CHECK(with_arg("uint64:2 +") == "config.toml:10: solution.launch[0].args[11]: \"2 +\": column "
                                  "4: expected a number, a name or '(', found end of input");
  CHECK(with_arg("new-state") == "config.toml:10: solution.launch[0].args[11]: \"new-state\" is "
                                 "neither a name nor a typed literal like \"int32:4\"");
}

TEST_CASE("config: a workspace as read, and a bad dtype, init or name", "[config]") {
  const std::string head = "[solution]\nname = \"s\"\ndefinition = \"d\"\nauthor = \"a\"\n\n"
                           "[[solution.workspace]]\n";
  const ProjectConfig config =
      parse(head + "name = \"w\"\ndtype = \"bfloat16\"\nshape = [\"n * 2\", 3]\n\n"
                   "[[solution.workspace]]\nname = \"v\"\ndtype = \"bool\"\nshape = []\n"
                   "init = \"uninitialized\"\n");
  const auto& ws = config.solutions.at(0).workspaces;
  REQUIRE(ws.size() == 2);
  CHECK(ws[0].name == "w");
  CHECK(ws[0].dtype == fibkit::core::DType::bfloat16);
  REQUIRE(ws[0].shape.size() == 2);
  CHECK(ws[0].shape[0].eval({{"n", 4}}) == 8);
  CHECK(ws[0].init == WorkspaceConfig::Init::zero);
  CHECK(ws[0].where == "config.toml:6");
  CHECK(ws[1].shape.empty());
  CHECK(ws[1].init == WorkspaceConfig::Init::uninitialized);
  CHECK(ws[1].where == "config.toml:11");

  CHECK(parse_error(head + "name = \"w\"\ndtype = \"fp32\"\nshape = [4]\n") ==
        "config.toml:8: solution.workspace[0].dtype: unknown dtype \"fp32\" (expected one of "
        "float32, float16, bfloat16, float8_e4m3fn, float8_e5m2, float4_e2m1, int64, int32, "
        "int16, int8, bool)");
  CHECK(parse_error(head + "name = \"w\"\ndtype = \"int32\"\nshape = [4]\ninit = \"zeros\"\n") ==
        "config.toml:10: solution.workspace[0].init: unknown init \"zeros\" (expected \"zero\" or "
        "\"uninitialized\")");
  CHECK(parse_error(head + "name = \"my-buffer\"\ndtype = \"int32\"\nshape = [4]\n") ==
        "config.toml:7: solution.workspace[0].name: a workspace name must be an identifier");
  CHECK(parse_error(head + "name = \"w\"\ndtype = \"int32\"\n") ==
        "config.toml:6: solution.workspace[0]: missing required key \"shape\"");
}

// ---- check_launch_plan --------------------------------------------------------------------------

TEST_CASE("config: a complete launch plan passes the checks", "[config]") {
  CHECK(plan_error(k_gdn_plan) == "no error");
  // Without launches there is no plan to check.
  CHECK(plan_error("[solution]\nname = \"s\"\ndefinition = \"gdn_decode_qk4_v8_d128_k_last\"\n"
                   "author = \"a\"\n") == "no error");
  // Axes, workspaces and literals as arguments; num_sms in expressions.
  CHECK(plan_error(std::string(k_gdn_plan) + R"toml(
[[solution.workspace]]
name = "partial"
dtype = "float32"
shape = ["batch_size", "num_sms"]

[[solution.launch]]
kernel = "reduce"
grid = ["min(batch_size, num_sms)"]
block = [256]
shared_memory = "head_size * 4"
args = ["partial", "batch_size", "head_size", "int32:num_v_heads * 2", "float32:0.5"]
)toml") == "no error");
}

TEST_CASE("config: check_launch_plan refuses an unknown argument name", "[config]") {
  std::string text = k_gdn_plan;
  text.replace(text.find("\"k\", \"v\""), 8, "\"kk\", \"v\"");
  CHECK(plan_error(text) == "config.toml:6: kernel \"k\" argument 1 \"kk\" is not an input, "
                            "output, axis or workspace of gdn_decode_qk4_v8_d128_k_last");
}

TEST_CASE("config: check_launch_plan refuses an output no launch writes", "[config]") {
  std::string text = k_gdn_plan;
  text.replace(text.find(", \"new_state\""), 13, "");
  CHECK(plan_error(text) == "config.toml:1: no launch of solution \"s\" is passed output "
                            "\"new_state\"");
}

TEST_CASE("config: check_launch_plan refuses an unknown name in an expression", "[config]") {
  const std::string known =
      "(known names: batch_size, head_size, num_k_heads, num_q_heads, num_sms, num_v_heads, "
      "seq_len)";
  std::string text = k_gdn_plan;
  text.replace(text.find("[\"batch_size\"]"), 14, "[\"ceil_div(batch_sise, 4)\"]");
  CHECK(plan_error(text) == "config.toml:8: solution.launch[0].grid[0]: \"ceil_div(batch_sise, "
                            "4)\": column 10: unknown name \"batch_sise\" — did you mean "
                            "\"batch_size\"? " +
                                known);
  CHECK(plan_error(std::string(k_gdn_plan) + "shared_memory = \"total_seq_len * 4\"\n") ==
        "config.toml:11: solution.launch[0].shared_memory: \"total_seq_len * 4\": column 1: "
        "unknown name \"total_seq_len\" " +
            known);
  text = k_gdn_plan;
  text.replace(text.find("\"new_state\"]"), 12, "\"new_state\", \"int32:num_sm\"]");
  CHECK(plan_error(text) == "config.toml:10: solution.launch[0].args[11]: \"num_sm\": column 1: "
                            "unknown name \"num_sm\" — did you mean \"num_sms\"? " +
                                known);
  CHECK(plan_error(std::string(k_gdn_plan) +
                   "\n[[solution.workspace]]\nname = \"w\"\ndtype = \"int32\"\n"
                   "shape = [\"num_heads\"]\n") ==
        "config.toml:15: solution.workspace[0].shape[0]: \"num_heads\": column 1: unknown name "
        "\"num_heads\" — did you mean \"num_k_heads\"? " +
            known);
}

TEST_CASE("config: check_launch_plan refuses a workspace named like a tensor or axis", "[config]") {
  const auto with_workspace = [](const std::string& name) {
    return plan_error(std::string(k_gdn_plan) + "\n[[solution.workspace]]\nname = \"" + name +
                      "\"\ndtype = \"int32\"\nshape = [4]\n");
  };
  CHECK(with_workspace("q") == "config.toml:12: workspace \"q\" has the name of a tensor or axis "
                               "of gdn_decode_qk4_v8_d128_k_last");
  CHECK(with_workspace("new_state") == "config.toml:12: workspace \"new_state\" has the name of "
                                       "a tensor or axis of gdn_decode_qk4_v8_d128_k_last");
  CHECK(with_workspace("head_size") == "config.toml:12: workspace \"head_size\" has the name of "
                                       "a tensor or axis of gdn_decode_qk4_v8_d128_k_last");
}

TEST_CASE("config: check_launch_plan refuses a workspace declared twice", "[config]") {
  const std::string workspace = "\n[[solution.workspace]]\nname = \"tmp\"\ndtype = \"int32\"\n"
                                "shape = [4]\n";
  CHECK(plan_error(std::string(k_gdn_plan) + workspace + workspace) ==
        "config.toml:17: workspace \"tmp\" is declared twice");
}

// ---- pack_solution ------------------------------------------------------------------------------

namespace {
// A GDN decode solution whose source directory is kernels/gated_delta_net/ (the default).
const char* const k_pack = R"toml([solution]
name = "s"
definition = "gdn_decode_qk4_v8_d128_k_last"
author = "a"
entry_point = "z.cu::run"
)toml";

std::string with_sources(const std::string& sources, const std::string& entry = "main.cu::run") {
  return std::string("[solution]\nname = \"s\"\ndefinition = \"") + k_gdn_decode +
         "\"\nauthor = \"a\"\nsource_dir = \"src\"\nentry_point = \"" + entry +
         "\"\nsources = " + sources + "\n";
}
} // namespace

TEST_CASE("config: pack takes the top-level source files, sorted", "[config]") {
  TempDir dir;
  const std::string k = "kernels/gated_delta_net/";
  write_sources(dir, {k + "z.cu", k + "a.cuh", k + "Upper.CU", k + "m.py", k + "k.h", k + "x.hpp",
                      k + "y.cc", k + "w.cxx", k + "v.c", k + "u.cpp", k + "sub/deep.cu"});
  dir.write(k + "notes.txt", "text\n");
  dir.write(k + "Makefile", "all:\n");
  fs::create_directories(dir.path() / k / "dir.cu");
  CHECK(pack_paths(k_pack, dir) == std::vector<std::string>{"Upper.CU", "a.cuh", "k.h", "m.py",
                                                            "u.cpp", "v.c", "w.cxx", "x.hpp",
                                                            "y.cc", "z.cu"});
}

TEST_CASE("config: pack takes explicit sources and glob patterns", "[config]") {
  TempDir dir;
  write_sources(dir, {"src/main.cu", "src/detail/b.cuh", "src/detail/a.cuh",
                      "src/detail/deeper/c.cuh", "src/x.h", "src/detail/y.h", "src/other.cu"});
  CHECK(pack_paths(with_sources(R"(["main.cu", "detail/*.cuh", "*.h"])"), dir) ==
        std::vector<std::string>{"main.cu", "detail/a.cuh", "detail/b.cuh", "x.h"});
  CHECK(pack_paths(with_sources(R"(["detail/deeper/c.cuh", "main.cu"])"), dir) ==
        std::vector<std::string>{"detail/deeper/c.cuh", "main.cu"});
}

TEST_CASE("config: a file named by two patterns is packed once", "[config]") {
  TempDir dir;
  write_sources(dir, {"src/main.cu", "src/other.cu"});
  CHECK(pack_paths(with_sources(R"(["main.cu", "*.cu", "./main.cu", "other.cu"])"), dir) ==
        std::vector<std::string>{"main.cu", "other.cu"});
}

TEST_CASE("config: pack refuses a missing source, pattern or directory", "[config]") {
  TempDir dir;
  CHECK(pack_error(k_pack, dir) == "config.toml:1: source directory kernels/gated_delta_net of "
                                   "solution \"s\" does not exist");
  fs::create_directories(dir.path() / "kernels" / "gated_delta_net");
  dir.write("kernels/gated_delta_net/README.md", "# notes\n");
  CHECK(
      pack_error(k_pack, dir) ==
      "config.toml:1: no source files (.cu, .cuh, .h, .cpp, .py, ...) in kernels/gated_delta_net");
  write_sources(dir, {"src/main.cu"});
  CHECK(pack_error(with_sources(R"(["main.cu", "nope.cu"])"), dir) ==
        "config.toml:1: source \"nope.cu\" of solution \"s\" not found (src/nope.cu)");
  CHECK(pack_error(with_sources(R"(["main.cu", "*.cuh"])"), dir) ==
        "config.toml:1: source pattern \"*.cuh\" of solution \"s\" matches no file in src");
}

TEST_CASE("config: pack refuses an empty source file", "[config]") {
  TempDir dir;
  write_sources(dir, {"src/main.cu"});
  dir.write("src/empty.cuh", "");
  CHECK(pack_error(with_sources(R"(["main.cu", "empty.cuh"])"), dir) ==
        "src/empty.cuh: source file is empty (the official Solution model refuses empty "
        "sources)");
}

TEST_CASE("config: pack refuses a source file that is not UTF-8", "[config]") {
  TempDir dir;
  write_sources(dir, {"src/main.cu"});
  const std::string text = with_sources(R"(["main.cu", "data.h"])");
  const std::string refused = "src/data.h: source file is not valid UTF-8 text";
  dir.write("src/data.h", "// caf\xe9\n"); // Latin-1
  CHECK(pack_error(text, dir) == refused);
  dir.write("src/data.h", "// \xe2\x82\n"); // truncated
  CHECK(pack_error(text, dir) == refused);
  dir.write("src/data.h", "// \xc0\xaf\n"); // overlong '/'
  CHECK(pack_error(text, dir) == refused);
  dir.write("src/data.h", "// \xed\xa0\x80\n"); // a surrogate
  CHECK(pack_error(text, dir) == refused);
  dir.write("src/data.h", "// \xf4\x90\x80\x80\n"); // past U+10FFFF
  CHECK(pack_error(text, dir) == refused);
  dir.write("src/data.h", "// caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf\n");
  CHECK(pack_error(text, dir) == "no error");
}

TEST_CASE("config: pack refuses an entry point whose file is not among the sources", "[config]") {
  TempDir dir;
  write_sources(dir, {"src/main.cu", "src/other.cu"});
  CHECK(pack_error(with_sources(R"(["other.cu"])"), dir) ==
        "config.toml:1: solution \"s\" is not a valid official Solution: $.spec.entry_point: "
        "entry source file \"main.cu\" not found in sources");
  // The file part must equal a packed path exactly.
  CHECK(pack_error(with_sources(R"(["main.cu"])", "./main.cu::run"), dir) ==
        "config.toml:1: solution \"s\" is not a valid official Solution: $.spec.entry_point: "
        "entry source file \"./main.cu\" not found in sources");
}

TEST_CASE("config: pack needs an entry point", "[config]") {
  TempDir dir;
  write_sources(dir, {"kernels/gated_delta_net/main.cu"});
  CHECK(pack_error("[solution]\nname = \"s\"\ndefinition = \"gdn_decode_qk4_v8_d128_k_last\"\n"
                   "author = \"a\"\n",
                   dir) == "config.toml:1: solution \"s\" has no entry_point (set [build] "
                           "entry_point = \"<file>::<function>\")");
}

TEST_CASE("config: pack refuses a source outside the source directory", "[config]") {
  TempDir dir;
  write_sources(dir, {"src/main.cu", "x.cu"});
  CHECK(pack_error(with_sources(R"(["main.cu", "../x.cu"])"), dir) ==
        "config.toml:1: solution \"s\" is not a valid official Solution: $.sources[1].path: "
        "parent directory traversal not allowed: ../x.cu");
  // A pattern only ever matches files below the source directory.
  CHECK(pack_error(with_sources(R"(["main.cu", "../*.cu"])"), dir) ==
        "config.toml:1: source pattern \"../*.cu\" of solution \"s\" matches no file in src");
}

// ---- docs/config.md -----------------------------------------------------------------------------

namespace {

/// A ```toml block of docs/config.md and its annotations.
struct DocExample {
  int line = 0; ///< the line of the opening fence
  std::string toml;
  std::vector<std::string> files;               ///< `<!-- files: ... -->` before the block
  std::optional<std::string> error;             ///< `<!-- error: ... -->` after the block
  std::optional<std::string> error_text;        ///< the ```text block after the error comment
  std::vector<std::vector<std::string>> packed; ///< `<!-- packed: ... -->`, one per solution
};

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    out.push_back(w);
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) {
    return "";
  }
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

/// `<!-- key: value -->` as (key, value), or nullopt for another line.
std::optional<std::pair<std::string, std::string>> annotation(const std::string& line) {
  if (line.rfind("<!--", 0) != 0 || line.size() < 7 || line.substr(line.size() - 3) != "-->") {
    return std::nullopt;
  }
  const std::string body = trim(line.substr(4, line.size() - 7));
  const auto colon = body.find(':');
  if (colon == std::string::npos) {
    return std::nullopt;
  }
  return std::make_pair(body.substr(0, colon), trim(body.substr(colon + 1)));
}

/// The examples of docs/config.md. Fails the test on an annotation or code block the test would
/// not check.
std::vector<DocExample> read_doc_examples() {
  std::ifstream in(std::string(FIBKIT_SOURCE_DIR) + "/docs/config.md");
  REQUIRE(in.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  std::vector<DocExample> out;
  std::vector<std::string> pending_files;
  const auto fence_body = [&](std::size_t& i) { // i: the opening fence; ends on the closing one
    std::string body;
    for (++i; i < lines.size() && lines[i] != "```"; ++i) {
      body += lines[i] + "\n";
    }
    REQUIRE(i < lines.size());
    return body;
  };
  for (std::size_t i = 0; i < lines.size(); ++i) {
    INFO("docs/config.md:" << i + 1);
    const std::string& line = lines[i];
    if (const auto a = annotation(line)) {
      REQUIRE(a->first == "files"); // error: and packed: belong right after a toml block
      pending_files = words(a->second);
      continue;
    }
    if (line.rfind("```", 0) == 0) {
      REQUIRE(line == "```toml"); // any other code block is checked as part of an example
      DocExample ex;
      ex.line = static_cast<int>(i) + 1;
      ex.files = std::move(pending_files);
      pending_files.clear();
      ex.toml = fence_body(i);
      for (std::size_t j = i + 1; j < lines.size(); ++j) {
        if (trim(lines[j]).empty()) {
          continue;
        }
        if (lines[j] == "```text" && ex.error && !ex.error_text) {
          ex.error_text = trim(fence_body(j));
          ex.error_text->pop_back(); // the newline of the last line
          i = j;
          continue;
        }
        const auto a = annotation(lines[j]);
        if (!a || a->first == "files") {
          break;
        }
        if (a->first == "error") {
          REQUIRE_FALSE(ex.error);
          ex.error = a->second;
        } else {
          REQUIRE(a->first == "packed");
          ex.packed.push_back(words(a->second));
        }
        i = j;
      }
      REQUIRE((ex.packed.empty() || !ex.files.empty()));
      out.push_back(std::move(ex));
      continue;
    }
    if (!trim(line).empty()) {
      REQUIRE(pending_files.empty()); // a files: comment goes right before a toml block
    }
  }
  return out;
}

} // namespace

TEST_CASE("config: every example of docs/config.md", "[config][docs]") {
  const std::vector<DocExample> doc_examples = read_doc_examples();
  std::size_t errors = 0;
  std::size_t packed = 0;
  std::size_t planned = 0;
  for (const DocExample& ex : doc_examples) {
    INFO("the example at docs/config.md:" << ex.line << ":\n" << ex.toml);
    TempDir dir;
    write_sources(dir, ex.files);
    std::string message;
    try {
      const ProjectConfig config = parse_config(ex.toml, "config.toml", dir.path());
      for (std::size_t k = 0; k < config.solutions.size(); ++k) {
        const SolutionConfig& s = config.solutions[k];
        if (!s.launches.empty()) {
          const Definition* def = examples().find_definition(s.definition);
          REQUIRE(def != nullptr); // examples use the embedded definitions
          check_launch_plan(s, *def);
          ++planned;
        }
        if (!ex.files.empty()) {
          const Solution solution = pack_solution(s);
          if (k < ex.packed.size()) {
            CHECK(packed_paths(solution) == ex.packed[k]);
            ++packed;
          }
        }
      }
      CHECK(ex.packed.size() <= config.solutions.size());
    } catch (const fibkit::Error& e) {
      message = relative(dir, e.what());
    }
    if (ex.error) {
      ++errors;
      CHECK_THAT(message, Catch::Contains(*ex.error));
      if (ex.error_text) {
        CHECK(message == *ex.error_text);
      }
    } else {
      CHECK(message == "");
    }
  }
  // The document has examples of every kind; none went unnoticed.
  CHECK(doc_examples.size() >= 30);
  CHECK(errors >= 20);
  CHECK(packed >= 5);
  CHECK(planned >= 5);
}
