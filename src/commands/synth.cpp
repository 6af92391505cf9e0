// fibkit synth: write stand-ins for the safetensors blobs a dataset references but lacks (the
// contest's blobs are not public), with the structure the kernels rely on, so every later run
// reuses the same inputs.
#include "fibkit/core/synth.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/blobs.hpp"
#include "fibkit/core/trace_set.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace fibkit::commands {

namespace {

struct SynthOptions {
  std::string dataset;
  std::uint64_t seed = 0;
};

ExitCode run_synth(const SynthOptions& opt, const Context&) {
  const core::TraceSet set = core::load_trace_set(opt.dataset);
  std::size_t before = 0;
  for (const core::Definition& d : set.definitions) {
    before += core::check_blobs(set, d, false).missing.size();
  }
  core::write_synthesized_blobs(set, opt.dataset, opt.seed);
  std::size_t invalid = 0;
  std::size_t after = 0;
  for (const core::Definition& d : set.definitions) {
    const core::BlobReport r = core::check_blobs(set, d, false);
    after += r.missing.size();
    invalid += r.invalid.size();
    for (const std::string& m : r.invalid) {
      spdlog::error("{}", m);
    }
  }
  spdlog::info("wrote {} synthesised blob file(s) into {} (seed {}); {} still missing",
               before - after, opt.dataset, opt.seed, after);
  return invalid ? ExitCode::failed : ExitCode::ok;
}

} // namespace

Command register_synth(CLI::App& app) {
  auto opt = std::make_shared<SynthOptions>();
  CLI::App* sub = app.add_subcommand(
      "synth", "Write stand-ins for the missing safetensors blobs of a dataset (structured like "
               "the contest's: padded sparse indices, consistent block tables, cu_seqlens, ...)");
  sub->add_option("--dataset", opt->dataset, "TraceSet directory to complete")->required();
  sub->add_option("--seed", opt->seed, "Seed of the stand-ins (default 0)");
  return {sub, [opt](const Context& ctx) { return run_synth(*opt, ctx); }};
}

} // namespace fibkit::commands
