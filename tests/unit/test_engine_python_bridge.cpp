// The Python bridge without a GPU: the child is started, speaks the protocol, and its failures
// come back as clear errors (no interpreter, no torch, torch without a GPU); the code it would
// load is what the official builders load. The GPU half is tools/gpu_bridge_check.sh.
#include "fibkit/engine/python_bridge.hpp"

#include "fibkit/core/trace/definition.hpp"
#include "fibkit/util/error.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cstdlib>
#include <string>

using namespace fibkit;
using fibkit::testing::EnvGuard;
using fibkit::testing::TempDir;

namespace {

std::string bridge_error(const std::filesystem::path& cache) {
  try {
    engine::PythonBridge bridge(cache);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool python3_has(const char* module) {
  return std::system(fmt::format("python3 -c 'import {}' >/dev/null 2>&1", module).c_str()) == 0;
}

} // namespace

TEST_CASE("python bridge: a missing interpreter is an error that names it", "[bridge]") {
  TempDir dir;
  EnvGuard python("FIBKIT_PYTHON", std::string("/nonexistent/python3"));
  const std::string error = bridge_error(dir.path());
  CHECK_THAT(error, Catch::Contains("the Python bridge (/nonexistent/python3) exited with "
                                    "status 127"));
}

TEST_CASE("python bridge: python3 without torch says so", "[bridge]") {
  if (std::system("python3 -c '' >/dev/null 2>&1") != 0 || python3_has("torch")) {
    WARN("skipped: needs a python3 without torch");
    return;
  }
  TempDir dir;
  EnvGuard python("FIBKIT_PYTHON", std::string("python3"));
  CHECK_THAT(bridge_error(dir.path()), Catch::Contains("cannot import torch"));
}

TEST_CASE("python bridge: torch that sees no GPU is an error, through the protocol", "[bridge]") {
  if (std::system("python3 -c '' >/dev/null 2>&1") != 0) {
    WARN("skipped: needs python3");
    return;
  }
  // A stand-in torch whose CUDA is unavailable: the reply travels back as {"ok": false}.
  TempDir dir;
  dir.write("site/torch/__init__.py", "__version__ = '0.0-test'\n"
                                      "float32 = float16 = bfloat16 = float8_e4m3fn = None\n"
                                      "float8_e5m2 = int64 = int32 = int16 = int8 = bool = None\n"
                                      "class cuda:\n"
                                      "    @staticmethod\n"
                                      "    def is_available():\n"
                                      "        return False\n");
  EnvGuard python("FIBKIT_PYTHON", std::string("python3"));
  EnvGuard path("PYTHONPATH", (dir.path() / "site").string());
  CHECK_THAT(bridge_error(dir.path()), Catch::Contains("Python bridge: torch 0.0-test in") &&
                                           Catch::Contains("sees no CUDA GPU"));
}

TEST_CASE("python bridge: a definition's reference is loaded as the official evaluator builds it",
          "[bridge]") {
  core::Definition def;
  def.name = "d";
  def.reference = "def run(x):\n    return x\n";
  const engine::PythonCode c = engine::reference_code(def);
  CHECK(c.name == "d__reference");
  CHECK(c.language == "python");
  CHECK(c.entry_point == "main.py::run");
  CHECK_FALSE(c.dps);
  REQUIRE(c.sources.size() == 1);
  CHECK(c.sources[0].path == "main.py");
  CHECK(c.sources[0].content == def.reference);
}
