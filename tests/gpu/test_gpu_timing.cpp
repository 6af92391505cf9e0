// The timing harness on a real GPU: contest mode measures a spin kernel of known length, refuses
// an iteration without GPU work and a kernel set that changes between iterations (the official
// RUNTIME_ERRORs), and kernel mode measures the same spin. Correctness of the harness, with
// generous bounds; the precise figures come from bench/timing_bench.cpp (docs/perf.md).
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/timing.hpp"
#include "fibkit/util/error.hpp"

#include <catch2/catch.hpp>

using namespace fibkit;

TEST_CASE("gpu: contest mode times a 50 us spin kernel as 50 us", "[gpu]") {
  cuda::Context ctx;
  engine::GpuTimer timer(ctx, cuda::detect_arch());
  INFO("timer " << timer.timer_name() << " " << timer.fallback_reason());
  const engine::Timing t = timer.contest([&](CUstream s) { timer.launch_spin(s, 50'000); }, 2, 20);
  CHECK(t.samples_ms.size() == 20);
  CHECK(t.median_ms * 1000 >= 50.0);
  CHECK(t.median_ms * 1000 < 60.0);
  if (timer.timer_name() == "cupti") {
    REQUIRE(t.kernels.size() == 1);
    CHECK(t.kernels.front() == "fibkit_spin");
  }
}

TEST_CASE("gpu: contest mode refuses empty iterations and changing kernel sets", "[gpu]") {
  cuda::Context ctx;
  engine::GpuTimer timer(ctx, cuda::detect_arch());
  if (timer.timer_name() != "cupti") {
    WARN("CUPTI unavailable (" << timer.fallback_reason() << "): these checks need it");
    return;
  }
  CHECK_THROWS_WITH(timer.contest([](CUstream) {}, 1, 5),
                    Catch::Contains("no kernel activities recorded for iteration"));
  int calls = 0;
  CHECK_THROWS_AS(timer.contest(
                      [&](CUstream s) {
                        // Alternates between one kernel and another from call to call.
                        if (++calls % 2 == 0) {
                          timer.launch_spin(s, 1000);
                        } else {
                          timer.launch_empty(s);
                        }
                      },
                      1, 6),
                  Error);
}

TEST_CASE("gpu: kernel mode times a 20 us spin kernel as 20 us and reads the SM clock", "[gpu]") {
  cuda::Context ctx;
  engine::GpuTimer timer(ctx, cuda::detect_arch());
  core::NoiseSettings noise;
  noise.max_time_s = 3.0;
  const engine::Timing t =
      timer.kernel_mode([&](CUstream s) { timer.launch_spin(s, 20'000); }, 3, noise);
  CHECK(t.samples_ms.size() >= 10);
  CHECK(t.median_ms * 1000 >= 20.0);
  CHECK(t.median_ms * 1000 < 25.0);
  CHECK(t.sm_clock_mhz > 100.0);
}
