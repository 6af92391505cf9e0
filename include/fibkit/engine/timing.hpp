// GPU timing for `fibkit bench`: the official contest method and fibkit's kernel mode.
//
// Contest mode (docs/bench.md; official-semantics.md §4.2, flashinfer's
// bench_gpu_time_with_cupti as flashinfer-bench calls it): one call, 5 more calls, `warmup`
// calls, then `iterations` measured calls, each preceded by zeroing a buffer of twice the L2
// size; a measured call's time is the CUPTI span from the first GPU activity (kernel, memcpy,
// memset) launched by an API call that started inside the call to the last one's end. The trial's
// figure is the median of those spans. Without CUPTI, CUDA events around each call (the official
// fallback), and the report says so.
//
// Kernel mode: every sample's call is queued behind a `%globaltimer` spin kernel long enough
// for the host to enqueue the whole call, so host launch gaps do not count; L2 is flushed before
// each sample; samples are taken until their relative spread is under the noise target
// (core::NoiseCriterion) or the time limit; samples taken while the SM clock (measured by the
// spin kernel itself: clock64 cycles over globaltimer nanoseconds) sagged below 95 % of the
// highest seen are dropped.
//
// All of this runs in an isolated child (CUDA and CUPTI start threads: see engine/isolation).
#pragma once

#include "fibkit/core/eval/stats.hpp"
#include "fibkit/cuda/driver.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fibkit::engine {

/// Enqueues one call of the work being timed on the stream (it must not synchronise).
using TimedCall = std::function<void(CUstream)>;

/// The samples of one measurement.
struct Timing {
  std::vector<double> samples_ms; ///< per measured call (kernel mode: after the throttle filter)
  double median_ms = 0.0;
  std::vector<std::string> kernels; ///< the activities of a measured call (CUPTI only)
  bool converged = true;            ///< kernel mode: the noise target was met
  std::size_t throttled = 0;        ///< kernel mode: samples dropped for a sagging SM clock
  double sm_clock_mhz = 0.0;        ///< kernel mode: the highest SM clock the spin kernel saw
};

/// Times calls on one context. Holds the L2 flush buffer, the helper kernels and the timer
/// choice (CUPTI, or CUDA events when CUPTI cannot be used).
class GpuTimer {
public:
  /// `use_cupti` false forces CUDA events. When CUPTI is wanted but cannot be loaded or is
  /// denied, events are used and fallback_reason() says why.
  GpuTimer(const cuda::Context& context, const std::string& arch, bool use_cupti = true);
  ~GpuTimer();
  GpuTimer(const GpuTimer&) = delete;
  GpuTimer& operator=(const GpuTimer&) = delete;

  /// "cupti" or "cuda-events".
  std::string timer_name() const;
  /// Why CUDA events are used although CUPTI was wanted; empty otherwise.
  const std::string& fallback_reason() const { return m_fallback; }

  /// One contest-mode trial: 1 + 5 pre-calls, `warmup` calls, `iterations` measured calls, each
  /// after an L2 flush. Throws fibkit::Error for an iteration without GPU activity or a set of
  /// kernels that changes between iterations (the official RUNTIME_ERRORs).
  Timing contest(const TimedCall& call, int warmup, int iterations);

  /// Kernel mode: `warmup` calls, then samples until `noise` is satisfied (see the file comment).
  Timing kernel_mode(const TimedCall& call, int warmup, const core::NoiseSettings& noise);

  /// Zeroes the flush buffer (twice the L2 size) on `stream`, unless set_l2_flush(false).
  void flush_l2(CUstream stream) const;
  /// Whether calls are preceded by the L2 flush (default true; false only for the harness
  /// validation's warm-cache case).
  void set_l2_flush(bool flush) { m_flush = flush; }

  /// Helper kernels for the harness validation (bench/timing_bench.cpp): a single-thread kernel
  /// that spins for `ns` nanoseconds of %globaltimer, an empty kernel, and a device copy.
  void launch_spin(CUstream stream, std::uint64_t ns) const;
  void launch_empty(CUstream stream) const;
  void launch_copy(CUstream stream, CUdeviceptr dst, CUdeviceptr src, std::size_t bytes) const;

private:
  struct State;
  const cuda::Context& m_context;
  std::unique_ptr<State> m_state;
  std::string m_fallback;
  bool m_cupti = false;
  bool m_flush = true;
};

} // namespace fibkit::engine
