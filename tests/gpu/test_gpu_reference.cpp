// A small verify on a GPU: for the GDN definitions, structured stand-in inputs (core/eval/synth)
// are uploaded, the starter solution and the embedded native reference both run through the
// launch-plan executor with poisoned outputs, and their outputs are compared under the official
// rules.
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/eval/synth.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/templates.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/engine/executor.hpp"
#include "fibkit/util/file.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fibkit;

namespace {

struct Solution {
  core::ProjectConfig project;
  engine::SolutionBuild build;
};

// Writes the embedded files under `prefix` into `dir` (prefix stripped) and builds the solution
// of `config_rel` for the device.
Solution build_embedded(const fs::path& dir, const std::string& prefix,
                        const std::string& config_rel, const std::string& solution,
                        const core::Definition& def) {
  for (const core::EmbeddedFile& f : core::embedded_files()) {
    if (f.path.rfind(prefix, 0) == 0) {
      util::write_file_atomic(dir / std::string(f.path.substr(prefix.size())),
                              std::string(f.content));
    }
  }
  Solution s{core::load_config(dir / config_rel), {}};
  const core::SolutionConfig& sc = s.project.select(solution);
  s.build = engine::build_solution(sc, cuda::detect_arch(), {});
  engine::check_build(sc, def, s.build);
  return s;
}

std::vector<core::HostTensor> run(const Solution& s, const std::string& name,
                                  const core::Definition& def, const core::Workload& w,
                                  const std::vector<core::HostTensor>& inputs,
                                  const cuda::Context& ctx) {
  const core::SolutionConfig& sc = s.project.select(name);
  engine::PlanExecutor exec(sc, def, s.build, ctx);
  std::map<std::string, std::int64_t> axes(w.axes.begin(), w.axes.end());
  exec.prepare(axes);
  std::vector<cuda::DeviceBuffer> in_buffers;
  engine::CallArgs args;
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    const core::TensorSpec& t = def.inputs[i];
    if (t.is_scalar()) {
      const core::InputSpec* spec = w.find_input(t.name);
      REQUIRE(spec);
      args.scalars.push_back(spec->value);
      args.inputs.push_back(0);
    } else {
      in_buffers.emplace_back(inputs[i].bytes.size());
      in_buffers.back().upload(inputs[i].bytes.data(), inputs[i].bytes.size());
      args.scalars.emplace_back();
      args.inputs.push_back(in_buffers.back().ptr());
    }
  }
  std::vector<cuda::DeviceBuffer> out_buffers;
  std::vector<core::HostTensor> outputs;
  for (const core::TensorSpec& t : def.outputs) {
    core::HostTensor h;
    h.dtype = t.dtype;
    h.shape = def.concrete_shape(t, axes);
    h.bytes.resize(static_cast<std::size_t>(h.numel()) * core::dtype_size(t.dtype));
    out_buffers.emplace_back(h.bytes.size());
    out_buffers.back().fill(0xFF, ctx.stream()); // NaN poison
    args.outputs.push_back(out_buffers.back().ptr());
    outputs.push_back(std::move(h));
  }
  exec.run(args, ctx.stream());
  ctx.synchronize();
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    out_buffers[o].download(outputs[o].bytes.data(), outputs[o].bytes.size());
  }
  return outputs;
}

} // namespace

TEST_CASE("gpu: GDN starters match the native references on stand-in inputs", "[gpu]") {
  std::string tmpl = (fs::temp_directory_path() / "fibkit-gpu-ref-XXXXXX").string();
  const fs::path dir = ::mkdtemp(tmpl.data());
  const core::TraceSet examples = core::load_embedded_examples();
  cuda::Context ctx;
  struct Case {
    const char* definition;
    const char* starter;
    const char* reference;
  };
  for (const Case c : {Case{"gdn_decode_qk4_v8_d128_k_last", "fibkit-simple-gdn-decode",
                            "fibkit-reference-gdn-decode"},
                       Case{"gdn_prefill_qk4_v8_d128_k_last", "fibkit-simple-gdn-prefill",
                            "fibkit-reference-gdn-prefill"}}) {
    const core::Definition& def = *examples.find_definition(c.definition);
    for (const core::ProjectFile& f : core::starter_project("gated_delta_net")) {
      util::write_file_atomic(dir / "starter" / f.path, f.content);
    }
    const Solution starter =
        build_embedded(dir / "starter", "nothing/", "config.toml", c.starter, def);
    const Solution reference = build_embedded(
        dir / "ref", "references/", std::string(c.definition) + "/config.toml", c.reference, def);
    const std::vector<core::Trace>& workloads = examples.workloads_of(c.definition);
    // The first, a middle and the last workload (the largest batch / longest sequences).
    for (std::size_t wi : {std::size_t{0}, workloads.size() / 2, workloads.size() - 1}) {
      const core::Workload& w = workloads[wi].workload;
      INFO(c.definition << " workload " << wi << " (" << w.uuid << ")");
      std::vector<core::HostTensor> inputs;
      for (const core::TensorSpec& t : def.inputs) {
        inputs.push_back(core::synthesize_input(def, w, t.name, 42));
      }
      const auto sol = run(starter, c.starter, def, w, inputs, ctx);
      const auto ref = run(reference, c.reference, def, w, inputs, ctx);
      const core::OutputCheck check = core::check_outputs(def, sol, ref, core::Tolerance{});
      INFO(check.log);
      CHECK(check.status == core::EvaluationStatus::passed);
      if (check.correctness) {
        WARN(c.definition << " workload " << wi << ": max abs "
                          << check.correctness->max_absolute_error << ", max rel "
                          << check.correctness->max_relative_error);
      }
    }
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
