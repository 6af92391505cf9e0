#include "fibkit/cuda/cupti.hpp"

#include <cupti.h>
#include <fmt/format.h>

#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <limits>
#include <mutex>
#include <new>
#include <optional>
#include <set>
#include <system_error>
#include <unordered_map>

namespace fibkit::cuda {

namespace {

namespace fs = std::filesystem;

// Each buffer CUPTI asks for: 8 MiB like the official harness, aligned as CUPTI's records are.
constexpr std::size_t k_buffer_bytes = std::size_t{8} << 20;
constexpr std::size_t k_buffer_align = ACTIVITY_RECORD_ALIGNMENT;

// The kinds the official harness enables, in its order.
constexpr CUpti_ActivityKind k_kinds[] = {
    CUPTI_ACTIVITY_KIND_RUNTIME, CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL,
    CUPTI_ACTIVITY_KIND_DRIVER,  CUPTI_ACTIVITY_KIND_MEMCPY,
    CUPTI_ACTIVITY_KIND_MEMSET,
};

// The entry points, typed from cupti.h's declarations (decltype does not reference the symbols,
// so nothing is linked).
struct Api {
  decltype(&::cuptiGetVersion) cuptiGetVersion;
  decltype(&::cuptiGetResultString) cuptiGetResultString;
  decltype(&::cuptiGetTimestamp) cuptiGetTimestamp;
  decltype(&::cuptiActivityEnable) cuptiActivityEnable;
  decltype(&::cuptiActivityDisable) cuptiActivityDisable;
  decltype(&::cuptiActivityRegisterCallbacks) cuptiActivityRegisterCallbacks;
  decltype(&::cuptiActivityFlushAll) cuptiActivityFlushAll;
  decltype(&::cuptiActivityGetNextRecord) cuptiActivityGetNextRecord;
  decltype(&::cuptiActivityGetNumDroppedRecords) cuptiActivityGetNumDroppedRecords;
  decltype(&::cuptiFinalize) cuptiFinalize; ///< may be null
};

struct Loaded {
  CuptiLibrary info;
  Api api{};
};

const char* kind_name(CUpti_ActivityKind kind) {
  switch (kind) {
  case CUPTI_ACTIVITY_KIND_RUNTIME:
    return "CUPTI_ACTIVITY_KIND_RUNTIME";
  case CUPTI_ACTIVITY_KIND_DRIVER:
    return "CUPTI_ACTIVITY_KIND_DRIVER";
  case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
    return "CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL";
  case CUPTI_ACTIVITY_KIND_MEMCPY:
    return "CUPTI_ACTIVITY_KIND_MEMCPY";
  case CUPTI_ACTIVITY_KIND_MEMSET:
    return "CUPTI_ACTIVITY_KIND_MEMSET";
  default:
    return "CUPTI_ACTIVITY_KIND_?";
  }
}

std::optional<std::string> env(const char* name) {
  if (const char* v = std::getenv(name); v && *v) {
    return std::string(v);
  }
  return std::nullopt;
}

/// The directory of the running executable, empty when /proc/self/exe cannot be read.
fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

#if defined(__aarch64__)
constexpr const char* k_target_dir = "targets/sbsa-linux/lib";
#else
constexpr const char* k_target_dir = "targets/x86_64-linux/lib";
#endif

/// Loads and checks one candidate; nullopt with `why` set when it is refused.
std::optional<Loaded> try_load(const std::string& candidate, std::string& why) {
  void* lib = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* err = ::dlerror();
    const std::string text = err ? err : "dlopen failed";
    // "No such file" is the expected answer for most candidates: listing the name says it.
    why = text.find("No such file or directory") != std::string::npos ? "" : text;
    return std::nullopt;
  }
  Loaded l;
  bool missing = false;
  const auto resolve = [&](const char* name, auto& fn) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(lib, name));
    if (!fn && !missing) {
      missing = true;
      why = fmt::format("has no {}", name);
    }
  };
  resolve("cuptiGetVersion", l.api.cuptiGetVersion);
  resolve("cuptiGetResultString", l.api.cuptiGetResultString);
  resolve("cuptiGetTimestamp", l.api.cuptiGetTimestamp);
  resolve("cuptiActivityEnable", l.api.cuptiActivityEnable);
  resolve("cuptiActivityDisable", l.api.cuptiActivityDisable);
  resolve("cuptiActivityRegisterCallbacks", l.api.cuptiActivityRegisterCallbacks);
  resolve("cuptiActivityFlushAll", l.api.cuptiActivityFlushAll);
  resolve("cuptiActivityGetNextRecord", l.api.cuptiActivityGetNextRecord);
  resolve("cuptiActivityGetNumDroppedRecords", l.api.cuptiActivityGetNumDroppedRecords);
  if (missing) {
    ::dlclose(lib);
    return std::nullopt;
  }
  l.api.cuptiFinalize =
      reinterpret_cast<decltype(l.api.cuptiFinalize)>(::dlsym(lib, "cuptiFinalize")); // optional
  uint32_t version = 0;
  if (l.api.cuptiGetVersion(&version) != CUPTI_SUCCESS) {
    why = "cuptiGetVersion failed";
    ::dlclose(lib);
    return std::nullopt;
  }
  // The record layouts (CUpti_ActivityKernel10, ...) are those of the headers fibkit was built
  // with; another major version writes other layouts. CUDA 12's CUPTI numbered its API versions
  // 18..2x, CUDA 13's 130001.
  if (version / 10000 != CUPTI_API_VERSION / 10000) {
    why = fmt::format("CUPTI API version {}; fibkit reads the records of CUDA {}'s CUPTI ({})",
                      version, CUPTI_API_VERSION / 10000, CUPTI_API_VERSION);
    ::dlclose(lib);
    return std::nullopt;
  }
  // Kept loaded for the life of the process (also after a find_cupti() probe: unloading a library
  // that may have started threads is not safe, and dlopen counts references).
  l.info.path = candidate;
  l.info.api_version = version;
  l.info.has_finalize = l.api.cuptiFinalize != nullptr;
  return l;
}

Loaded load(const std::vector<std::string>& candidates) {
  std::string searched;
  for (const std::string& candidate : candidates) {
    std::string why;
    if (std::optional<Loaded> l = try_load(candidate, why)) {
      return *l;
    }
    searched += searched.empty() ? "" : ", ";
    searched += why.empty() ? candidate : fmt::format("{} ({})", candidate, why);
  }
  if (candidates.empty()) {
    searched = "nothing";
  }
  throw CuptiError(CuptiErrorKind::not_found,
                   fmt::format("CUPTI not found (searched: {}; set {} to libcupti.so.13 of a "
                               "CUDA 13 toolkit or of the cupti-python wheel)",
                               searched, k_cupti_path_env));
}

std::mutex g_load_mutex;
std::optional<Loaded> g_loaded; // guarded by g_load_mutex until set, then read-only

const Loaded& loaded() {
  std::lock_guard<std::mutex> lock(g_load_mutex);
  if (!g_loaded) {
    g_loaded = load(cupti_candidates());
  }
  return *g_loaded;
}

/// "<call>: <result string>" plus what to do, as a CuptiError of the right kind.
[[noreturn]] void fail(const Api& api, CUptiResult result, const std::string& call) {
  const char* text = nullptr;
  if (api.cuptiGetResultString(result, &text) != CUPTI_SUCCESS || !text) {
    text = "CUPTI_ERROR_?";
  }
  const std::string head = fmt::format("{}: {} ({})", call, text, static_cast<int>(result));
  switch (result) {
  case CUPTI_ERROR_INSUFFICIENT_PRIVILEGES:
  case CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES:
    throw CuptiError(CuptiErrorKind::denied,
                     fmt::format("CUPTI denied: {}: the NVIDIA driver restricts profiling to "
                                 "administrators (module option NVreg_RestrictProfilingToAdminUsers"
                                 "=1, or the hypervisor): run as root, or load the nvidia module "
                                 "with NVreg_RestrictProfilingToAdminUsers=0 "
                                 "(https://developer.nvidia.com/ERR_NVGPUCTRPERM)",
                                 head));
  case CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED:
    throw CuptiError(CuptiErrorKind::denied,
                     fmt::format("CUPTI denied: {}: another profiler or CUPTI client is attached "
                                 "to this process (Nsight Systems, Nsight Compute, cuda-gdb, or a "
                                 "CUDA_INJECTION64_PATH library): run fibkit bench without it",
                                 head));
  case CUPTI_ERROR_CONFIDENTIAL_COMPUTING_NOT_SUPPORTED:
  case CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED:
  case CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED:
  case CUPTI_ERROR_WSL_DEVICE_NOT_SUPPORTED:
    throw CuptiError(CuptiErrorKind::denied,
                     fmt::format("CUPTI denied: {}: CUPTI cannot trace on this device", head));
  default:
    break;
  }
  // CUPTI answers CUPTI_ERROR_UNKNOWN when there is no driver to attach to.
  if (result == CUPTI_ERROR_UNKNOWN || result == CUPTI_ERROR_NOT_INITIALIZED) {
    void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver) {
      throw CuptiError(CuptiErrorKind::failed,
                       fmt::format("{} (the CUDA driver, libcuda.so.1, is not installed)", head));
    }
    ::dlclose(driver);
  }
  throw CuptiError(CuptiErrorKind::failed, head);
}

void check(const Api& api, CUptiResult result, const std::string& call) {
  if (result != CUPTI_SUCCESS) {
    fail(api, result, call);
  }
}

} // namespace

std::vector<std::string> cupti_candidates() {
  std::vector<std::string> out;
  const auto add = [&out](const std::string& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) {
      out.push_back(c);
    }
  };
  const auto add_dir = [&add](const fs::path& dir) {
    add((dir / "libcupti.so.13").string());
    add((dir / "libcupti.so").string());
  };
  if (const std::optional<std::string> path = env(k_cupti_path_env)) {
    std::error_code ec;
    if (fs::is_directory(*path, ec)) {
      add_dir(*path);
    } else {
      add(*path);
    }
    return out;
  }
  add("libcupti.so.13");
  add("libcupti.so");
  const auto add_toolkit = [&add_dir](const fs::path& root) {
    add_dir(root / "extras/CUPTI/lib64");
    add_dir(root / "lib64");
    add_dir(root / k_target_dir);
  };
  if (const std::optional<std::string> home = env("CUDA_HOME")) {
    add_toolkit(*home);
  }
  add_toolkit("/usr/local/cuda");
  if (const fs::path exe_dir = executable_dir(); !exe_dir.empty()) {
    add_dir((exe_dir / ".." / "lib").lexically_normal());
  }
  return out;
}

CuptiLibrary find_cupti(const std::vector<std::string>& candidates) {
  return load(candidates).info;
}

const CuptiLibrary& cupti() {
  return loaded().info;
}

uint64_t cupti_timestamp() {
  const Api& api = loaded().api;
  uint64_t ts = 0;
  check(api, api.cuptiGetTimestamp(&ts), "cuptiGetTimestamp");
  return ts;
}

// ---------------------------------------------------------------------------------------------
// ActivityTrace

struct ActivityTraceState {
  std::mutex mutex; // guards everything below; taken by CUPTI's callbacks
  std::vector<ApiRecord> api;
  std::vector<GpuRecord> gpu;
  std::size_t dropped = 0;
  std::string callback_error;
};

namespace {

// CUPTI's buffer callbacks carry no user data: they deliver into the one live trace.
std::mutex g_sink_mutex;
ActivityTraceState* g_sink = nullptr; // guarded by g_sink_mutex
std::atomic<bool> g_trace_alive{false};

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  // CUPTI drops the records (and counts them as dropped) when no buffer is given.
  *buffer = static_cast<uint8_t*>(
      ::operator new (k_buffer_bytes, std::align_val_t{k_buffer_align}, std::nothrow));
  *size = *buffer ? k_buffer_bytes : 0;
  *max_records = 0; // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream_id, uint8_t* buffer,
                               size_t /*size*/, size_t valid_size) {
  std::vector<ApiRecord> api;
  std::vector<GpuRecord> gpu;
  std::size_t dropped = 0;
  std::string error;
  try {
    const Api& cupti_api = g_loaded->api; // set before any trace registered the callbacks
    CUpti_Activity* record = nullptr;
    while (cupti_api.cuptiActivityGetNextRecord(buffer, valid_size, &record) == CUPTI_SUCCESS) {
      switch (record->kind) {
      case CUPTI_ACTIVITY_KIND_RUNTIME:
      case CUPTI_ACTIVITY_KIND_DRIVER: {
        const auto* r = reinterpret_cast<const CUpti_ActivityAPI*>(record);
        api.push_back(ApiRecord{r->correlationId, r->start, r->end,
                                r->kind == CUPTI_ACTIVITY_KIND_DRIVER, r->cbid});
        break;
      }
      case CUPTI_ACTIVITY_KIND_KERNEL:
      case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL: {
        const auto* r = reinterpret_cast<const CUpti_ActivityKernel10*>(record);
        GpuRecord g;
        g.correlation_id = r->correlationId;
        g.start = r->start;
        g.end = r->end;
        g.kind = GpuRecord::kernel;
        g.name = r->name ? r->name : "";
        g.stream_id = r->streamId;
        gpu.push_back(std::move(g));
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMCPY: {
        const auto* r = reinterpret_cast<const CUpti_ActivityMemcpy6*>(record);
        GpuRecord g;
        g.correlation_id = r->correlationId;
        g.start = r->start;
        g.end = r->end;
        g.kind = GpuRecord::memcpy;
        g.copy_kind = r->copyKind;
        g.bytes = r->bytes;
        g.stream_id = r->streamId;
        gpu.push_back(std::move(g));
        break;
      }
      case CUPTI_ACTIVITY_KIND_MEMSET: {
        const auto* r = reinterpret_cast<const CUpti_ActivityMemset4*>(record);
        GpuRecord g;
        g.correlation_id = r->correlationId;
        g.start = r->start;
        g.end = r->end;
        g.kind = GpuRecord::memset;
        g.bytes = r->bytes;
        g.memset_value = r->value;
        g.stream_id = r->streamId;
        gpu.push_back(std::move(g));
        break;
      }
      default:
        break; // kinds another CUPTI user enabled
      }
    }
    cupti_api.cuptiActivityGetNumDroppedRecords(context, stream_id, &dropped);
  } catch (const std::exception& e) {
    error = e.what(); // std::bad_alloc: never let an exception into CUPTI
  }
  ::operator delete (buffer, std::align_val_t{k_buffer_align});
  std::lock_guard<std::mutex> sink_lock(g_sink_mutex);
  if (g_sink) {
    std::lock_guard<std::mutex> lock(g_sink->mutex);
    try {
      g_sink->api.insert(g_sink->api.end(), api.begin(), api.end());
      g_sink->gpu.insert(g_sink->gpu.end(), std::make_move_iterator(gpu.begin()),
                         std::make_move_iterator(gpu.end()));
    } catch (const std::exception& e) {
      error = e.what();
    }
    g_sink->dropped += dropped;
    if (!error.empty() && g_sink->callback_error.empty()) {
      g_sink->callback_error = error;
    }
  }
}

} // namespace

ActivityTrace::ActivityTrace(bool finalize_on_close)
    : m_state(std::make_unique<ActivityTraceState>()), m_finalize_on_close(finalize_on_close) {
  const Api& api = loaded().api;
  if (g_trace_alive.exchange(true)) {
    throw CuptiError(CuptiErrorKind::failed,
                     "an ActivityTrace is already active: CUPTI allows one per process");
  }
  {
    std::lock_guard<std::mutex> lock(g_sink_mutex);
    g_sink = m_state.get();
  }
  std::vector<CUpti_ActivityKind> enabled;
  try {
    // Registered again by every trace: cuptiFinalize forgets them.
    check(api, api.cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed),
          "cuptiActivityRegisterCallbacks");
    for (const CUpti_ActivityKind kind : k_kinds) {
      check(api, api.cuptiActivityEnable(kind),
            fmt::format("cuptiActivityEnable({})", kind_name(kind)));
      enabled.push_back(kind);
    }
  } catch (...) {
    for (const CUpti_ActivityKind kind : enabled) {
      api.cuptiActivityDisable(kind);
    }
    {
      std::lock_guard<std::mutex> lock(g_sink_mutex);
      g_sink = nullptr;
    }
    g_trace_alive = false;
    throw;
  }
}

ActivityTrace::~ActivityTrace() {
  const Api& api = g_loaded->api;
  // Errors are ignored here: nothing can be done about them in a destructor.
  api.cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  for (const CUpti_ActivityKind kind : k_kinds) {
    api.cuptiActivityDisable(kind);
  }
  if (m_finalize_on_close && api.cuptiFinalize) {
    api.cuptiFinalize();
  }
  {
    std::lock_guard<std::mutex> lock(g_sink_mutex);
    g_sink = nullptr;
  }
  g_trace_alive = false;
}

void ActivityTrace::flush(bool forced) {
  const Api& api = g_loaded->api;
  check(api, api.cuptiActivityFlushAll(forced ? CUPTI_ACTIVITY_FLAG_FLUSH_FORCED : 0),
        forced ? "cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED)"
               : "cuptiActivityFlushAll(0)");
}

ActivityRecords ActivityTrace::take() {
  std::lock_guard<std::mutex> lock(m_state->mutex);
  if (!m_state->callback_error.empty()) {
    throw CuptiError(
        CuptiErrorKind::failed,
        fmt::format("reading CUPTI's activity buffers failed: {}", m_state->callback_error));
  }
  if (m_state->dropped > 0) {
    throw CuptiError(CuptiErrorKind::failed,
                     fmt::format("CUPTI dropped {} activity records (cuptiActivityGetNumDropped"
                                 "Records): no memory for an 8 MiB activity buffer; the spans "
                                 "would be wrong",
                                 m_state->dropped));
  }
  ActivityRecords out;
  out.api.swap(m_state->api);
  out.gpu.swap(m_state->gpu);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The official rule

namespace {

const std::string& activity_name(const GpuRecord& record) {
  static const std::string memcpy_name = "MEMCPY";
  static const std::string memset_name = "MEMSET";
  switch (record.kind) {
  case GpuRecord::memcpy:
    return memcpy_name;
  case GpuRecord::memset:
    return memset_name;
  case GpuRecord::kernel:
    break;
  }
  return record.name;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += out.empty() ? "" : ", ";
    out += s;
  }
  return out.empty() ? "none" : out;
}

} // namespace

std::string activity_signature(const GpuRecord& record) {
  switch (record.kind) {
  case GpuRecord::memcpy:
    return fmt::format("MEMCPY_{}_{}_0_{}", record.copy_kind, record.bytes,
                       static_cast<int>(CUPTI_ACTIVITY_KIND_MEMCPY));
  case GpuRecord::memset:
    return fmt::format("MEMSET_0_{}_{}_{}", record.bytes, record.memset_value,
                       static_cast<int>(CUPTI_ACTIVITY_KIND_MEMSET));
  case GpuRecord::kernel:
    break;
  }
  return fmt::format("{}_0_0_0_{}", record.name,
                     static_cast<int>(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL));
}

std::vector<IterationActivity>
analyze_iterations(const std::vector<ApiRecord>& api, const std::vector<GpuRecord>& gpu,
                   const std::vector<std::pair<uint64_t, uint64_t>>& windows) {
  // API records by start, for the inclusive window search.
  std::vector<std::pair<uint64_t, uint32_t>> starts; // (start, correlation id)
  starts.reserve(api.size());
  for (const ApiRecord& r : api) {
    starts.emplace_back(r.start, r.correlation_id);
  }
  std::sort(starts.begin(), starts.end());
  std::unordered_multimap<uint32_t, std::size_t> by_correlation; // id -> index into gpu
  by_correlation.reserve(gpu.size());
  for (std::size_t i = 0; i < gpu.size(); ++i) {
    by_correlation.emplace(gpu[i].correlation_id, i);
  }

  std::vector<IterationActivity> out;
  out.reserve(windows.size());
  for (std::size_t it = 0; it < windows.size(); ++it) {
    const auto [begin, end] = windows[it];
    const auto lo = std::lower_bound(starts.begin(), starts.end(), std::make_pair(begin, 0u));
    const auto hi = std::upper_bound(starts.begin(), starts.end(),
                                     std::make_pair(end, std::numeric_limits<uint32_t>::max()));
    std::set<uint32_t> ids;
    for (auto p = lo; p < hi; ++p) {
      ids.insert(p->second);
    }
    std::vector<std::size_t> records;
    for (const uint32_t id : ids) {
      const auto [first, last] = by_correlation.equal_range(id);
      for (auto g = first; g != last; ++g) {
        records.push_back(g->second);
      }
    }
    if (records.empty()) {
      const std::size_t calls = hi > lo ? static_cast<std::size_t>(hi - lo) : 0;
      throw Error(fmt::format(
          "no kernel activities recorded for iteration {} ({})", it,
          calls == 0 ? "no CUDA API call started in its window"
                     : fmt::format("{} CUDA API call{} started in its window, none launched GPU "
                                   "work",
                                   calls, calls == 1 ? "" : "s")));
    }
    std::sort(records.begin(), records.end(), [&gpu](std::size_t a, std::size_t b) {
      return std::make_pair(gpu[a].start, a) < std::make_pair(gpu[b].start, b);
    });
    IterationActivity a;
    uint64_t min_start = std::numeric_limits<uint64_t>::max();
    uint64_t max_end = 0;
    std::set<std::string> signatures;
    for (const std::size_t i : records) {
      // The official rule would take 0 as the earliest start and report a span of ~1.8e18 ns.
      if (gpu[i].start == 0 && gpu[i].end == 0) {
        throw CuptiError(CuptiErrorKind::failed,
                         fmt::format("CUPTI recorded no timestamps for {} of iteration {} (the "
                                     "activity buffers were flushed before the device finished: "
                                     "synchronize before ActivityTrace::flush(), and do not force "
                                     "the flush; or CUPTI lacked device memory for them)",
                                     activity_name(gpu[i]), it));
      }
      min_start = std::min(min_start, gpu[i].start);
      max_end = std::max(max_end, gpu[i].end);
      signatures.insert(activity_signature(gpu[i]));
      a.activities.push_back(activity_name(gpu[i]));
    }
    // Subtract in integers: the timestamps are ~1.8e18 ns, beyond a double's exact range.
    a.span_ns = static_cast<double>(static_cast<int64_t>(max_end - min_start));
    a.signatures.assign(signatures.begin(), signatures.end());
    if (!out.empty() && a.signatures != out.front().signatures) {
      std::vector<std::string> only_first;
      std::vector<std::string> only_this;
      const std::vector<std::string>& first = out.front().signatures;
      std::set_difference(first.begin(), first.end(), a.signatures.begin(), a.signatures.end(),
                          std::back_inserter(only_first));
      std::set_difference(a.signatures.begin(), a.signatures.end(), first.begin(), first.end(),
                          std::back_inserter(only_this));
      throw Error(fmt::format("inconsistent kernel names: iteration {} ran other GPU activities "
                              "than iteration 0 (only in iteration 0: {}; only in iteration {}: "
                              "{}); activity signatures are name_copykind_bytes_memsetvalue_kind",
                              it, join(only_first), it, join(only_this)));
    }
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<double> iteration_spans_ns(const std::vector<ApiRecord>& api,
                                       const std::vector<GpuRecord>& gpu,
                                       const std::vector<std::pair<uint64_t, uint64_t>>& windows) {
  std::vector<double> out;
  for (const IterationActivity& a : analyze_iterations(api, gpu, windows)) {
    out.push_back(a.span_ns);
  }
  return out;
}

} // namespace fibkit::cuda
