// CUPTI activity tracing for `fibkit bench`, and the official rule that turns activity records
// into per-iteration GPU times. libcupti is loaded at run time with dlopen (never linked), like
// the driver (driver.hpp), so fibkit starts and its other commands work where CUPTI is missing.
//
// The official rule (flashinfer/testing/utils.py::bench_gpu_time_with_cupti, which
// flashinfer-bench's bench/timing.py::time_runnable calls; see
// ../shared/reference/official-semantics.md §4.2):
//   - the activity kinds RUNTIME, DRIVER, CONCURRENT_KERNEL, MEMCPY and MEMSET are enabled, with
//     8 MiB activity buffers;
//   - per measured iteration: flush L2 (a memset, outside the window), start = cuptiGetTimestamp,
//     call the solution, end = cuptiGetTimestamp, synchronize; after all iterations one
//     cuptiActivityFlushAll(0), the kinds are disabled and cuptiFinalize is called;
//   - iteration i takes the correlation ids of every RUNTIME or DRIVER API record whose START lies
//     in [start, end] (inclusive), then every kernel/memcpy/memset record with one of those ids, on
//     any stream; its time is max(end) - min(start) of those records: the GPU span from the first
//     device activity the call launched to the last, gaps between them included, host work before
//     the first launch and the L2 flush excluded;
//   - an iteration without GPU activity is an error ("No kernel activities recorded for
//     iteration i"), and so is a set of activity signatures
//     "{name}_{copy_kind}_{bytes}_{memset_value}_{kind}" that differs from the first iteration's
//     ("Inconsistent kernel names"); both make the solution's trace a RUNTIME_ERROR.
// analyze_iterations() is that rule on plain records (host-testable); ActivityTrace collects the
// records.
//
// CUPTI is process-global: one ActivityTrace at a time. Like the driver, CUPTI starts threads, so
// it belongs in the forked child of engine/isolation, never in the parent (find_cupti() only
// dlopens and asks the version, which starts nothing).
#pragma once

#include "fibkit/util/error.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fibkit::cuda {

/// What went wrong with CUPTI, so that callers can react (fall back, explain).
enum class CuptiErrorKind {
  not_found, ///< no usable libcupti: not installed, not a CUDA 13 CUPTI, or entry points missing
  denied,    ///< CUPTI refused to trace: insufficient privileges, or another profiler is attached
  failed,    ///< any other CUPTI error, dropped records, a second ActivityTrace
};

/// A CUPTI error. The message names the CUPTI call and cuptiGetResultString's text, and for
/// `denied` what to do about it. Exit code 1 like every fibkit::Error.
class CuptiError : public Error {
public:
  CuptiError(CuptiErrorKind kind, const std::string& message) : Error(message), m_kind(kind) {}
  CuptiErrorKind kind() const { return m_kind; }

private:
  CuptiErrorKind m_kind;
};

/// The environment variable that names the libcupti to load (a file, or a directory holding
/// libcupti.so.13); when set, nothing else is tried.
inline constexpr const char* k_cupti_path_env = "FIBKIT_CUPTI_PATH";

/// The names dlopen is given, in order, without duplicates. With FIBKIT_CUPTI_PATH set: that file
/// alone (a directory: its libcupti.so.13, then libcupti.so). Otherwise the sonames
/// "libcupti.so.13" and "libcupti.so" (LD_LIBRARY_PATH, the executable's RUNPATH, ld.so.cache),
/// then libcupti.so.13 and libcupti.so in each of $CUDA_HOME/extras/CUPTI/lib64,
/// $CUDA_HOME/lib64, $CUDA_HOME/targets/<arch>-linux/lib (when CUDA_HOME is set), the same three
/// below /usr/local/cuda, and <directory of the running executable>/../lib (a bundle's lib/).
std::vector<std::string> cupti_candidates();

/// The libcupti that was loaded.
struct CuptiLibrary {
  std::string path;         ///< the candidate dlopen accepted, e.g. "libcupti.so.13"
  uint32_t api_version = 0; ///< cuptiGetVersion(), e.g. 130001 for CUDA 13.0
  bool has_finalize = false;
};

/// Loads libcupti from the first of `candidates` that dlopen accepts, that has every entry point
/// fibkit uses and whose API version is CUDA 13's (fibkit reads CUDA 13's record layouts). Not
/// cached; needs no driver and no GPU. Throws CuptiError(not_found): "CUPTI not found (searched:
/// <each candidate>[ (why it was refused)]; set FIBKIT_CUPTI_PATH to libcupti.so.13 ...)".
CuptiLibrary find_cupti(const std::vector<std::string>& candidates = cupti_candidates());

/// The process's libcupti: find_cupti() the first time it succeeds, kept from then on (a failure
/// is not kept: the next call searches again).
const CuptiLibrary& cupti();

/// cuptiGetTimestamp(): nanoseconds on the clock of the activity records' start/end (CUPTI
/// normalises GPU times to it). It reads as the host's CLOCK_REALTIME (ns since the epoch, not
/// CLOCK_MONOTONIC; within 2 us on an H100 with driver 580), works without a driver, starts no
/// thread, and costs ~70 ns (the first call ~0.2 ms). Not the clock of cuEventElapsedTime.
uint64_t cupti_timestamp();

/// A CUDA runtime or driver API call (CUpti_ActivityAPI).
struct ApiRecord {
  uint32_t correlation_id = 0;
  uint64_t start = 0; ///< ns, cupti_timestamp()'s clock
  uint64_t end = 0;
  bool driver = false; ///< CUPTI_ACTIVITY_KIND_DRIVER (else RUNTIME)
  uint32_t cbid = 0;   ///< the function (cupti_driver_cbid.h / cupti_runtime_cbid.h)
};

/// Work on the GPU: a kernel (CUpti_ActivityKernel10), a memcpy (CUpti_ActivityMemcpy6) or a
/// memset (CUpti_ActivityMemset4).
struct GpuRecord {
  enum Kind { kernel, memcpy, memset };
  uint32_t correlation_id = 0; ///< the launching API call's (driver or runtime) correlation id
  uint64_t start = 0;          ///< ns; start == end == 0: CUPTI could not time it
  uint64_t end = 0;
  Kind kind = kernel;
  std::string name;   ///< the kernel's (mangled) name; empty for memcpy and memset
  int copy_kind = 0;  ///< memcpy: CUpti_ActivityMemcpyKind (1 HtoD, 2 DtoH, 8 DtoD, ...)
  uint64_t bytes = 0; ///< memcpy and memset
  uint32_t memset_value = 0;
  uint32_t stream_id = 0;
};

/// The records an ActivityTrace delivered.
struct ActivityRecords {
  std::vector<ApiRecord> api;
  std::vector<GpuRecord> gpu;
};

struct ActivityTraceState; // cupti.cpp: the records, filled by CUPTI's callbacks

/// One CUPTI activity session: registers the buffer callbacks and enables RUNTIME, DRIVER,
/// CONCURRENT_KERNEL, MEMCPY and MEMSET, as the official harness does. Records arrive through
/// CUPTI's buffer-completed callback (CUPTI's threads, or the thread calling flush()) into 8 MiB
/// buffers and are copied into plain records; take() hands them over. Destruction flushes
/// (forced), disables the kinds and, by default, calls cuptiFinalize (as the official harness
/// does after each measurement) so that the next session starts from a fresh CUPTI.
/// Only one may exist at a time in a process.
class ActivityTrace {
public:
  /// Throws CuptiError: not_found (no libcupti), denied (privileges, another profiler: the
  /// message says what to do), failed (any other error, e.g. no CUDA driver, or a second trace).
  explicit ActivityTrace(bool finalize_on_close = true);
  ~ActivityTrace();
  ActivityTrace(const ActivityTrace&) = delete;
  ActivityTrace& operator=(const ActivityTrace&) = delete;

  /// cupti_timestamp().
  static uint64_t now() { return cupti_timestamp(); }

  /// cuptiActivityFlushAll: delivers the buffers whose records are complete (forced = false: flag
  /// 0, what the official harness passes; complete means timed, so synchronize the device
  /// first) or every buffer, incomplete records included (forced = true:
  /// CUPTI_ACTIVITY_FLAG_FLUSH_FORCED). Blocking; does not synchronize the device. Flag 0 holds
  /// back a whole buffer, API records too, while one record in it is unfinished; a forced flush
  /// then delivers an unfinished kernel with start == end == 0 and never again with its times.
  void flush(bool forced = false);

  /// The records delivered so far (call flush() first), in delivery order; the trace keeps
  /// collecting into empty lists afterwards. Throws CuptiError(failed) when CUPTI dropped records
  /// (a buffer could not be allocated) since the trace began: the spans could be wrong.
  ActivityRecords take();

private:
  std::unique_ptr<ActivityTraceState> m_state;
  bool m_finalize_on_close;
};

/// The official signature of a GPU activity: "{name}_{copy_kind}_{bytes}_{memset_value}_{kind}"
/// with name = the kernel name, "MEMCPY" or "MEMSET", the fields that do not apply to the kind
/// as 0, and kind = CUpti_ActivityKind's number (10 CONCURRENT_KERNEL, 1 MEMCPY, 2 MEMSET).
std::string activity_signature(const GpuRecord& record);

/// What one measured iteration ran.
struct IterationActivity {
  /// max(end) - min(start) over its GPU records, ns (official time in ms = span_ns / 1e6).
  double span_ns = 0;
  /// The sorted, distinct activity_signature()s; equal for every iteration.
  std::vector<std::string> signatures;
  /// Each GPU record's name (kernel name, "MEMCPY" or "MEMSET") in the order of their start: what
  /// ran, with repeats.
  std::vector<std::string> activities;
};

/// The official rule (see the top of this file) on `api` and `gpu` records for the iteration
/// windows [first, second] (inclusive, cupti_timestamp() clock), in window order. Windows may
/// overlap (a record then counts for each). Throws fibkit::Error (not CuptiError) at the first
/// iteration, in order, that has no GPU activity ("no kernel activities recorded for iteration
/// i") or whose signatures differ from iteration 0's ("inconsistent kernel names: ...", naming
/// both iterations and the signatures found in only one of them). One deviation: a GPU record
/// without timestamps (start == end == 0, which a forced flush before the device finished
/// produces) throws CuptiError(failed) where the official rule would report a span of ~1.8e18 ns.
std::vector<IterationActivity>
analyze_iterations(const std::vector<ApiRecord>& api, const std::vector<GpuRecord>& gpu,
                   const std::vector<std::pair<uint64_t, uint64_t>>& windows);

/// The span_ns of each of analyze_iterations(api, gpu, windows).
std::vector<double> iteration_spans_ns(const std::vector<ApiRecord>& api,
                                       const std::vector<GpuRecord>& gpu,
                                       const std::vector<std::pair<uint64_t, uint64_t>>& windows);

} // namespace fibkit::cuda
