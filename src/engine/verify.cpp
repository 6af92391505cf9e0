#include "fibkit/engine/verify.hpp"

#include "fibkit/core/eval/synth.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/executor.hpp"
#include "fibkit/engine/random.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"
#include "fibkit/util/safetensors.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>

namespace fibkit::engine {

namespace {

// Poison for outputs: NaN for every float type (all-ones bytes), a large positive value for
// integers (0x7f bytes; -1 would look like valid padding).
unsigned char poison_byte(core::DType dtype) {
  return core::dtype_is_integer(dtype) ? 0x7f : 0xff;
}

core::HostTensor download(const cuda::DeviceBuffer& buffer, core::DType dtype,
                          std::vector<std::int64_t> shape) {
  core::HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.resize(buffer.size());
  buffer.download(t.bytes.data(), t.bytes.size());
  return t;
}

} // namespace

// The inputs of one trial, as the official gen_inputs draws them.
CallData make_inputs(const VerifyJob& job, const core::Workload& w,
                     const std::map<std::string, std::int64_t>& axes, const RandomGenerator& gen,
                     int trial, const cuda::Context& ctx) {
  const core::Definition& def = *job.definition;
  const core::DefinitionTraits traits = core::definition_traits(def);
  CallData call;
  call.host_inputs.resize(def.inputs.size());
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    const core::TensorSpec& t = def.inputs[i];
    const core::InputSpec* spec = w.find_input(t.name);
    if (t.is_scalar()) {
      core::ScalarValue v;
      if (spec && spec->kind == core::InputSpec::Kind::scalar) {
        v = spec->value;
      } else {
        // A random scalar: one element of the official distribution.
        double value = 0.0;
        std::vector<unsigned char> one(8);
        fill_random_host(one.data(), 1, t.dtype, job.seed, input_stream_id(trial, i));
        core::HostTensor h{t.dtype, {}, {one.begin(), one.begin() + core::dtype_size(t.dtype)}};
        value = h.at(0);
        v.kind = core::dtype_is_integer(t.dtype) ? core::ScalarValue::Kind::integer
                                                 : core::ScalarValue::Kind::floating;
        v.integer = static_cast<std::int64_t>(value);
        v.floating = value;
      }
      call.args.scalars.push_back(v);
      call.args.inputs.push_back(0);
      call.inputs.emplace_back();
      continue;
    }
    const std::vector<std::int64_t> shape = def.concrete_shape(t, axes);
    std::size_t numel = 1;
    for (std::int64_t d : shape) {
      numel *= static_cast<std::size_t>(d);
    }
    cuda::DeviceBuffer buffer(numel * core::dtype_size(t.dtype));
    const bool packed_k_cache = t.name == traits.packed_fp8_k_cache &&
                                (!spec || spec->kind == core::InputSpec::Kind::random);
    if (spec && spec->kind == core::InputSpec::Kind::safetensors) {
      const std::filesystem::path file = job.set->blob_path(spec->path);
      std::error_code ec;
      core::HostTensor h;
      // Trial 0 uses the workload's data; later trials draw fresh stand-ins with the same
      // structure, so a kernel that returns results cached from an earlier call fails even
      // where the official harness reuses the same blob for every trial.
      if (trial > 0) {
        h = core::synthesize_input(
            def, w, t.name, job.seed + 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(trial));
      } else if (!job.set->root.empty() && std::filesystem::is_regular_file(file, ec)) {
        const util::SafetensorsFile st = util::SafetensorsFile::open(file);
        const util::TensorInfo* info = st.find(spec->tensor_key);
        if (!info) {
          throw Error(fmt::format("{}: no tensor \"{}\"", file.string(), spec->tensor_key));
        }
        const util::ByteSpan data = st.data(*info);
        if (data.size != buffer.size()) {
          throw Error(fmt::format("{}: tensor \"{}\" holds {} bytes, input \"{}\" needs {}",
                                  file.string(), spec->tensor_key, data.size, t.name,
                                  buffer.size()));
        }
        h = core::HostTensor{t.dtype, shape, {data.data, data.data + data.size}};
      } else {
        // The blob is missing: a stand-in with its structure.
        h = core::synthesize_input(def, w, t.name, job.seed);
        call.synthesized = true;
      }
      buffer.upload(h.bytes.data(), h.bytes.size());
    } else if (packed_k_cache) {
      // The official indexer evaluator replaces a random K cache by a packed fp8 cache.
      if (shape.size() != 4 || shape[3] < 4) {
        throw Error(fmt::format("{}: input \"{}\" must be [pages, page_size, 1, head_dim + 4]",
                                def.name, t.name));
      }
      gen.fill_packed_k_cache(buffer, shape[0], shape[1], shape[3] - 4, job.seed,
                              input_stream_id(static_cast<std::uint64_t>(trial), i), ctx.stream());
    } else {
      gen.fill(buffer, numel, t.dtype, job.seed,
               input_stream_id(static_cast<std::uint64_t>(trial), i), ctx.stream());
    }
    call.args.inputs.push_back(buffer.ptr());
    call.args.scalars.emplace_back();
    call.inputs.push_back(std::move(buffer));
  }
  ctx.synchronize();
  // Inputs are checked for writes by checksums on the device; they are copied to the host only
  // for the indexer's evaluator (it rescores indices) and for --dump: a MoE call has 1.4 GB of
  // weights.
  const bool need_host = !job.dump_root.empty() ||
                         core::select_evaluator(def) == core::EvaluatorKind::dsa_topk_indexer;
  call.checksums.assign(def.inputs.size(), 0);
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    if (def.inputs[i].is_scalar()) {
      continue;
    }
    call.checksums[i] = gen.checksum(call.inputs[i], ctx);
    if (need_host) {
      call.host_inputs[i] =
          download(call.inputs[i], def.inputs[i].dtype, def.concrete_shape(def.inputs[i], axes));
    }
  }
  return call;
}

std::vector<cuda::DeviceBuffer> allocate_outputs(const core::Definition& def,
                                                 const std::map<std::string, std::int64_t>& axes,
                                                 CallArgs& args, CUstream stream) {
  std::vector<cuda::DeviceBuffer> outputs;
  args.outputs.clear();
  for (const core::TensorSpec& t : def.outputs) {
    std::size_t bytes = core::dtype_size(t.dtype);
    for (std::int64_t d : def.concrete_shape(t, axes)) {
      bytes *= static_cast<std::size_t>(d);
    }
    outputs.emplace_back(bytes);
    outputs.back().fill(poison_byte(t.dtype), stream);
    args.outputs.push_back(outputs.back().ptr());
  }
  return outputs;
}

// Runs a prepared solution on the inputs into fresh poisoned outputs and returns them. The
// executor (and so its loaded module) lives across trials, as the official harness keeps the
// solution loaded: a kernel that caches results between calls is caught by the next trial.
std::vector<core::HostTensor> run_solution(const Runnable& exec, const core::Definition& def,
                                           CallData& call,
                                           const std::map<std::string, std::int64_t>& axes,
                                           const cuda::Context& ctx) {
  std::vector<cuda::DeviceBuffer> outputs = allocate_outputs(def, axes, call.args, ctx.stream());
  exec.run(call.args, ctx.stream());
  ctx.synchronize();
  std::vector<core::HostTensor> host;
  for (std::size_t o = 0; o < def.outputs.size(); ++o) {
    host.push_back(
        download(outputs[o], def.outputs[o].dtype, def.concrete_shape(def.outputs[o], axes)));
  }
  return host;
}

namespace {

// The Runnable of `source` for the job's definition, ready to prepare.
std::unique_ptr<Runnable> make_runnable(const VerifyJob& job, const RunnableSource& source,
                                        const cuda::Context& ctx) {
  if (source.python_id != 0) {
    return std::make_unique<PythonRunnable>(*job.bridge, source.python_id, *job.definition);
  }
  if (source.library != nullptr) {
    return std::make_unique<TvmFfiFunction>(*source.library, *job.definition);
  }
  return std::make_unique<PlanExecutor>(*source.config, *job.definition, *source.build, ctx);
}

} // namespace

RunnableSource solution_source(const VerifyJob& job) {
  return {job.solution, job.solution_build, job.solution_library, job.python_solution};
}

RunnableSource reference_source(const VerifyJob& job, bool for_timing) {
  const bool python = for_timing ? job.python_timed : job.python_checks;
  return {job.reference, job.reference_build, nullptr, python ? job.python_reference : 0};
}

Runnable& runnable(VerifyRuntime& runtime, const VerifyJob& job, const RunnableSource& source) {
  // What the source points at identifies it: one job's builds, library and bridge ids do not
  // change while the runtime lives.
  std::unique_ptr<Runnable>& slot =
      runtime.runnables[{source.config, source.build, source.library, source.python_id}];
  if (!slot) {
    slot = make_runnable(job, source, runtime.context);
  }
  return *slot;
}

WorkloadVerdict verify_workload(const VerifyJob& job, const core::Workload& w,
                                VerifyRuntime& runtime) {
  const core::Definition& def = *job.definition;
  const cuda::Context& ctx = runtime.context;
  const RandomGenerator& gen = runtime.random;
  std::map<std::string, std::int64_t> axes(w.axes.begin(), w.axes.end());
  WorkloadVerdict verdict;
  std::vector<core::OutputCheck> trials;
  Runnable& solution = runnable(runtime, job, solution_source(job));
  Runnable& reference = runnable(runtime, job, reference_source(job, false));
  solution.prepare(axes);
  reference.prepare(axes);
  for (int trial = 0; trial < job.trials; ++trial) {
    CallData call = make_inputs(job, w, axes, gen, trial, ctx);
    verdict.synthesized = verdict.synthesized || call.synthesized;
    std::vector<core::HostTensor> sol;
    try {
      sol = run_solution(solution, def, call, axes, ctx);
    } catch (const OutputMismatch& e) { // a value-returning Python solution's wrong shape/dtype
      const auto status = core::parse_status(e.status());
      verdict.status = status ? *status : core::EvaluationStatus::runtime_error;
      verdict.log = fmt::format("trial {}: {}", trial, e.what());
      return verdict;
    }
    // A kernel that writes its inputs fails, whatever its outputs.
    for (std::size_t i = 0; i < def.inputs.size(); ++i) {
      if (def.inputs[i].is_scalar()) {
        continue;
      }
      if (runtime.random.checksum(call.inputs[i], ctx) != call.checksums[i]) {
        verdict.status = core::EvaluationStatus::runtime_error;
        verdict.log =
            fmt::format("trial {}: the solution wrote its input \"{}\"", trial, def.inputs[i].name);
        return verdict;
      }
    }
    const std::vector<core::HostTensor> ref = run_solution(reference, def, call, axes, ctx);
    if (!job.dump_root.empty()) {
      write_dump(job.dump_root / job.solution->name / w.uuid /
                     fmt::format("trial{}.safetensors", trial),
                 def, call.host_inputs, call.args.scalars, sol, ref);
    }
    core::OutputCheck check = core::check_outputs(def, sol, ref, job.tolerance, call.host_inputs);
    if (!check.log.empty()) {
      check.log = fmt::format("trial {}: {}", trial, check.log);
    }
    trials.push_back(std::move(check));
  }
  const core::OutputCheck merged = core::merge_trials(trials);
  verdict.status = merged.status;
  verdict.correctness = merged.correctness;
  for (const core::OutputCheck& t : trials) {
    if (!t.log.empty()) {
      verdict.log += (verdict.log.empty() ? "" : "\n") + t.log;
    }
  }
  return verdict;
}

void write_dump(const std::filesystem::path& file, const core::Definition& def,
                const std::vector<core::HostTensor>& inputs,
                const std::vector<core::ScalarValue>& scalars,
                const std::vector<core::HostTensor>& solution,
                const std::vector<core::HostTensor>& reference) {
  std::vector<util::TensorToWrite> tensors;
  util::StMetadata metadata;
  const auto add = [&](const std::string& key, const core::HostTensor& t) {
    const auto dtype = util::st_dtype_from_definition(core::dtype_name(t.dtype));
    if (!dtype) {
      throw Error(fmt::format("{}: {}: dtype {} has no safetensors type", file.string(), key,
                              core::dtype_name(t.dtype)));
    }
    tensors.push_back(
        util::TensorToWrite{key, *dtype, std::vector<std::uint64_t>(t.shape.begin(), t.shape.end()),
                            util::ByteSpan{t.bytes.data(), t.bytes.size()}});
  };
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    if (!def.inputs[i].is_scalar()) {
      add("input." + def.inputs[i].name, inputs.at(i));
      continue;
    }
    const core::ScalarValue& v = scalars.at(i);
    util::JsonWriter text;
    core::write_scalar(text, v);
    metadata["scalar." + def.inputs[i].name] = text.take();
  }
  for (std::size_t o = 0; o < def.outputs.size(); ++o) {
    add("output." + def.outputs[o].name, solution.at(o));
    add("reference." + def.outputs[o].name, reference.at(o));
  }
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) {
    throw Error(fmt::format("{}: cannot create the directory: {}", file.parent_path().string(),
                            ec.message()));
  }
  util::write_safetensors(file, tensors, metadata);
}

void write_verdict(util::JsonWriter& out, const WorkloadVerdict& v) {
  out.begin_object().key("status").value(core::status_name(v.status));
  out.key("synthesized").value(v.synthesized).key("log").value(v.log);
  out.key("correctness");
  if (v.correctness) {
    core::write_correctness(out, *v.correctness);
  } else {
    out.null();
  }
  out.end_object();
}

WorkloadVerdict read_verdict(const util::JsonValue& json) {
  WorkloadVerdict v;
  const auto status = core::parse_status(json.at("status").as_string());
  if (!status) {
    json.at("status").fail("not an evaluation status");
  }
  v.status = *status;
  v.synthesized = json.at("synthesized").as_bool();
  v.log = json.at("log").as_string();
  if (json.has_non_null("correctness")) {
    v.correctness = core::parse_correctness(json.at("correctness"));
  }
  return v;
}

} // namespace fibkit::engine
