// Tests for core::check_launch_sizes (include/fibkit/core/project/launch_sizes.hpp): every
// launch-plan expression evaluated for every workload of the embedded examples, without a GPU.
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/launch_sizes.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using fibkit::testing::error_of;
namespace core = fibkit::core;

namespace {

// A GDN decode solution whose only launch has the given grid and block (TOML values).
std::string check(const std::string& grid, const std::string& block, std::int64_t num_sms = 0,
                  const std::string& extra = "", const std::string& launch_extra = "") {
  static const core::TraceSet set = core::load_embedded_examples();
  const std::string text = "[solution]\nname = \"s\"\ndefinition = "
                           "\"gdn_decode_qk4_v8_d128_k_last\"\nauthor = \"t\"\n" +
                           extra + "\n[[solution.launch]]\nkernel = \"k\"\ngrid = " + grid +
                           "\nblock = " + block + "\n" + launch_extra +
                           "args = [\"output\", \"new_state\"]\n";
  const core::ProjectConfig config = core::parse_config(text, "config.toml", "/tmp");
  const core::SolutionConfig& s = config.solutions.front();
  const core::Definition& def = *set.find_definition(s.definition);
  return error_of([&] {
    core::check_launch_sizes(s, def, set.workloads_of(def.name),
                             core::launch_limits("sm_90a", num_sms));
  });
}

} // namespace

TEST_CASE("launch sizes: a plan every workload can launch passes", "[core][launch]") {
  CHECK(check(R"x(["batch_size", "num_v_heads", "head_size / 4"])x", "[128]") == "no error");
  CHECK(check(R"x(["min(num_sms, batch_size)"])x", "[32, 32]") == "no error");
}

TEST_CASE("launch sizes: the first bad workload, with the expression's line", "[core][launch]") {
  const std::string zero = check(R"x(["batch_size - 1"])x", "[128]");
  CHECK_THAT(zero, Catch::StartsWith("config.toml:8: solution.launch[0].grid[0]: \"batch_size - "
                                     "1\" = 0 for workload 0 (uuid "));
  CHECK_THAT(zero, Catch::Contains("batch_size=1 num_sms=132) of gdn_decode_qk4_v8_d128_k_last: "
                                   "grid x must be in [1, 2147483647]"));
  CHECK_THAT(check(R"x(["ceil_div(batch_size, num_v_heads - 8)"])x", "[128]"),
             Catch::Contains("division by zero") && Catch::Contains("for workload 0"));
  CHECK_THAT(check("[1, \"batch_size * 70000\"]", "[128]"),
             Catch::Contains("= 70000 for workload 0") &&
                 Catch::Contains("grid y must be in [1, 65535]"));
  CHECK_THAT(check("[1]", "[0]"), Catch::Contains("block x must be in [1, 1024]"));
  CHECK_THAT(check("[1]", "[32, 64]"), Catch::Contains("a block of 2048 threads exceeds the 1024"));
  CHECK_THAT(check("[1]", "[1, 1, 65]"), Catch::Contains("block z must be in [1, 64]"));
  CHECK_THAT(check("[\"num_sms - 200\"]", "[1]", 148),
             Catch::Contains("= -52 for workload 0") && Catch::Contains("num_sms=148"));
}

TEST_CASE("launch sizes: a launch skipped by `when` need not have valid sizes there",
          "[core][launch]") {
  // Batch 1 takes the other path: an empty grid there is no error.
  CHECK(check(R"x(["batch_size - 1"])x", "[128]", 0, "", "when = \"min(1, batch_size - 1)\"\n") ==
        "no error");
  // Where it runs, its sizes are checked as any launch's.
  CHECK_THAT(check(R"x(["batch_size - 1"])x", "[128]", 0, "", "when = \"batch_size\"\n"),
             Catch::Contains("grid x must be in [1, 2147483647]"));
  CHECK_THAT(check("[1]", "[128]", 0, "", "when = \"batch_size / (num_v_heads - 8)\"\n"),
             Catch::Contains("division by zero") && Catch::Contains("for workload 0"));
}

TEST_CASE("launch sizes: workspaces and the kernel's own limits", "[core][launch]") {
  CHECK_THAT(check("[1]", "[1]", 0,
                   "[[solution.workspace]]\nname = \"w\"\ndtype = \"float32\"\nshape = "
                   "[\"batch_size - 2\"]\n"),
             Catch::Contains("workspace \"w\" needs dimensions >= 0"));
  static const core::TraceSet set = core::load_embedded_examples();
  const core::ProjectConfig config = core::parse_config(
      "[solution]\nname = \"s\"\ndefinition = \"gdn_decode_qk4_v8_d128_k_last\"\nauthor = "
      "\"t\"\n[[solution.launch]]\nkernel = \"k\"\ngrid = [1]\nblock = [512]\nshared_memory = "
      "200000\nargs = [\"output\", \"new_state\"]\n",
      "config.toml", "/tmp");
  const core::SolutionConfig& s = config.solutions.front();
  const core::Definition& def = *set.find_definition(s.definition);
  core::LaunchLimits limits = core::launch_limits("sm_90a");
  limits.kernel_max_threads = {256};
  CHECK_THAT(
      error_of([&] { core::check_launch_sizes(s, def, set.workloads_of(def.name), limits); }),
      Catch::Contains("exceeds the 256 that kernel \"k\" can run with on sm_90a"));
  limits.kernel_max_threads = {1024};
  limits.max_shared_memory = 232448;
  limits.kernel_static_smem = {40000};
  CHECK_THAT(
      error_of([&] { core::check_launch_sizes(s, def, set.workloads_of(def.name), limits); }),
      Catch::Contains("240000 bytes of shared memory (200000 dynamic + 40000 static) exceed "
                      "the 232448"));
}

TEST_CASE("launch sizes: num_sms of each arch's largest part", "[core][launch]") {
  CHECK(core::largest_part_sms("sm_90a") == 132);
  CHECK(core::largest_part_sms("sm_100a") == 148);
  CHECK(core::largest_part_sms("sm_100f") == 148);
  CHECK(core::largest_part_sms("sm_80") == 108);
  CHECK(core::launch_limits("sm_90a", 114).num_sms == 114);
}
