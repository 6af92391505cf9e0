// Tests for CUPTI loading and the official per-iteration span rule
// (include/fibkit/cuda/cupti.hpp). The rule and the library search need no CUPTI; the tests that
// load the machine's real libcupti are registered at start-up only where it loads; where it does
// not, a [cupti] test named "SKIPPED: ..." passes and says why (Catch2 v2 has no SKIP).
#include "fibkit/cuda/cupti.hpp"
#include "fibkit/util/error.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <dlfcn.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fs = std::filesystem;

using Catch::Matchers::Contains;
using fibkit::cuda::ActivityTrace;
using fibkit::cuda::analyze_iterations;
using fibkit::cuda::ApiRecord;
using fibkit::cuda::CuptiError;
using fibkit::cuda::CuptiErrorKind;
using fibkit::cuda::GpuRecord;
using fibkit::cuda::iteration_spans_ns;
using fibkit::cuda::IterationActivity;
using fibkit::testing::EnvGuard;
using fibkit::testing::error_of;
using fibkit::testing::TempDir;

namespace {

// Timestamps like CUPTI's: nanoseconds since the epoch, beyond a double's exact integers.
constexpr uint64_t T0 = 1'795'561'463'379'938'977ull;

ApiRecord runtime_call(uint32_t id, uint64_t start, uint64_t end) {
  return ApiRecord{id, T0 + start, T0 + end, false, 211};
}

ApiRecord driver_call(uint32_t id, uint64_t start, uint64_t end) {
  return ApiRecord{id, T0 + start, T0 + end, true, 652};
}

GpuRecord kernel(uint32_t id, uint64_t start, uint64_t end, const std::string& name,
                 uint32_t stream = 7) {
  GpuRecord g;
  g.correlation_id = id;
  g.start = T0 + start;
  g.end = T0 + end;
  g.kind = GpuRecord::kernel;
  g.name = name;
  g.stream_id = stream;
  return g;
}

GpuRecord memcpy_record(uint32_t id, uint64_t start, uint64_t end, int copy_kind, uint64_t bytes) {
  GpuRecord g;
  g.correlation_id = id;
  g.start = T0 + start;
  g.end = T0 + end;
  g.kind = GpuRecord::memcpy;
  g.copy_kind = copy_kind;
  g.bytes = bytes;
  return g;
}

GpuRecord memset_record(uint32_t id, uint64_t start, uint64_t end, uint64_t bytes, uint32_t value) {
  GpuRecord g;
  g.correlation_id = id;
  g.start = T0 + start;
  g.end = T0 + end;
  g.kind = GpuRecord::memset;
  g.bytes = bytes;
  g.memset_value = value;
  return g;
}

std::pair<uint64_t, uint64_t> window(uint64_t start, uint64_t end) {
  return {T0 + start, T0 + end};
}

} // namespace

// ---------------------------------------------------------------------------------------------
// The official rule on synthetic records

TEST_CASE("cupti: one kernel per iteration gives its duration, windows inclusive", "[cupti]") {
  // Iteration 0's launch starts exactly at its window's start, iteration 1's exactly at its end.
  const std::vector<ApiRecord> api = {runtime_call(1, 100, 120), runtime_call(2, 1200, 1230)};
  const std::vector<GpuRecord> gpu = {kernel(1, 150, 650, "gemm"), kernel(2, 1300, 1750, "gemm")};
  const auto spans = iteration_spans_ns(api, gpu, {window(100, 130), window(1000, 1200)});
  REQUIRE(spans == std::vector<double>{500.0, 450.0});

  const std::vector<IterationActivity> its =
      analyze_iterations(api, gpu, {window(100, 130), window(1000, 1200)});
  REQUIRE(its.size() == 2);
  CHECK(its[0].signatures == std::vector<std::string>{"gemm_0_0_0_10"});
  CHECK(its[1].activities == std::vector<std::string>{"gemm"});
  CHECK(analyze_iterations(api, gpu, {}).empty());
}

TEST_CASE("cupti: span is first start to last end over kernels on two streams", "[cupti]") {
  // Three launches in one call; the second stream's kernel starts first and the gap between the
  // kernels counts, as in the official rule.
  const std::vector<ApiRecord> api = {runtime_call(10, 0, 5), runtime_call(11, 6, 9),
                                      runtime_call(12, 10, 14)};
  const std::vector<GpuRecord> gpu = {kernel(10, 300, 400, "a", 7), kernel(11, 250, 320, "b", 8),
                                      kernel(12, 900, 1000, "c", 7)};
  const auto its = analyze_iterations(api, gpu, {window(0, 20)});
  REQUIRE(its.size() == 1);
  CHECK(its[0].span_ns == 750.0); // 1000 - 250
  CHECK(its[0].activities == std::vector<std::string>{"b", "a", "c"});
  CHECK(its[0].signatures == std::vector<std::string>{"a_0_0_0_10", "b_0_0_0_10", "c_0_0_0_10"});
}

TEST_CASE("cupti: memcpy and memset count and have the official signatures", "[cupti]") {
  const std::vector<ApiRecord> api = {driver_call(1, 0, 2), driver_call(2, 3, 4),
                                      driver_call(3, 5, 6)};
  const std::vector<GpuRecord> gpu = {memset_record(1, 100, 110, 1024, 7), kernel(2, 120, 200, "k"),
                                      memcpy_record(3, 210, 260, 8, 4096)};
  const auto its = analyze_iterations(api, gpu, {window(0, 10)});
  REQUIRE(its.size() == 1);
  CHECK(its[0].span_ns == 160.0);
  CHECK(its[0].activities == std::vector<std::string>{"MEMSET", "k", "MEMCPY"});
  CHECK(its[0].signatures ==
        std::vector<std::string>{"MEMCPY_8_4096_0_1", "MEMSET_0_1024_7_2", "k_0_0_0_10"});

  // Fields that do not apply to a kind are 0 in its signature, whatever the record holds.
  GpuRecord odd = kernel(4, 0, 1, "k");
  odd.bytes = 99;
  odd.copy_kind = 3;
  odd.memset_value = 5;
  CHECK(fibkit::cuda::activity_signature(odd) == "k_0_0_0_10");
  GpuRecord set = memset_record(5, 0, 1, 64, 0);
  set.copy_kind = 2;
  CHECK(fibkit::cuda::activity_signature(set) == "MEMSET_0_64_0_2");
}

TEST_CASE("cupti: an API call that starts outside the window does not count", "[cupti]") {
  // Call 1 starts 1 ns before the window and ends inside it; call 3 starts 1 ns after it. Only
  // the START decides, as in the official rule.
  const std::vector<ApiRecord> api = {runtime_call(1, 99, 150), runtime_call(2, 120, 130),
                                      runtime_call(3, 201, 210)};
  const std::vector<GpuRecord> gpu = {kernel(1, 160, 5000, "early"), kernel(2, 300, 400, "k"),
                                      kernel(3, 410, 9000, "late")};
  const auto its = analyze_iterations(api, gpu, {window(100, 200)});
  REQUIRE(its.size() == 1);
  CHECK(its[0].span_ns == 100.0);
  CHECK(its[0].activities == std::vector<std::string>{"k"});
}

TEST_CASE("cupti: driver-only launches count, and a runtime+driver pair counts once", "[cupti]") {
  // fibkit launches with cuLaunchKernelEx: only a DRIVER record exists for the launch.
  const std::vector<ApiRecord> driver_only = {driver_call(5, 10, 20)};
  const std::vector<GpuRecord> gpu = {kernel(5, 30, 80, "k")};
  CHECK(iteration_spans_ns(driver_only, gpu, {window(0, 100)}) == std::vector<double>{50.0});

  // Two API records carrying the same correlation id select the kernel once.
  const std::vector<ApiRecord> both = {runtime_call(5, 10, 25), driver_call(5, 12, 20)};
  const auto its = analyze_iterations(both, gpu, {window(0, 100)});
  REQUIRE(its.size() == 1);
  CHECK(its[0].activities == std::vector<std::string>{"k"});
  CHECK(its[0].span_ns == 50.0);

  // API records in any order.
  const std::vector<ApiRecord> shuffled = {runtime_call(9, 500, 510), driver_call(5, 10, 20)};
  CHECK(iteration_spans_ns(shuffled, gpu, {window(0, 100)}) == std::vector<double>{50.0});
}

TEST_CASE("cupti: overlapping windows share the records that start in both", "[cupti]") {
  const std::vector<ApiRecord> api = {runtime_call(1, 150, 160), runtime_call(2, 250, 260),
                                      runtime_call(3, 350, 360)};
  const std::vector<GpuRecord> gpu = {kernel(1, 170, 200, "k"), kernel(2, 270, 290, "k"),
                                      kernel(3, 370, 380, "k")};
  const auto its = analyze_iterations(api, gpu, {window(100, 300), window(200, 400)});
  REQUIRE(its.size() == 2);
  CHECK(its[0].span_ns == 120.0); // launches 1 and 2: 290 - 170
  CHECK(its[1].span_ns == 110.0); // launches 2 and 3: 380 - 270
  CHECK(its[0].activities == std::vector<std::string>{"k", "k"});
}

TEST_CASE("cupti: the span is exact at epoch-nanosecond timestamps", "[cupti]") {
  // T0 + 1 and T0 + 2 are the same double; the span must still be 1 ns.
  const std::vector<ApiRecord> api = {runtime_call(1, 0, 0)};
  const std::vector<GpuRecord> gpu = {kernel(1, 1, 2, "k")};
  CHECK(iteration_spans_ns(api, gpu, {window(0, 0)}) == std::vector<double>{1.0});
}

TEST_CASE("cupti: an iteration without GPU activity is an error naming it", "[cupti]") {
  const std::vector<ApiRecord> api = {runtime_call(1, 10, 20), runtime_call(2, 110, 120)};
  const std::vector<GpuRecord> gpu = {kernel(1, 30, 40, "k")};
  // Iteration 1 made a call (id 2) that launched nothing.
  CHECK_THAT(error_of([&] {
               analyze_iterations(api, gpu, {window(0, 50), window(100, 150)});
             }),
             Contains("no kernel activities recorded for iteration 1") &&
                 Contains("1 CUDA API call started in its window, none launched GPU work"));
  // Iteration 2 made no call at all.
  CHECK_THAT(error_of([&] {
               analyze_iterations(api, gpu, {window(0, 50), window(0, 50), window(300, 400)});
             }),
             Contains("no kernel activities recorded for iteration 2 (no CUDA API call started"));
  // A timing error is the solution's (RUNTIME_ERROR), not CUPTI's.
  try {
    iteration_spans_ns(api, gpu, {window(300, 400)});
    FAIL("no error");
  } catch (const CuptiError&) {
    FAIL("a CuptiError");
  } catch (const fibkit::Error& e) {
    CHECK_THAT(e.what(), Contains("iteration 0"));
  }
}

TEST_CASE("cupti: a kernel set that differs between iterations is an error", "[cupti]") {
  const std::vector<ApiRecord> api = {runtime_call(1, 0, 1), runtime_call(2, 100, 101),
                                      runtime_call(3, 102, 103), runtime_call(4, 200, 201),
                                      runtime_call(5, 300, 301)};
  const std::vector<GpuRecord> gpu = {kernel(1, 10, 20, "main"), kernel(2, 110, 120, "main"),
                                      kernel(3, 130, 140, "main"), // a repeat: same set
                                      kernel(4, 210, 220, "split_k"),
                                      memset_record(5, 310, 320, 256, 0)};
  // Iterations 0 and 1 agree (sets, not counts, are compared, as officially).
  CHECK(analyze_iterations(api, gpu, {window(0, 50), window(100, 150)}).size() == 2);
  const std::string error = error_of([&] {
    analyze_iterations(api, gpu, {window(0, 50), window(100, 150), window(200, 250)});
  });
  CHECK_THAT(error, Contains("inconsistent kernel names: iteration 2") &&
                        Contains("only in iteration 0: main_0_0_0_10") &&
                        Contains("only in iteration 2: split_k_0_0_0_10"));
  // A memset of other bytes or value is another signature too.
  CHECK_THAT(error_of([&] {
               analyze_iterations(api, gpu, {window(0, 50), window(300, 350)});
             }),
             Contains("only in iteration 1: MEMSET_0_256_0_2"));
}

TEST_CASE("cupti: a GPU record without timestamps is a CUPTI error, not a huge span", "[cupti]") {
  // What a forced flush delivers for a kernel still running: start == end == 0.
  const std::vector<ApiRecord> api = {runtime_call(1, 0, 1), runtime_call(2, 2, 3)};
  std::vector<GpuRecord> gpu = {kernel(1, 10, 20, "a"), kernel(2, 30, 40, "b")};
  gpu[1].start = 0;
  gpu[1].end = 0;
  try {
    analyze_iterations(api, gpu, {window(0, 5)});
    FAIL("no error");
  } catch (const CuptiError& e) {
    CHECK(e.kind() == CuptiErrorKind::failed);
    CHECK_THAT(e.what(), Contains("CUPTI recorded no timestamps for b of iteration 0"));
  }
}

TEST_CASE("cupti: the first failing iteration in order decides the error", "[cupti]") {
  const std::vector<ApiRecord> api = {runtime_call(1, 0, 1), runtime_call(2, 100, 101)};
  const std::vector<GpuRecord> gpu = {kernel(1, 10, 20, "a"), kernel(2, 110, 120, "b")};
  CHECK_THAT(error_of([&] {
               analyze_iterations(api, gpu, {window(0, 50), window(100, 150), window(500, 600)});
             }),
             Contains("inconsistent kernel names: iteration 1"));
  CHECK_THAT(error_of([&] {
               analyze_iterations(api, gpu, {window(0, 50), window(500, 600), window(100, 150)});
             }),
             Contains("no kernel activities recorded for iteration 1"));
}

// ---------------------------------------------------------------------------------------------
// Finding libcupti

TEST_CASE("cupti: FIBKIT_CUPTI_PATH alone is tried when set", "[cupti]") {
  TempDir dir;
  {
    EnvGuard path(fibkit::cuda::k_cupti_path_env, "/opt/x/libcupti.so.13");
    CHECK(fibkit::cuda::cupti_candidates() == std::vector<std::string>{"/opt/x/libcupti.so.13"});
  }
  {
    EnvGuard path(fibkit::cuda::k_cupti_path_env, dir.path().string());
    CHECK(fibkit::cuda::cupti_candidates() ==
          std::vector<std::string>{(dir.path() / "libcupti.so.13").string(),
                                   (dir.path() / "libcupti.so").string()});
  }
}

TEST_CASE("cupti: the search order is sonames, CUDA_HOME, /usr/local/cuda, the bundle's lib",
          "[cupti]") {
  EnvGuard path(fibkit::cuda::k_cupti_path_env, std::nullopt);
  EnvGuard home("CUDA_HOME", "/opt/cuda-13.2");
  const std::vector<std::string> c = fibkit::cuda::cupti_candidates();
  const fs::path exe = fs::read_symlink("/proc/self/exe");
  const std::string bundle = (exe.parent_path() / ".." / "lib").lexically_normal().string();
#if defined(__aarch64__)
  const std::string target = "targets/sbsa-linux/lib";
#else
  const std::string target = "targets/x86_64-linux/lib";
#endif
  std::vector<std::string> expected = {"libcupti.so.13", "libcupti.so"};
  for (const std::string& root : {std::string("/opt/cuda-13.2"), std::string("/usr/local/cuda")}) {
    for (const std::string& dir :
         {std::string("extras/CUPTI/lib64"), std::string("lib64"), target}) {
      expected.push_back(root + "/" + dir + "/libcupti.so.13");
      expected.push_back(root + "/" + dir + "/libcupti.so");
    }
  }
  expected.push_back(bundle + "/libcupti.so.13");
  expected.push_back(bundle + "/libcupti.so");
  CHECK(c == expected);

  // Without CUDA_HOME, and with it equal to /usr/local/cuda: no duplicates.
  EnvGuard same("CUDA_HOME", "/usr/local/cuda");
  const std::vector<std::string> d = fibkit::cuda::cupti_candidates();
  CHECK(d.size() == expected.size() - 6);
  CHECK(d.front() == "libcupti.so.13");
  CHECK(d.back() == bundle + "/libcupti.so");
}

TEST_CASE("cupti: a missing libcupti is a not_found error listing what was searched", "[cupti]") {
  EnvGuard path(fibkit::cuda::k_cupti_path_env, "/nonexistent/fibkit/libcupti.so.13");
  try {
    fibkit::cuda::find_cupti();
    FAIL("no error");
  } catch (const CuptiError& e) {
    CHECK(e.kind() == CuptiErrorKind::not_found);
    CHECK(std::string(e.what()) ==
          "CUPTI not found (searched: /nonexistent/fibkit/libcupti.so.13; set FIBKIT_CUPTI_PATH "
          "to libcupti.so.13 of a CUDA 13 toolkit or of the cupti-python wheel)");
  }
}

TEST_CASE("cupti: a candidate that is no CUPTI says why it was refused", "[cupti]") {
  TempDir dir;
  const fs::path junk = dir.write("libcupti.so.13", "not a shared object");
  const std::string error = error_of([&] {
    fibkit::cuda::find_cupti({"/nonexistent/libcupti.so", junk.string(), "libm.so.6"});
  });
  // The missing file is just listed; the junk file carries dlopen's complaint; libm has no CUPTI.
  CHECK_THAT(error, Contains("searched: /nonexistent/libcupti.so, " + junk.string() + " (") &&
                        Contains("libm.so.6 (has no cuptiGetVersion)") &&
                        Contains("set FIBKIT_CUPTI_PATH"));
  CHECK_THAT(error_of([] { fibkit::cuda::find_cupti({}); }),
             Contains("CUPTI not found (searched: nothing;"));
}

// ---------------------------------------------------------------------------------------------
// The machine's real libcupti: registered only where it loads (see the top of this file).

namespace {

std::string cupti_absence() {
  try {
    fibkit::cuda::find_cupti();
    return "";
  } catch (const CuptiError& e) {
    return e.what();
  }
}

const std::string k_cupti_absent = cupti_absence();
const bool k_have_cupti = k_cupti_absent.empty();

bool driver_installed() {
  void* lib = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (lib) {
    ::dlclose(lib);
  }
  return lib != nullptr;
}

const bool k_have_driver = driver_installed();

void real_libcupti_loads() {
  const fibkit::cuda::CuptiLibrary lib = fibkit::cuda::find_cupti();
  INFO("loaded " << lib.path);
  CHECK(lib.api_version / 10000 == 13);
  CHECK(lib.has_finalize);
  // The cached library is the same one.
  CHECK(fibkit::cuda::cupti().path == lib.path);
  // cuptiGetTimestamp needs no driver; nanoseconds, non-decreasing.
  const uint64_t a = fibkit::cuda::cupti_timestamp();
  const uint64_t b = ActivityTrace::now();
  CHECK(a > 0);
  CHECK(b >= a);
}

void trace_without_driver_fails() {
  for (int attempt = 0; attempt < 2; ++attempt) { // a failed start leaves nothing behind
    try {
      ActivityTrace trace;
      FAIL("no error");
    } catch (const CuptiError& e) {
      CHECK(e.kind() == CuptiErrorKind::failed);
      CHECK_THAT(e.what(), Contains("cuptiActivityEnable(CUPTI_ACTIVITY_KIND_RUNTIME): "
                                    "CUPTI_ERROR_UNKNOWN") &&
                               Contains("libcuda.so.1, is not installed"));
    }
  }
}

void cupti_tests_skipped() {
  WARN("SKIPPED: the tests that need libcupti: " << k_cupti_absent);
  SUCCEED();
}

void no_driver_test_skipped() {
  WARN("SKIPPED: ActivityTrace without a CUDA driver: libcuda.so.1 is installed here");
  SUCCEED();
}

/// Registers the tests above that this machine can run, and a visible passing test that says
/// SKIPPED for the others (not hidden ones: Catch2 v2 runs hidden tests for a spec of exclusions
/// only, such as ctest's "~[nvrtc]").
bool register_library_tests() {
  if (!k_have_cupti) {
    REGISTER_TEST_CASE(cupti_tests_skipped,
                       "cupti: SKIPPED: the tests that need libcupti (it is not found)", "[cupti]");
    return false;
  }
  REGISTER_TEST_CASE(real_libcupti_loads,
                     "cupti: the machine's libcupti loads and gives timestamps",
                     "[cupti][cupti-lib]");
  if (k_have_driver) {
    // Not replaced by a test with the driver: CUPTI would initialise CUDA in this process,
    // which the fork-based isolation tests beside it must not inherit.
    REGISTER_TEST_CASE(no_driver_test_skipped,
                       "cupti: SKIPPED: ActivityTrace without a CUDA driver (one is installed)",
                       "[cupti]");
  } else {
    REGISTER_TEST_CASE(trace_without_driver_fails,
                       "cupti: ActivityTrace without a CUDA driver names the failing call",
                       "[cupti][cupti-lib]");
  }
  return true;
}

const bool k_registered = register_library_tests();

} // namespace
