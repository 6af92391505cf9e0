// Harness validation for `fibkit bench` (issue: bench): prints figures, asserts nothing.
//  1. %globaltimer spin kernels of 2, 10, 50, 200 us timed in contest mode: least-squares slope
//     (should be 1.000) and intercept (the harness's own overhead);
//  2. five empty kernels per call: contest mode (host launch gaps inside the span) vs kernel mode
//     (queued behind a spin kernel: no gaps);
//  3. a copy below the L2 size, with and without the L2 flush;
//  4. a 1 GiB device-to-device copy: achieved bandwidth against the device's datasheet figure.
// Run on a GPU machine: fibkit_timing_bench [--events]
#include "fibkit/core/eval/device_peaks.hpp"
#include "fibkit/core/eval/stats.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/timing.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cstring>
#include <vector>

using namespace fibkit;

int main(int argc, char** argv) {
  try {
    const bool events = argc > 1 && std::strcmp(argv[1], "--events") == 0;
    cuda::Context ctx;
    const std::string arch = cuda::detect_arch();
    engine::GpuTimer timer(ctx, arch, !events);
    fmt::print("device: {} ({}), timer: {}{}\n", ctx.info().name, arch, timer.timer_name(),
               timer.fallback_reason().empty() ? "" : " (" + timer.fallback_reason() + ")");

    // 1. Spin kernels.
    std::vector<double> xs, ys;
    fmt::print("\n{:>10}  {:>12}  {:>12}  {:>10}\n", "spin us", "median us", "p10-p90 us",
               "excess us");
    for (double us : {2.0, 10.0, 50.0, 200.0}) {
      const engine::Timing t = timer.contest(
          [&](CUstream s) { timer.launch_spin(s, static_cast<std::uint64_t>(us * 1000)); }, 10,
          200);
      const double med = t.median_ms * 1000;
      xs.push_back(us);
      ys.push_back(med);
      fmt::print("{:>10.0f}  {:>12.3f}  {:>5.2f}-{:<6.2f}  {:>10.3f}\n", us, med,
                 core::percentile(t.samples_ms, 10) * 1000,
                 core::percentile(t.samples_ms, 90) * 1000, med - us);
    }
    const double n = static_cast<double>(xs.size());
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      sx += xs[i];
      sy += ys[i];
      sxx += xs[i] * xs[i];
      sxy += xs[i] * ys[i];
    }
    const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const double intercept = (sy - slope * sx) / n;
    fmt::print("fit: slope {:.4f}, intercept {:.3f} us\n", slope, intercept);

    // 2. Five empty kernels per call.
    const auto five = [&](CUstream s) {
      for (int i = 0; i < 5; ++i) {
        timer.launch_empty(s);
      }
    };
    const engine::Timing contest5 = timer.contest(five, 10, 200);
    core::NoiseSettings noise;
    const engine::Timing kernel5 = timer.kernel_mode(five, 10, noise);
    const engine::Timing contest1 =
        timer.contest([&](CUstream s) { timer.launch_empty(s); }, 10, 200);
    fmt::print("\nempty kernels: 1 in contest mode {:.3f} us; 5 in contest mode {:.3f} us, in "
               "kernel mode {:.3f} us ({} samples{}, SM clock {:.0f} MHz)\n",
               contest1.median_ms * 1000, contest5.median_ms * 1000, kernel5.median_ms * 1000,
               kernel5.samples_ms.size(), kernel5.converged ? "" : ", not converged",
               kernel5.sm_clock_mhz);

    // 3. A copy below the L2 size, flushed and warm.
    const std::size_t small = std::size_t{8} << 20; // 8 MiB each way: 16 MiB < L2
    cuda::DeviceBuffer a(small), b(small);
    a.fill(1, ctx.stream());
    const auto copy_small = [&](CUstream s) { timer.launch_copy(s, b.ptr(), a.ptr(), small); };
    const engine::Timing cold = timer.contest(copy_small, 10, 200);
    timer.set_l2_flush(false);
    const engine::Timing warm = timer.contest(copy_small, 10, 200);
    timer.set_l2_flush(true);
    fmt::print("\n8 MiB copy (L2 {} MiB): flushed {:.3f} us, warm {:.3f} us ({:.2f}x)\n",
               ctx.info().l2_bytes >> 20, cold.median_ms * 1000, warm.median_ms * 1000,
               cold.median_ms / warm.median_ms);

    // 4. 1 GiB copy.
    const std::size_t big = std::size_t{1} << 30;
    cuda::DeviceBuffer src(big), dst(big);
    src.fill(3, ctx.stream());
    const engine::Timing bw =
        timer.contest([&](CUstream s) { timer.launch_copy(s, dst.ptr(), src.ptr(), big); }, 5, 50);
    const double bytes_per_s = 2.0 * static_cast<double>(big) / (bw.median_ms / 1000);
    fmt::print("\n1 GiB copy: {:.3f} ms, {:.0f} GB/s (read + write)", bw.median_ms,
               bytes_per_s / 1e9);
    if (const auto peaks = core::find_device_peaks(ctx.info().name)) {
      fmt::print(", {:.1f} % of the {} datasheet {:.0f} GB/s",
                 100 * bytes_per_s / peaks->hbm_bytes_per_s, peaks->model,
                 peaks->hbm_bytes_per_s / 1e9);
    }
    fmt::print("\n");
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "fibkit_timing_bench: {}\n", e.what());
    return 1;
  }
}
