// Harness validation for `fibkit bench` (issue: bench): prints figures, asserts nothing.
//  1. %globaltimer spin kernels of 2, 10, 50, 200 us timed in contest mode: least-squares slope
//     (should be 1.000) and intercept (the harness's own overhead);
//  2. five empty kernels per call: contest mode (host launch gaps inside the span) vs kernel mode
//     (queued behind a spin kernel: no gaps);
//  3. a copy below the L2 size, with and without the L2 flush;
//  4. a 1 GiB device-to-device copy: achieved bandwidth against the device's datasheet figure;
//  5. flushed copies of 0.5-32 MiB (the fp32 state GDN decode reads and writes at batch 1-64) by
//     the copy kernel and by cuMemcpyDtoDAsync: the ceiling a kernel that must move those bytes
//     has under the contest's method, and the fixed cost a least-squares line puts under it.
// Run on a GPU machine: fibkit_timing_bench [--events]
#include "fibkit/core/eval/device_peaks.hpp"
#include "fibkit/core/eval/stats.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/timing.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <cstring>
#include <utility>
#include <vector>

using namespace fibkit;

namespace {

/// Least-squares line y = slope * x + intercept.
std::pair<double, double> fit_line(const std::vector<double>& xs, const std::vector<double>& ys) {
  const double n = static_cast<double>(xs.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    sx += xs[i];
    sy += ys[i];
    sxx += xs[i] * xs[i];
    sxy += xs[i] * ys[i];
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  return {slope, (sy - slope * sx) / n};
}

} // namespace

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
    const auto [slope, intercept] = fit_line(xs, ys);
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

    // 5. Flushed copies of the sizes GDN decode moves (524,288 B of state per sequence).
    fmt::print("\n{:>9}  {:>10}  {:>12}  {:>9}  {:>12}  {:>9}\n", "MiB each", "as batch",
               "kernel us", "TB/s", "memcpy us", "TB/s");
    std::vector<double> sizes, kernel_us;
    for (int batch : {1, 4, 8, 16, 32, 48, 64}) {
      const std::size_t bytes = std::size_t{524288} * static_cast<std::size_t>(batch);
      const auto by_kernel = [&](CUstream s) { timer.launch_copy(s, dst.ptr(), src.ptr(), bytes); };
      const auto by_memcpy = [&](CUstream s) {
        FIBKIT_CU(cuMemcpyDtoDAsync(dst.ptr(), src.ptr(), bytes, s));
      };
      const double k = timer.contest(by_kernel, 10, 200).median_ms * 1000;
      const double m = timer.contest(by_memcpy, 10, 200).median_ms * 1000;
      const double moved = 2.0 * static_cast<double>(bytes);
      fmt::print("{:>9.1f}  {:>10}  {:>12.3f}  {:>9.2f}  {:>12.3f}  {:>9.2f}\n",
                 static_cast<double>(bytes) / (1 << 20), batch, k, moved / k / 1e6, m,
                 moved / m / 1e6);
      sizes.push_back(moved / 1e6);
      kernel_us.push_back(k);
    }
    const auto [us_per_mb, fixed_us] = fit_line(sizes, kernel_us);
    fmt::print("copy kernel fit: {:.3f} us + bytes / {:.2f} TB/s\n", fixed_us, 1.0 / us_per_mb);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "fibkit_timing_bench: {}\n", e.what());
    return 1;
  }
}
