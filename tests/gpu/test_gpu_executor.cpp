// End to end on a GPU: the gated_delta_net starter project (from the embedded templates) is
// built with NVRTC, run through the launch-plan executor on fresh random inputs with its outputs
// poisoned, and compared with a plain fp32 host implementation of the definition under the
// official correctness rules.
#include "fibkit/core/eval/compare.hpp"
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/templates.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/engine/executor.hpp"
#include "fibkit/util/file.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fibkit;

namespace {

std::uint16_t to_bf16(float f) { // round to nearest even
  std::uint32_t u = 0;
  std::memcpy(&u, &f, 4);
  u += 0x7FFF + ((u >> 16) & 1);
  return static_cast<std::uint16_t>(u >> 16);
}

float from_bf16(std::uint16_t h) {
  const std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float f = 0;
  std::memcpy(&f, &u, 4);
  return f;
}

struct GdnInputs {
  int batch = 0;
  std::vector<std::uint16_t> q, k, v, a, b; // bf16
  std::vector<float> state, a_log, dt_bias;
  float scale = 0.08838834764831843f;
};

constexpr int kH = 8, kQK = 4, kD = 128;

GdnInputs random_inputs(int batch, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform(1.0f, 16.0f);
  GdnInputs in;
  in.batch = batch;
  const auto unit_rows = [&](std::vector<std::uint16_t>& t, int heads) {
    t.resize(static_cast<std::size_t>(batch) * heads * kD);
    for (std::size_t row = 0; row < t.size() / kD; ++row) {
      std::vector<float> x(kD);
      float norm = 0;
      for (float& e : x) {
        e = normal(rng);
        norm += e * e;
      }
      for (int i = 0; i < kD; ++i) {
        t[row * kD + i] = to_bf16(x[i] / std::sqrt(norm)); // L2-normalised like the model's
      }
    }
  };
  unit_rows(in.q, kQK);
  unit_rows(in.k, kQK);
  const auto fill = [&](std::vector<std::uint16_t>& t, std::size_t n) {
    t.resize(n);
    for (auto& e : t) {
      e = to_bf16(normal(rng));
    }
  };
  fill(in.v, static_cast<std::size_t>(batch) * kH * kD);
  fill(in.a, static_cast<std::size_t>(batch) * kH);
  fill(in.b, static_cast<std::size_t>(batch) * kH);
  in.state.resize(static_cast<std::size_t>(batch) * kH * kD * kD);
  for (float& e : in.state) {
    e = 0.1f * normal(rng);
  }
  for (int h = 0; h < kH; ++h) {
    in.a_log.push_back(std::log(uniform(rng)));
    in.dt_bias.push_back(0.5f * normal(rng));
  }
  return in;
}

// The definition's semantics in plain fp32: state is [B, H, V, K] (k-last).
void host_reference(const GdnInputs& in, std::vector<float>& out, std::vector<float>& new_state) {
  out.assign(static_cast<std::size_t>(in.batch) * kH * kD, 0.0f);
  new_state.assign(in.state.size(), 0.0f);
  for (int bi = 0; bi < in.batch; ++bi) {
    for (int h = 0; h < kH; ++h) {
      const int qk = h / (kH / kQK);
      const float x = from_bf16(in.a[bi * kH + h]) + in.dt_bias[h];
      const float softplus = x > 20.0f ? x : std::log1p(std::exp(x));
      const float g = std::exp(-std::exp(in.a_log[h]) * softplus);
      const float beta = 1.0f / (1.0f + std::exp(-from_bf16(in.b[bi * kH + h])));
      const std::uint16_t* q = &in.q[(static_cast<std::size_t>(bi) * kQK + qk) * kD];
      const std::uint16_t* k = &in.k[(static_cast<std::size_t>(bi) * kQK + qk) * kD];
      for (int vr = 0; vr < kD; ++vr) {
        const std::size_t row = ((static_cast<std::size_t>(bi) * kH + h) * kD + vr) * kD;
        float old_v = 0;
        for (int c = 0; c < kD; ++c) {
          old_v += from_bf16(k[c]) * g * in.state[row + c];
        }
        const float vin = from_bf16(in.v[(static_cast<std::size_t>(bi) * kH + h) * kD + vr]);
        const float new_v = beta * vin + (1 - beta) * old_v;
        float o = 0;
        for (int c = 0; c < kD; ++c) {
          const float s = g * in.state[row + c] + from_bf16(k[c]) * (new_v - old_v);
          new_state[row + c] = s;
          o += from_bf16(q[c]) * s;
        }
        out[(static_cast<std::size_t>(bi) * kH + h) * kD + vr] = in.scale * o;
      }
    }
  }
}

template <typename T> cuda::DeviceBuffer upload(const std::vector<T>& host) {
  cuda::DeviceBuffer d(host.size() * sizeof(T));
  d.upload(host.data(), host.size() * sizeof(T));
  return d;
}

} // namespace

TEST_CASE("gpu: the GDN decode starter runs through the launch plan and matches fp32", "[gpu]") {
  std::string tmpl = (fs::temp_directory_path() / "fibkit-gpu-XXXXXX").string();
  const fs::path dir = ::mkdtemp(tmpl.data());
  for (const core::ProjectFile& f : core::starter_project("gated_delta_net")) {
    util::write_file_atomic(dir / f.path, f.content);
  }
  const core::ProjectConfig project = core::load_config(dir / "config.toml");
  const core::SolutionConfig& s = project.select("fibkit-simple-gdn-decode");
  const core::TraceSet examples = core::load_embedded_examples();
  const core::Definition& def = *examples.find_definition(s.definition);

  engine::SolutionBuild build = engine::build_solution(s, cuda::detect_arch(), {});
  engine::check_build(s, def, build);
  cuda::Context ctx;
  engine::PlanExecutor exec(s, def, build, ctx);

  for (int batch : {1, 4, 64}) {
    INFO("batch_size " << batch);
    const GdnInputs in = random_inputs(batch, 1234u + static_cast<unsigned>(batch));
    const auto dq = upload(in.q), dk = upload(in.k), dv = upload(in.v), da = upload(in.a),
               db = upload(in.b);
    const auto dstate = upload(in.state), dalog = upload(in.a_log), ddt = upload(in.dt_bias);
    cuda::DeviceBuffer dout(in.v.size() * 2), dnew(in.state.size() * 4);
    dout.fill(0xFF, ctx.stream()); // NaN poison: unwritten elements fail the check
    dnew.fill(0xFF, ctx.stream());

    engine::CallArgs args;
    args.inputs = {dq.ptr(),  dk.ptr(), dv.ptr(), dstate.ptr(), dalog.ptr(), da.ptr(),
                   ddt.ptr(), db.ptr(), 0};
    args.scalars.resize(9);
    args.scalars[8].kind = core::ScalarValue::Kind::floating;
    args.scalars[8].floating = in.scale;
    args.outputs = {dout.ptr(), dnew.ptr()};
    exec.prepare({{"batch_size", batch}});
    exec.run(args, ctx.stream());
    ctx.synchronize();

    std::vector<std::uint16_t> out(in.v.size());
    std::vector<float> new_state(in.state.size());
    dout.download(out.data(), out.size() * 2);
    dnew.download(new_state.data(), new_state.size() * 4);
    std::vector<float> ref_out, ref_state;
    host_reference(in, ref_out, ref_state);
    std::vector<std::uint16_t> ref_out_bf16(ref_out.size());
    for (std::size_t i = 0; i < ref_out.size(); ++i) {
      ref_out_bf16[i] = to_bf16(ref_out[i]);
    }
    const std::vector<std::int64_t> out_shape{batch, 1, kH, kD};
    const std::vector<std::int64_t> state_shape{batch, kH, kD, kD};
    const auto sol = std::vector<core::HostTensor>{
        core::make_host_tensor(core::DType::bfloat16, out_shape, out),
        core::make_host_tensor(core::DType::float32, state_shape, new_state)};
    const auto ref = std::vector<core::HostTensor>{
        core::make_host_tensor(core::DType::bfloat16, out_shape, ref_out_bf16),
        core::make_host_tensor(core::DType::float32, state_shape, ref_state)};
    const core::OutputCheck check = core::check_outputs(def, sol, ref, core::Tolerance{});
    INFO(check.log);
    CHECK(check.status == core::EvaluationStatus::passed);
    REQUIRE(check.correctness);
    WARN("batch " << batch << ": max abs error " << check.correctness->max_absolute_error
                  << ", max rel error " << check.correctness->max_relative_error);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}
