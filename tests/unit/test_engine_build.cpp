// The build engine on small projects: NVRTC (no GPU needed), the compile cache, and the launch
// checks against kernel signatures with their exact messages. Tier "nvrtc".
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/util/file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fibkit;

namespace {

/// A temporary project directory that parses config.toml text against itself.
struct Project : testing::TempDir {
  core::ProjectConfig config(const std::string& toml) const {
    return core::parse_config(toml, "config.toml", path());
  }
};

// A definition of our own: y = x * s over [n, 4], with an int32 input and a bf16 output.
core::Definition scale_definition() {
  static const std::string text = R"({
    "name": "scale_n4", "op_type": "test",
    "axes": {"n": {"type": "var"}, "d": {"type": "const", "value": 4}},
    "inputs": {"x": {"shape": ["n", "d"], "dtype": "float32"},
               "idx": {"shape": ["n"], "dtype": "int32"},
               "s": {"shape": null, "dtype": "float32"}},
    "outputs": {"y": {"shape": ["n", "d"], "dtype": "bfloat16"}},
    "reference": "def run(x, idx, s):\n    return (x * s).bfloat16()\n"})";
  util::JsonParser parser;
  return core::parse_definition(util::parse_json(parser, text, {"scale_n4.json", 0}));
}

const char* k_kernel = R"(#include "fibkit.cuh"
using namespace fibkit;
extern "C" __global__ void scale_kernel(const float* x, const int* idx, float s, bf16* y, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n * 4) {
    y[i] = from_float<bf16>(x[i] * s + 0.0f * idx[i / 4]);
  }
}
template <int N>
__global__ void scale_tmpl(const float* x, const int* idx, float s, bf16* y, long long n) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i < n * N) {
    y[i] = from_float<bf16>(x[i] * s + 0.0f * idx[i / N]);
  }
}
)";

std::string config_with(const std::string& kernel, const std::string& args) {
  return R"toml([solution]
name = "scale"
definition = "scale_n4"
author = "tests"
source_dir = "k"
entry_point = "scale.cu::run"

[[solution.launch]]
kernel = ")toml" +
         kernel + R"toml("
grid = ["ceil_div(n * d, 128)"]
block = [128]
args = [)toml" +
         args + "]\n";
}

const std::string k_good_args = R"("x", "idx", "s", "y", "n")";

engine::SolutionBuild build_and_check(const Project& p, const std::string& toml,
                                      util::DiskCache* cache = nullptr) {
  const core::ProjectConfig config = p.config(toml);
  engine::BuildSettings settings;
  settings.cache = cache;
  engine::SolutionBuild b = engine::build_solution(config.solutions[0], "sm_90a", settings);
  engine::check_build(config.solutions[0], scale_definition(), b);
  return b;
}

} // namespace

TEST_CASE("build: an extern C kernel compiles and its launch checks pass", "[nvrtc][engine]") {
  Project p;
  p.write("k/scale.cu", k_kernel);
  const engine::SolutionBuild b = build_and_check(p, config_with("scale_kernel", k_good_args));
  REQUIRE(b.kernels.size() == 1);
  CHECK(b.kernels[0].lowered == "scale_kernel");
  CHECK(b.kernels[0].params.size() == 5);
  CHECK(b.kernels[0].has_resources);
  CHECK(b.kernels[0].max_threads > 0);
  CHECK(b.warnings.empty());
  CHECK_FALSE(b.programs[0].cubin.empty());
}

TEST_CASE("build: a template kernel through a name expression", "[nvrtc][engine]") {
  Project p;
  p.write("k/scale.cu", k_kernel);
  const engine::SolutionBuild b = build_and_check(p, config_with("scale_tmpl<4>", k_good_args));
  REQUIRE(b.kernels.size() == 1);
  CHECK(b.kernels[0].lowered == "_Z10scale_tmplILi4EEvPKfPKifP13__nv_bfloat16x");
  CHECK(b.kernels[0].params[4].text == "long long");
}

TEST_CASE("build: each kind of signature mismatch has its exact message", "[nvrtc][engine]") {
  Project p;
  p.write("k/scale.cu", std::string(k_kernel) + R"(
extern "C" __global__ void wrong_dtype(const __half* x, const int* idx, float s, bf16* y, int n) {}
extern "C" __global__ void const_out(const float* x, const int* idx, float s, const bf16* y, int n) {}
extern "C" __global__ void scalar_ptr(const float* x, const int* idx, const float* s, bf16* y, int n) {}
extern "C" __global__ void axis_float(const float* x, const int* idx, float s, bf16* y, float n) {}
extern "C" __global__ void writable_in(float* x, const int* idx, float s, bf16* y, int n) {}
)");
  const std::string where = "config.toml:8: launch 0 ";
  SECTION("argument count") {
    CHECK_THROWS_WITH(build_and_check(p, config_with("scale_kernel", R"("x", "idx", "s", "y")")),
                      where + "(scale_kernel): the kernel takes 5 parameters, the launch passes 4 "
                              "arguments");
  }
  SECTION("pointer element type against the dtype") {
    CHECK_THROWS_WITH(
        build_and_check(p, config_with("wrong_dtype", k_good_args)),
        where + "(wrong_dtype): parameter 0 (const __half*) does not fit argument \"x\": input "
                "\"x\" of scale_n4 is float32 [n, d]; expected const float*");
  }
  SECTION("an output must be writable") {
    CHECK_THROWS_WITH(
        build_and_check(p, config_with("const_out", k_good_args)),
        where + "(const_out): parameter 3 (const __nv_bfloat16*) does not fit argument \"y\": "
                "output \"y\" of scale_n4 is bfloat16 [n, d], which the kernel must write; "
                "expected __nv_bfloat16*");
  }
  SECTION("a scalar is passed by value") {
    CHECK_THROWS_WITH(build_and_check(p, config_with("scalar_ptr", k_good_args)),
                      where + "(scalar_ptr): parameter 2 (const float*) does not fit argument "
                              "\"s\": input \"s\" of scale_n4 is a float32 scalar passed by value; "
                              "expected float");
  }
  SECTION("an axis is an integer by value") {
    CHECK_THROWS_WITH(build_and_check(p, config_with("axis_float", k_good_args)),
                      where + "(axis_float): parameter 4 (float) does not fit argument \"n\": axis "
                              "\"n\" is an integer passed by value; expected int, unsigned, long "
                              "long or unsigned long long");
  }
  SECTION("a literal's type must match the parameter") {
    CHECK_THROWS_WITH(
        build_and_check(p, config_with("scale_kernel", R"("x", "idx", "s", "y", "int64:4")")),
        where + "(scale_kernel): parameter 4 (int) does not fit argument \"int64:4\": a int64 "
                "literal; expected a int64 parameter");
  }
  SECTION("a writable input pointer is a warning") {
    const engine::SolutionBuild b = build_and_check(p, config_with("writable_in", k_good_args));
    REQUIRE(b.warnings.size() == 1);
    CHECK(b.warnings[0] == where + "(writable_in): parameter 0 (float*) takes input \"x\" through "
                                   "a writable pointer; declare it const (inputs must not be "
                                   "written)");
  }
}

TEST_CASE("build: a syntax error is reported at the user's file and line", "[nvrtc][engine]") {
  Project p;
  p.write("k/scale.cu", "#include \"fibkit.cuh\"\n\nextern \"C\" __global__ void scale_kernel(\n"
                        "  int x) { int y = x +; }\n");
  const fs::path cwd = fs::current_path();
  fs::current_path(p.path());
  try {
    build_and_check(p, config_with("scale_kernel", k_good_args));
    FAIL("expected a compile error");
  } catch (const engine::CompileError& e) {
    CHECK_THAT(e.what(), Catch::Contains("k/scale.cu does not compile for sm_90a"));
    CHECK_THAT(e.what(), Catch::Contains("k/scale.cu(4): error"));
  }
  fs::current_path(cwd);
}

TEST_CASE("build: a kernel must be declared in exactly one .cu source", "[nvrtc][engine]") {
  Project p;
  p.write("k/scale.cu", k_kernel);
  CHECK_THROWS_WITH(build_and_check(p, config_with("missing_kernel", k_good_args)),
                    "config.toml:8: kernel \"missing_kernel\" is declared __global__ in 0 of the "
                    "solution's .cu sources (scale.cu); expected exactly one");
  p.write("k/copy.cu", k_kernel);
  CHECK_THROWS_WITH(build_and_check(p, config_with("scale_kernel", k_good_args)),
                    Catch::Contains("is declared __global__ in 2 of the solution's .cu sources "
                                    "(copy.cu, scale.cu)"));
}

TEST_CASE("build: the cache serves unchanged sources and a header change invalidates it",
          "[nvrtc][engine][cache]") {
  Project p;
  util::DiskCache cache(p.path() / "cache");
  p.write("k/params.cuh", "constexpr float kBias = 0.0f;\n");
  p.write("k/scale.cu", std::string("#include \"params.cuh\"\n") + k_kernel);
  const std::string toml = config_with("scale_kernel", k_good_args);
  const engine::SolutionBuild cold = build_and_check(p, toml, &cache);
  CHECK_FALSE(cold.programs[0].cached);
  const engine::SolutionBuild warm = build_and_check(p, toml, &cache);
  CHECK(warm.programs[0].cached);
  CHECK(warm.programs[0].cubin == cold.programs[0].cubin);
  CHECK(warm.kernels[0].params.size() == 5);
  CHECK(warm.kernels[0].resources.registers == cold.kernels[0].resources.registers);

  p.write("k/params.cuh", "constexpr float kBias = 1.0f;\n");
  CHECK_FALSE(build_and_check(p, toml, &cache).programs[0].cached);
  CHECK(build_and_check(p, toml, &cache).programs[0].cached);

  // A define changes the key too.
  const std::string with_define = std::string("[build]\ndefines = { FAST = 1 }\n\n") + toml;
  CHECK_FALSE(build_and_check(p, with_define, &cache).programs[0].cached);
}

TEST_CASE("build: two processes building the same key concurrently both succeed",
          "[nvrtc][engine][cache]") {
  Project p;
  p.write("k/scale.cu", k_kernel);
  const std::string toml = config_with("scale_kernel", k_good_args);
  std::vector<pid_t> children;
  for (int i = 0; i < 2; ++i) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int rc = 0;
      try {
        util::DiskCache cache(p.path() / "cache");
        build_and_check(p, toml, &cache);
      } catch (...) {
        rc = 1;
      }
      ::_exit(rc);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  util::DiskCache cache(p.path() / "cache");
  CHECK(cache.entry_count() == 1);
  CHECK(build_and_check(p, toml, &cache).programs[0].cached);
}
