#include "fibkit/engine/bench.hpp"

#include "fibkit/core/eval/latency_cache.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <fmt/format.h>

#include <numeric>

namespace fibkit::engine {

namespace {

// Inputs larger than this stay on the device: the cost models read only small index and
// routing tensors (core/eval/cost_model.hpp), never the weights or caches.
constexpr std::size_t k_cost_input_limit = std::size_t{64} << 20;

// Host copies of the inputs the cost model may read; larger inputs are left empty.
std::vector<core::HostTensor> cost_inputs(const core::Definition& def, const CallData& call,
                                          const std::map<std::string, std::int64_t>& axes) {
  std::vector<core::HostTensor> out(def.inputs.size());
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    const core::TensorSpec& t = def.inputs[i];
    out[i].dtype = t.dtype;
    if (t.is_scalar()) {
      const core::ScalarValue& v = call.args.scalars[i];
      if (core::dtype_is_integer(t.dtype)) {
        const std::int64_t x = v.kind == core::ScalarValue::Kind::integer
                                   ? v.integer
                                   : static_cast<std::int64_t>(v.as_double());
        out[i].bytes.resize(core::dtype_size(t.dtype));
        std::memcpy(out[i].bytes.data(), &x, out[i].bytes.size()); // little-endian low bytes
      } else if (t.dtype == core::DType::float32) {
        const float x = static_cast<float>(v.as_double());
        out[i].bytes.resize(4);
        std::memcpy(out[i].bytes.data(), &x, 4);
      }
      continue;
    }
    out[i].shape = def.concrete_shape(t, axes);
    const cuda::DeviceBuffer& buffer = call.inputs[i];
    if (buffer.size() <= k_cost_input_limit) {
      out[i].bytes.resize(buffer.size());
      buffer.download(out[i].bytes.data(), out[i].bytes.size());
    }
  }
  return out;
}

SolutionTiming summarise(std::vector<Timing> trials) {
  SolutionTiming s;
  for (Timing& t : trials) {
    s.trial_ms.push_back(t.median_ms);
    s.samples_ms.insert(s.samples_ms.end(), t.samples_ms.begin(), t.samples_ms.end());
    s.converged = s.converged && t.converged;
    s.throttled += t.throttled;
    if (s.kernels.empty()) {
      s.kernels = t.kernels;
    }
  }
  s.latency_ms = core::mean(s.trial_ms);
  return s;
}

void write_timing(util::JsonWriter& out, const SolutionTiming& t) {
  out.begin_object().key("latency_ms").value(t.latency_ms);
  out.key("trial_ms").begin_array();
  for (double v : t.trial_ms) {
    out.value(v);
  }
  out.end_array().key("samples_ms").begin_array();
  for (double v : t.samples_ms) {
    out.value(v);
  }
  out.end_array().key("kernels").begin_array();
  for (const std::string& k : t.kernels) {
    out.value(k);
  }
  out.end_array().key("converged").value(t.converged);
  out.key("throttled").value(static_cast<std::uint64_t>(t.throttled)).end_object();
}

SolutionTiming read_timing(const util::JsonValue& v) {
  SolutionTiming t;
  t.latency_ms = v.at("latency_ms").as_double();
  for (const util::JsonValue& x : v.at("trial_ms").items()) {
    t.trial_ms.push_back(x.as_double());
  }
  for (const util::JsonValue& x : v.at("samples_ms").items()) {
    t.samples_ms.push_back(x.as_double());
  }
  for (const util::JsonValue& x : v.at("kernels").items()) {
    t.kernels.push_back(x.as_string());
  }
  t.converged = v.at("converged").as_bool();
  t.throttled = static_cast<std::size_t>(v.at("throttled").as_int());
  return t;
}

} // namespace

WorkloadBench bench_workload(const VerifyJob& job, const BenchSettings& settings,
                             const std::optional<OtherSolution>& other, const core::Workload& w,
                             VerifyRuntime& runtime, GpuTimer& timer) {
  WorkloadBench out;
  // Correctness on every trial first, as the official evaluator does.
  out.verdict = verify_workload(job, w, runtime);
  if (out.verdict.status != core::EvaluationStatus::passed) {
    return out;
  }
  const core::Definition& def = *job.definition;
  const cuda::Context& ctx = runtime.context;
  std::map<std::string, std::int64_t> axes(w.axes.begin(), w.axes.end());
  out.timer = timer.timer_name();
  out.fallback = timer.fallback_reason();

  Runnable& solution = runnable(runtime, job, solution_source(job));
  solution.prepare(axes);
  Runnable* reference = nullptr;
  std::optional<core::LatencyCache> cache;
  core::LatencyKey key{
      def.name,
      w.uuid,
      settings.gpu_name,
      job.python_timed                      ? std::string("python-events")
      : settings.mode == BenchMode::contest ? "contest-" + out.timer
                                            : "kernel-" + out.timer,
      fmt::format("{}/{}/{}", settings.warmup, settings.iterations, settings.trials),
      settings.reference_hash};
  if (settings.time_reference) {
    if (!settings.latency_cache_dir.empty()) {
      cache.emplace(settings.latency_cache_dir);
      if (const std::optional<double> ms = cache->get(key)) {
        SolutionTiming t;
        t.latency_ms = *ms;
        out.reference = t;
        out.reference_cached = true;
      }
    }
    if (!out.reference_cached) {
      reference = &runnable(runtime, job, reference_source(job, true));
      reference->prepare(axes);
    }
  }
  Runnable* second = nullptr;
  if (other) {
    try {
      second = &runnable(runtime, job, *other);
      second->prepare(axes);
    } catch (const std::exception& e) {
      out.other_error = e.what();
      second = nullptr;
    }
  }

  // Code in another process (the Python bridge) is timed there, in kernel mode too (its launches
  // are not this process's to queue behind a spin kernel): a Python or Triton solution by the
  // contest method (CUPTI spans), the definition's Python reference with CUDA events around each
  // call, as flashinfer-bench 0.1.2 times it — the references are host-bound Python (hundreds to
  // thousands of launches per call), and tracing them with CUPTI measures the tracing
  // (docs/bench.md, "Python references").
  const auto time_one = [&](const Runnable& exec, CallArgs& args, bool cupti) {
    if (std::optional<OwnTiming> own =
            exec.time_itself(args, ctx.stream(), settings.warmup, settings.iterations, cupti)) {
      if (cupti && !own->fallback.empty() &&
          out.fallback.find(own->fallback) == std::string::npos) {
        out.fallback += (out.fallback.empty() ? "" : "; ") + ("Python bridge: " + own->fallback);
      }
      Timing t;
      t.samples_ms = std::move(own->samples_ms);
      t.kernels = std::move(own->kernels);
      t.median_ms = core::median(t.samples_ms);
      return t;
    }
    const TimedCall call = [&](CUstream stream) { exec.run(args, stream); };
    return settings.mode == BenchMode::contest
               ? timer.contest(call, settings.warmup, settings.iterations)
               : timer.kernel_mode(call, settings.warmup, settings.noise);
  };
  std::vector<Timing> sol_t, ref_t, other_t;
  for (int trial = 0; trial < settings.trials; ++trial) {
    // Fresh inputs per trial (other streams than the correctness trials'), outputs allocated
    // once per trial and reused across its calls, as the official harness does.
    CallData call = make_inputs(job, w, axes, runtime.random, job.trials + trial, ctx);
    if (trial == 0) {
      out.cost = core::estimate_cost(def, axes, cost_inputs(def, call, axes));
    }
    std::vector<cuda::DeviceBuffer> outputs = allocate_outputs(def, axes, call.args, ctx.stream());
    // Interleaved per trial: solution, other, reference, so that a drifting clock affects all.
    sol_t.push_back(time_one(solution, call.args, settings.use_cupti));
    if (second) {
      try {
        other_t.push_back(time_one(*second, call.args, settings.use_cupti));
      } catch (const std::exception& e) {
        out.other_error = e.what();
        second = nullptr;
        other_t.clear();
      }
    }
    if (reference) {
      ref_t.push_back(time_one(*reference, call.args, settings.use_cupti && !job.python_timed));
    }
  }
  out.solution = summarise(sol_t);
  if (!other_t.empty()) {
    out.other = summarise(other_t);
  }
  if (reference) {
    out.reference = summarise(ref_t);
    if (cache) {
      try {
        cache->put(key, out.reference->latency_ms);
      } catch (const std::exception&) {
        // An unwritable cache costs a new measurement next time, never this workload's result.
      }
    }
  }
  return out;
}

std::string workload_bench_to_json(const WorkloadBench& b) {
  util::JsonWriter out;
  out.begin_object().key("verdict");
  write_verdict(out, b.verdict);
  out.key("timer").value(b.timer).key("fallback").value(b.fallback);
  out.key("reference_cached").value(b.reference_cached);
  out.key("other_error").value(b.other_error);
  for (const auto& [name, t] :
       {std::pair{"solution", &b.solution}, {"reference", &b.reference}, {"other", &b.other}}) {
    out.key(name);
    if (*t) {
      write_timing(out, **t);
    } else {
      out.null();
    }
  }
  out.key("cost");
  if (b.cost) {
    out.begin_object().key("flops").value(b.cost->flops).key("bytes").value(b.cost->bytes);
    out.key("basis").value(b.cost->basis).end_object();
  } else {
    out.null();
  }
  out.end_object();
  return out.take();
}

WorkloadBench workload_bench_from_json(const std::string& json) {
  util::JsonParser parser;
  const util::JsonValue root = util::parse_json(parser, json, {"bench child", 0});
  WorkloadBench b;
  b.verdict = read_verdict(root.at("verdict"));
  b.timer = root.at("timer").as_string();
  b.fallback = root.at("fallback").as_string();
  b.reference_cached = root.at("reference_cached").as_bool();
  b.other_error = root.at("other_error").as_string();
  for (const auto& [name, t] :
       {std::pair{"solution", &b.solution}, {"reference", &b.reference}, {"other", &b.other}}) {
    if (root.has_non_null(name)) {
      *t = read_timing(root.at(name));
    }
  }
  if (root.has_non_null("cost")) {
    const util::JsonValue c = root.at("cost");
    b.cost =
        core::Cost{c.at("flops").as_double(), c.at("bytes").as_double(), c.at("basis").as_string()};
  }
  return b;
}

} // namespace fibkit::engine
