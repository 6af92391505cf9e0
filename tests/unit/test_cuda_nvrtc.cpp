// Tests for NVRTC compilation and the signature probe (include/fibkit/cuda/nvrtc.hpp). Tests tagged
// [nvrtc] call NVRTC (the CUDA toolkit, no GPU); [cuda] ones are pure.
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/cuda/resources.hpp"
#include "fibkit/cuda/signature.hpp"
#include "fibkit/util/error.hpp"
#include "test_support.hpp"

#include "test_cuda_support.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

using fibkit::cuda::add_signature_probes;
using fibkit::cuda::compile;
using fibkit::cuda::CompileInput;
using fibkit::cuda::CompileOutput;
using fibkit::cuda::find_lowered;
using fibkit::cuda::kernel_signature;
using fibkit::cuda::ParamType;
using fibkit::testing::EnvGuard;
using fibkit::testing::sizes;
using fibkit::testing::TempDir;
using fibkit::testing::texts;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// fibkit.cuh as the binary embeds it.
std::string embedded_fibkit_cuh() {
  for (const auto& file : fibkit::core::embedded_files()) {
    if (file.path == "kernels/fibkit.cuh") {
      return std::string(file.content);
    }
  }
  FAIL("kernels/fibkit.cuh is not embedded");
  return {};
}

/// A compile input for `source` named `name`, with fibkit.cuh in memory.
CompileInput input_for(const std::string& name, const std::string& source,
                       const std::string& arch = "sm_90a") {
  CompileInput input;
  input.name = name;
  input.source = source;
  input.headers = {{"fibkit.cuh", embedded_fibkit_cuh()}};
  input.arch = arch;
  return input;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

// ---- pure ---------------------------------------------------------------------------------------

TEST_CASE("nvrtc: architecture names", "[cuda]") {
  using fibkit::cuda::arch_number;
  CHECK(arch_number("sm_90a") == 90);
  CHECK(arch_number("sm_90") == 90);
  CHECK(arch_number("sm_100a") == 100);
  CHECK(arch_number("sm_100f") == 100);
  CHECK(arch_number("sm_121") == 121);
  CHECK_FALSE(arch_number("compute_90"));
  CHECK_FALSE(arch_number("sm_"));
  CHECK_FALSE(arch_number("sm_90b"));
  CHECK_FALSE(arch_number("sm_09"));
  CHECK_FALSE(arch_number("sm_9x"));
  CHECK_FALSE(arch_number("auto"));
  CHECK_THROWS_AS(compile(input_for("x.cu", "", "compute_90")), fibkit::Error);
  CHECK_THROWS_AS(compile(input_for("x.cu", "", "auto")), fibkit::Error);
}

TEST_CASE("nvrtc: base options", "[cuda]") {
  const auto dirs = fibkit::cuda::cuda_include_dirs();
  REQUIRE_FALSE(dirs.empty());
  CHECK(fs::exists(dirs.front() / "cuda_runtime.h"));
  CHECK(std::find(dirs.begin(), dirs.end(), dirs.front() / "cccl") != dirs.end());

  const auto options = fibkit::cuda::base_options("sm_100a");
  REQUIRE(options.size() == 4 + dirs.size());
  CHECK(options[0] == "--gpu-architecture=sm_100a");
  CHECK(options[1] == "-std=c++17");
  for (std::size_t i = 0; i < dirs.size(); ++i) {
    CHECK(options[2 + i] == "-I" + dirs[i].string());
  }
  CHECK(options[options.size() - 2] == "--ptxas-options=-v");
  CHECK(options.back() == "-default-device");
}

TEST_CASE("nvrtc: $CUDA_HOME and $CUDA_PATH choose the include directory", "[cuda]") {
  TempDir home;
  home.write("include/cuda_runtime.h", "");
  home.write("include/cccl/cuda/std/cstdint", "");
  TempDir path;
  path.write("include/cuda_runtime.h", "");
  {
    EnvGuard h("CUDA_HOME", home.path().string());
    EnvGuard p("CUDA_PATH", path.path().string());
    CHECK(fibkit::cuda::cuda_include_dirs() ==
          std::vector<fs::path>{home.path() / "include", home.path() / "include" / "cccl"});
  }
  {
    EnvGuard h("CUDA_HOME", std::nullopt);
    EnvGuard p("CUDA_PATH", path.path().string());
    CHECK(fibkit::cuda::cuda_include_dirs() == std::vector<fs::path>{path.path() / "include"});
  }
  {
    // A variable naming no toolkit falls back to the one fibkit was built with.
    EnvGuard h("CUDA_HOME", (home.path() / "missing").string());
    EnvGuard p("CUDA_PATH", std::nullopt);
    const auto dirs = fibkit::cuda::cuda_include_dirs();
    REQUIRE_FALSE(dirs.empty());
    CHECK(fs::exists(dirs.front() / "cuda_runtime.h"));
  }
}

TEST_CASE("nvrtc: user options NVRTC rejects are dropped with a warning", "[cuda]") {
  std::vector<std::string> warnings;
  const auto kept = fibkit::cuda::sanitize_user_options(
      {"-O3", "-lineinfo", "-arch", "sm_80", "--use_fast_math", "-O0", "-arch=sm_80",
       "--gpu-architecture=sm_90", "-DX=1", "--ptxas-options=-O3", "-Ofast"},
      &warnings);
  CHECK(kept ==
        std::vector<std::string>{"-lineinfo", "--use_fast_math", "-DX=1", "--ptxas-options=-O3"});
  REQUIRE(warnings.size() == 6);
  CHECK(warnings[0] == "ignoring NVRTC option '-O3': NVRTC has no -O option and optimises by "
                       "default (ptxas's level is --ptxas-options=-O3, its default)");
  CHECK(warnings[1] ==
        "ignoring NVRTC option '-arch sm_80': the target architectures come from config.toml's "
        "arch");
  CHECK(contains(warnings[2], "'-O0'"));
  CHECK(contains(warnings[3], "'-arch=sm_80'"));
  CHECK(contains(warnings[4], "'--gpu-architecture=sm_90'"));
  CHECK(contains(warnings[5], "'-Ofast'"));
  CHECK(fibkit::cuda::sanitize_user_options({"-O2", "-G"}, nullptr) ==
        std::vector<std::string>{"-G"});
  CHECK(fibkit::cuda::sanitize_user_options({}, &warnings).empty());
}

TEST_CASE("nvrtc: adding signature probes", "[cuda]") {
  using fibkit::cuda::probe_expression;
  CHECK(probe_expression("gdn_decode_kernel") ==
        "fibkit_probe::probe<decltype(gdn_decode_kernel)>");
  CHECK(probe_expression("moe_gemm<128>") == "fibkit_probe::probe<decltype(moe_gemm<128>)>");
  CHECK(fibkit::cuda::is_probe_name(
      "_ZN12fibkit_probe5probeIFviENS_5sizesIJLm4EEEEEEvPNS_3sigIT_EEPT0_"));
  CHECK_FALSE(fibkit::cuda::is_probe_name("gdn_decode_kernel"));
  CHECK_FALSE(fibkit::cuda::is_probe_name("_Z1tILi128EEvPK13__nv_bfloat16Pfi"));

  CompileInput input = input_for("k.cu", "extern \"C\" __global__ void k(int) {}"); // no '\n'
  input.name_expressions = {"k"};
  add_signature_probes(input, {"k", "t<4>"});
  add_signature_probes(input, {"t<4>"});
  CHECK(input.name_expressions == std::vector<std::string>{"k", "fibkit_probe::probe<decltype(k)>",
                                                           "t<4>",
                                                           "fibkit_probe::probe<decltype(t<4>)>"});
  // The probe follows the user's text on a line of its own, once.
  CHECK(input.source ==
        "extern \"C\" __global__ void k(int) {}\n" + std::string(fibkit::cuda::probe_source()));

  CompileOutput output;
  output.lowered = {{"k", "k"}, {"t<4>", "_Z1tILi4EEvv"}};
  REQUIRE(find_lowered(output, "t<4>") != nullptr);
  CHECK(*find_lowered(output, "t<4>") == "_Z1tILi4EEvv");
  CHECK(find_lowered(output, "t<5>") == nullptr);
  CHECK_THROWS_AS(kernel_signature(output, "k"), fibkit::Error);
}

// ---- NVRTC
// ----------------------------------------------------------------------------------------

TEST_CASE("nvrtc: version and architectures", "[nvrtc]") {
  const std::string version = fibkit::cuda::nvrtc_version();
  const auto dot = version.find('.');
  REQUIRE(dot != std::string::npos);
  CHECK(std::stoi(version.substr(0, dot)) >= 12);
  const auto archs = fibkit::cuda::supported_archs();
  for (const char* arch : {"sm_90", "sm_100"}) {
    CHECK(std::find(archs.begin(), archs.end(), arch) != archs.end());
  }
  for (const auto& arch : archs) {
    CHECK(fibkit::cuda::arch_number(arch).has_value());
  }
}

TEST_CASE("nvrtc: the repository's kernels compile without warnings", "[nvrtc]") {
  const auto project = fibkit::core::load_config(fs::path(FIBKIT_SOURCE_DIR) / "config.toml");
  REQUIRE(project.solutions.size() == 5);
  for (const auto& solution : project.solutions) {
    REQUIRE(solution.sources.size() == 1);
    const fs::path file = solution.source_dir / solution.sources.front();
    const std::string display = fs::relative(file, FIBKIT_SOURCE_DIR).generic_string();
    std::vector<std::string> kernels;
    for (const auto& launch : solution.launches) {
      kernels.push_back(launch.kernel);
    }
    REQUIRE(solution.build.arch == std::vector<std::string>{"sm_90a", "sm_100a"});
    for (const auto& arch : solution.build.arch) {
      INFO(display << " for " << arch);
      CompileInput input = input_for(display, read_file(file), arch);
      input.options = {"-I" + solution.source_dir.string()};
      add_signature_probes(input, kernels);
      const CompileOutput out = compile(input);
      INFO(out.log);
      REQUIRE(out.ok);
      CHECK_FALSE(contains(out.log, "warning"));
      CHECK_FALSE(contains(out.log, "error"));
      CHECK(out.cubin.substr(0, 4) == "\x7f"
                                      "ELF");
      const auto resources = fibkit::cuda::kernel_resources(out.log, out.cubin);
      CHECK(resources.size() == kernels.size()); // the probes' entries are left out
      for (const auto& launch : solution.launches) {
        INFO(launch.kernel);
        // extern "C": the lowered name is the kernel's own.
        REQUIRE(find_lowered(out, launch.kernel) != nullptr);
        CHECK(*find_lowered(out, launch.kernel) == launch.kernel);
        CHECK(kernel_signature(out, launch.kernel).size() == launch.args.size());
        const auto* r = fibkit::cuda::find_resources(resources, launch.kernel);
        REQUIRE(r != nullptr);
        CHECK(r->arch == arch);
        CHECK(r->registers > 0);
        CHECK(r->spill_stores == 0);
        CHECK(r->const_bytes > 0);
        CHECK(r->static_smem <= fibkit::cuda::max_dynamic_smem(arch));
      }
    }
  }
}

TEST_CASE("nvrtc: the probe gives gdn_decode_kernel's exact parameters", "[nvrtc]") {
  const fs::path file = fs::path(FIBKIT_SOURCE_DIR) / "kernels/gated_delta_net/gdn_decode.cu";
  CompileInput input = input_for("kernels/gated_delta_net/gdn_decode.cu", read_file(file));
  add_signature_probes(input, {"gdn_decode_kernel"});
  const CompileOutput out = compile(input);
  INFO(out.log);
  REQUIRE(out.ok);
  const auto params = kernel_signature(out, "gdn_decode_kernel");
  CHECK(texts(params) == std::vector<std::string>{
                             "const __nv_bfloat16*", "const __nv_bfloat16*", "const __nv_bfloat16*",
                             "const float*", "const float*", "const __nv_bfloat16*", "const float*",
                             "const __nv_bfloat16*", "float", "__nv_bfloat16*", "float*"});
  CHECK(sizes(params) == std::vector<std::size_t>{8, 8, 8, 8, 8, 8, 8, 8, 4, 8, 8});
  using fibkit::core::DType;
  CHECK(fibkit::cuda::type_matches_dtype(params[0], DType::bfloat16));
  CHECK(fibkit::cuda::type_matches_dtype(params[3], DType::float32));
  CHECK(fibkit::cuda::type_matches_scalar(params[8], DType::float32));
  CHECK_FALSE(params[9].is_const_pointee);
}

TEST_CASE("nvrtc: template, C++ and namespaced kernels", "[nvrtc]") {
  const std::string source = R"(#include "fibkit.cuh"
using namespace fibkit;
struct Params { int a; float b; double c; };
template <int N> __global__ void t(const __nv_bfloat16*, float*, int) {}
template <typename T, int N> __global__ void tt(const T*, T*, long long) {}
__global__ void cpp(const fp16* x, const fp8_e5m2* y, i8 c, u8* raw, Params p, half2* h2) {}
namespace ns { namespace inner {
__global__ void k(const bf16* __restrict__ a, i64* b, const float* const c, unsigned n) {}
} }
extern "C" __global__ void none() {}
)";
  CompileInput input = input_for("kernels/demo/kinds.cu", source);
  add_signature_probes(input, {"t<128>", "tt<float, 4>", "cpp", "ns::inner::k", "none"});
  const CompileOutput out = compile(input);
  INFO(out.log);
  REQUIRE(out.ok);

  CHECK(*find_lowered(out, "t<128>") == "_Z1tILi128EEvPK13__nv_bfloat16Pfi");
  CHECK(texts(kernel_signature(out, "t<128>")) ==
        std::vector<std::string>{"const __nv_bfloat16*", "float*", "int"});
  // A C++ kernel's own lowered name gives the same types (sizes from the table).
  CHECK(texts(fibkit::cuda::signature_from_lowered(*find_lowered(out, "t<128>"))) ==
        std::vector<std::string>{"const __nv_bfloat16*", "float*", "int"});

  CHECK(texts(kernel_signature(out, "tt<float, 4>")) ==
        std::vector<std::string>{"const float*", "float*", "long long"});

  const auto cpp = kernel_signature(out, "cpp");
  CHECK(texts(cpp) == std::vector<std::string>{"const __half*", "const __nv_fp8_e5m2*",
                                               "signed char", "unsigned char*", "Params",
                                               "__half2*"});
  CHECK(sizes(cpp) == std::vector<std::size_t>{8, 8, 1, 8, 16, 8});

  CHECK(*find_lowered(out, "ns::inner::k") == "_ZN2ns5inner1kEPK13__nv_bfloat16PxPKfj");
  const auto k = kernel_signature(out, "ns::inner::k");
  CHECK(texts(k) == std::vector<std::string>{"const __nv_bfloat16*", "long long*", "const float*",
                                             "unsigned int"});
  CHECK(fibkit::cuda::type_matches_dtype(k[1], fibkit::core::DType::int64));
  CHECK(fibkit::cuda::type_matches_axis(k[3]));

  CHECK(*find_lowered(out, "none") == "none");
  CHECK(kernel_signature(out, "none").empty());

  // The probes' entries are in the cubin but not in the resources.
  const auto resources = fibkit::cuda::kernel_resources(out.log, out.cubin);
  CHECK(resources.size() == 5);
  for (const auto& r : resources) {
    CHECK_FALSE(fibkit::cuda::is_probe_name(r.kernel));
  }
}

TEST_CASE("nvrtc: a syntax error is reported at the user's file and line", "[nvrtc]") {
  const std::string source = "#include \"fibkit.cuh\"\n"                    // 1
                             "\n"                                           // 2
                             "extern \"C\" __global__ void k(float* x) {\n" // 3
                             "  x[0] = 1.0f\n"                              // 4
                             "}\n";                                         // 5
  CompileInput input = input_for("kernels/demo/bad.cu", source);
  add_signature_probes(input, {"k"});
  const CompileOutput out = compile(input);
  CHECK_FALSE(out.ok);
  CHECK(out.cubin.empty());
  CHECK(out.lowered.empty());
  INFO(out.log);
  CHECK(contains(out.log, "kernels/demo/bad.cu(5): error: expected a \";\""));
  CHECK(contains(out.log, "1 error detected in the compilation of \"kernels/demo/bad.cu\""));
}

TEST_CASE("nvrtc: quoted includes resolve through -I of the source directory", "[nvrtc]") {
  TempDir dir;
  dir.write("kernels/demo/util.cuh", "#pragma once\n"
                                     "__device__ inline float twice(float x) {\n"
                                     "  return 2.0f * x +\n"
                                     "}\n");
  CompileInput input =
      input_for("kernels/demo/main.cu", "#include \"fibkit.cuh\"\n#include \"util.cuh\"\n"
                                        "extern \"C\" __global__ void k(float* x) {\n"
                                        "  x[0] = twice(x[0]);\n"
                                        "}\n");
  input.options = {"-I" + (dir.path() / "kernels/demo").string()};
  add_signature_probes(input, {"k"});
  CompileOutput out = compile(input);
  CHECK_FALSE(out.ok);
  INFO(out.log);
  CHECK(contains(out.log, (dir.path() / "kernels/demo/util.cuh").string() + "(4): error"));

  dir.write("kernels/demo/util.cuh",
            "#pragma once\n"
            "__device__ inline float twice(float x) { return 2.0f * x; }\n");
  out = compile(input);
  CHECK(out.ok);
}

TEST_CASE("nvrtc: warnings are data", "[nvrtc]") {
  CompileInput input = input_for("kernels/demo/warn.cu", "extern \"C\" __global__ void k() {\n"
                                                         "  int unused = 3;\n"
                                                         "}\n");
  input.name_expressions = {"k"};
  const CompileOutput out = compile(input);
  INFO(out.log);
  CHECK(out.ok);
  CHECK(contains(out.log, "kernels/demo/warn.cu(2): warning #177-D: variable \"unused\""));
}

TEST_CASE("nvrtc: a kernel the source lacks fails the compile", "[nvrtc]") {
  CompileInput input = input_for("kernels/demo/k.cu", "extern \"C\" __global__ void k() {}\n");
  add_signature_probes(input, {"k", "missing_kernel"});
  const CompileOutput out = compile(input);
  CHECK_FALSE(out.ok);
  INFO(out.log);
  CHECK(contains(out.log, "__nv_name_map"));
  CHECK(contains(out.log, "identifier \"missing_kernel\" is undefined"));
}

TEST_CASE("nvrtc: an overloaded kernel cannot be probed", "[nvrtc]") {
  CompileInput input = input_for("kernels/demo/o.cu", "__global__ void k(int) {}\n"
                                                      "__global__ void k(float) {}\n");
  add_signature_probes(input, {"k"});
  CHECK_FALSE(compile(input).ok);
}

TEST_CASE("nvrtc: -O3 is rejected by NVRTC and dropped by sanitize_user_options", "[nvrtc]") {
  CompileInput input = input_for("kernels/demo/o3.cu", "extern \"C\" __global__ void k() {}\n");
  input.options = {"-O3"};
  CompileOutput out = compile(input);
  CHECK_FALSE(out.ok);
  CHECK(contains(out.log, "unrecognized option -O3"));

  std::vector<std::string> warnings;
  input.options = fibkit::cuda::sanitize_user_options({"-O3", "-lineinfo"}, &warnings);
  CHECK(warnings.size() == 1);
  out = compile(input);
  INFO(out.log);
  CHECK(out.ok);
}

TEST_CASE("nvrtc: a user -std replaces the default", "[nvrtc]") {
  CompileInput input =
      input_for("kernels/demo/std.cu", "template <typename T> concept Small = sizeof(T) <= 4;\n"
                                       "template <Small T> __global__ void k(T) {}\n");
  input.name_expressions = {"k<int>"};
  CompileOutput out = compile(input);
  CHECK_FALSE(out.ok); // concepts need C++20
  input.options = {"-std=c++20"};
  out = compile(input);
  INFO(out.log);
  REQUIRE(out.ok);
  CHECK_FALSE(contains(out.log, "warning"));
  CHECK(find_lowered(out, "k<int>") != nullptr);
}
