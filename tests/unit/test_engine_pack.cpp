// fibkit pack's generated TVM-FFI host entry: expressions as C++, the entry's signature and
// checks, and the packed solutions of the feature project (tests/official/features) in both
// modes. Building them with nvcc as the official builder does is tests/official (label
// "official"); running them is the GPU cross-check (tools/official_check.sh).
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/expr.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/engine/entry.hpp"
#include "fibkit/engine/pack.hpp"
#include "fibkit/util/json_reader.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

namespace fs = std::filesystem;
using namespace fibkit;

namespace {

std::string cpp(const std::string& text) {
  return core::Expr::parse(text).to_cpp([](const std::string& n) { return "ax_" + n; });
}

const fs::path k_features = fs::path(FIBKIT_SOURCE_DIR) / "tests/official/features";
const fs::path k_archspecific = fs::path(FIBKIT_SOURCE_DIR) / "tests/official/archspecific";

core::Definition feature_definition() {
  return core::load_definition(k_features / "dataset/definitions/feat/feat_scale_rows.json",
                               "feat_scale_rows.json");
}

const core::SourceFile& source(const core::Solution& s, const std::string& path) {
  const auto it = std::find_if(s.sources.begin(), s.sources.end(),
                               [&](const core::SourceFile& f) { return f.path == path; });
  REQUIRE(it != s.sources.end());
  return *it;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("pack: expressions become checked C++ with the evaluator's operators", "[engine]") {
  CHECK(cpp("ceil_div(n, 4) + 1") == "fk::add(fk::ceil_div(ax_n, INT64_C(4)), INT64_C(1))");
  CHECK(cpp("a - b * c / d % e") ==
        "fk::sub(ax_a, fk::mod(fk::div(fk::mul(ax_b, ax_c), ax_d), ax_e))");
  CHECK(cpp("-(x)") == "fk::neg(ax_x)");
  CHECK(cpp("-3") == "INT64_C(-3)");
  CHECK(cpp("min(a, b, c)") == "fk::min(fk::min(ax_a, ax_b), ax_c)");
  CHECK(cpp("round_up(max(a, 1), 64)") == "fk::round_up(fk::max(ax_a, INT64_C(1)), INT64_C(64))");
  CHECK(cpp("-9223372036854775808") == "(INT64_C(-9223372036854775807) - 1)");
}

TEST_CASE("pack: C++ string literals escape what C++ would misread", "[engine]") {
  CHECK(engine::cpp_string_literal("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(engine::cpp_string_literal("x\ny") == "\"x\\012y\"");
  CHECK(engine::cpp_string_literal("?\?=") == "\"\\?\\?=\"");
}

TEST_CASE("pack: source mode adds the entry, the defines and the kernel handles",
          "[nvrtc][engine]") {
  const core::ProjectConfig project = core::load_config(k_features / "config.toml");
  const core::Definition def = feature_definition();
  engine::PackOptions options;
  options.generator = "fibkit test";
  const engine::PackedSolution packed =
      engine::pack_for_official(project.solutions.at(0), def, options);
  const core::Solution& s = packed.solution;
  CHECK(s.spec.entry_point == "fibkit_entry.cu::run");
  CHECK(s.spec.binding == std::optional<std::string>("tvm-ffi"));
  std::vector<std::string> paths;
  for (const core::SourceFile& f : s.sources) {
    paths.push_back(f.path);
  }
  CHECK(paths == std::vector<std::string>{"scale.cu", "rowsum.cu", "feat_common.cuh", "fibkit.cuh",
                                          "fibkit_entry.cu"});
  // The define NVRTC got as -D, then the file with its own line numbers, then the handles.
  const std::string& scale = source(s, "scale.cu").content;
  CHECK(scale.rfind("#define FEAT_ROWS_PER_BLOCK 4\n#line 1 \"scale.cu\"\n", 0) == 0);
  CHECK(contains(scale, "extern \"C\" const void* fibkit_kernel_0() {\n  return "
                        "reinterpret_cast<const void*>(&scale_kernel<256>);\n}"));
  CHECK(contains(source(s, "rowsum.cu").content, "&add_row_sums_kernel"));
  CHECK_FALSE(contains(source(s, "feat_common.cuh").content, "fibkit_kernel_"));

  const std::string& entry = source(s, "fibkit_entry.cu").content;
  // DPS signature: inputs in definition order with scalars by kind, then the output.
  CHECK(contains(entry, "void run(tvm::ffi::TensorView in_x, tvm::ffi::TensorView in_bias, "
                        "int64_t in_i32, int64_t in_i64, double in_f, bool in_flag, "
                        "tvm::ffi::TensorView out_y)"));
  CHECK(contains(entry, "TVM_FFI_DLL_EXPORT_TYPED_FUNC(run, fibkit_entry::run);"));
  // The var axis from the first tensor that has it; every tensor checked.
  CHECK(contains(entry, "const int64_t ax_rows = in_x.size(0);"));
  CHECK(contains(entry, "constexpr int64_t ax_cols = INT64_C(256);"));
  CHECK(contains(entry, "check_tensor(in_bias, \"input\", \"bias\", \"bfloat16\", 4, 16, 1, "
                        "device);"));
  CHECK(contains(entry, "check_dim(out_y, \"output\", \"y\", 1, \"cols\", ax_cols);"));
  // Workspace zeroed before every call; scalars narrowed to the kernel's parameter types.
  CHECK(contains(entry, "cudaMemsetAsync(ws0, 0"));
  CHECK(contains(entry, "int32_t a2 = narrow<int32_t>("));
  CHECK(contains(entry, "int64_t a3 = narrow<int64_t>("));
  CHECK(contains(entry, "float a4 = static_cast<float>(in_f);"));
  CHECK(contains(entry, "(in_flag ? 1 : 0)"));
  CHECK(contains(entry, "fibkit_kernel_0(), grid, block, smem"));
}

TEST_CASE("pack: cubin mode embeds one cubin per arch and .cu file", "[nvrtc][engine]") {
  const core::ProjectConfig project = core::load_config(k_features / "config.toml");
  const core::Definition def = feature_definition();
  engine::PackOptions options;
  options.mode = engine::PackMode::cubin;
  const engine::PackedSolution packed =
      engine::pack_for_official(project.solutions.at(0), def, options);
  const core::Solution& s = packed.solution;
  REQUIRE(s.sources.size() == 1);
  const std::string& entry = s.sources[0].content;
  CHECK(s.sources[0].path == "fibkit_entry.cu");
  CHECK(contains(entry, "#include <tvm/ffi/extra/cuda/cubin_launcher.h>"));
  for (int c = 0; c < 4; ++c) {
    CHECK(contains(entry, "TVM_FFI_EMBED_CUBIN_FROM_BYTES(fibkit_cubin_" + std::to_string(c)));
  }
  CHECK_FALSE(contains(entry, "fibkit_cubin_4"));
  CHECK(contains(entry, "scale.cu for sm_90a"));
  CHECK(contains(entry, "rowsum.cu for sm_100a"));
  CHECK(contains(entry, "if (cc == 90) {"));
  CHECK(contains(entry, "if (cc == 100) {"));
  CHECK(contains(entry, "\"add_row_sums_kernel\""));
  CHECK(contains(entry, "\"_Z12scale_kernelILi256EEvPKfPK13__nv_bfloat16ixfbPfS5_i\""));
}

TEST_CASE("pack: source mode refuses arch-specific code and warns about its guards",
          "[nvrtc][engine]") {
  const core::ProjectConfig project = core::load_config(k_archspecific / "config.toml");
  const core::Definition def = feature_definition();
  engine::PackOptions options;
  const core::SolutionConfig& guarded = project.select("feat-arch-specific");
  const engine::PackedSolution packed = engine::pack_for_official(guarded, def, options);
  REQUIRE(packed.warnings.size() == 1);
  CHECK(contains(packed.warnings[0], "arch.cu:5: __CUDA_ARCH_FEAT_SM90_ALL selects"));
  CHECK_THROWS_WITH(engine::pack_for_official(project.select("feat-arch-unguarded"), def, options),
                    Catch::Contains("arch_unguarded.cu does not compile for plain sm_100") &&
                        Catch::Contains("but does for sm_100a") &&
                        Catch::Contains("--embed-cubin"));
  options.mode = engine::PackMode::cubin;
  CHECK_NOTHROW(engine::pack_for_official(project.select("feat-arch-unguarded"), def, options));
}

TEST_CASE("pack: a var axis in no tensor shape cannot reach the entry", "[engine]") {
  util::JsonParser parser;
  const core::Definition def = core::parse_definition(util::parse_json(parser, R"({
    "name": "hidden_axis", "op_type": "test",
    "axes": {"n": {"type": "var"}, "m": {"type": "var"}},
    "inputs": {"x": {"shape": ["n"], "dtype": "float32"}},
    "outputs": {"y": {"shape": ["n"], "dtype": "float32"}},
    "reference": "def run(x):\n    return x\n"})",
                                                                       {"d.json", 0}));
  const core::ProjectConfig project = core::parse_config(R"(
[[solution]]
name = "s"
definition = "hidden_axis"
author = "a"
entry_point = "k.cu::run"
[[solution.launch]]
kernel = "k"
grid = ["m"]
block = [32]
args = ["x", "y"]
)",
                                                         "config.toml", fs::temp_directory_path());
  engine::EntryInput in;
  in.solution = &project.solutions.at(0);
  in.definition = &def;
  in.symbol = "run";
  CHECK_THROWS_WITH(engine::generate_entry(in),
                    Catch::Contains("var axis \"m\" of hidden_axis is in no tensor shape"));
  in.symbol = "not-an-identifier";
  CHECK_THROWS_WITH(engine::generate_entry(in), Catch::Contains("is not a C identifier"));
}
