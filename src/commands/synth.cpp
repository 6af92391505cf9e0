// fibkit synth: write stand-ins for the safetensors blobs a dataset references but lacks (the
// contest's blobs are not public), with the structure the kernels rely on, so every later run
// reuses the same inputs.
#include "fibkit/core/eval/synth.hpp"
#include "command_table.hpp"
#include "fibkit/commands/app.hpp"
#include "fibkit/core/trace/blobs.hpp"
#include "fibkit/core/trace/dataset.hpp"
#include "fibkit/core/trace/trace_set.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <unistd.h>

namespace fibkit::commands {

namespace {

struct SynthOptions {
  std::optional<std::string> dataset;
  std::uint64_t seed = 0;
};

std::string size_text(std::uint64_t bytes) {
  if (bytes >= 1000000000) {
    return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
  }
  if (bytes >= 1000000) {
    return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
  }
  return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
}

ExitCode run_synth(const SynthOptions& opt, const Context& ctx) {
  const std::string dataset = core::dataset_source(opt.dataset).path;
  if (dataset.empty()) {
    throw UsageError("synth writes into a dataset directory: pass --dataset DIR or set "
                     "FIB_DATASET_PATH (the embedded examples have no place for blobs)");
  }
  const core::TraceSet set = core::load_trace_set(dataset);
  std::size_t before = 0;
  for (const core::Definition& d : set.definitions) {
    before += core::check_blobs(set, d, false).missing.size();
  }
  spdlog::info("{}: {} blob reference(s) missing; writing stand-ins (seed {})", dataset, before,
               opt.seed);
  // Progress on a terminal: the contest's full set is ~1.8 GB and takes about a minute.
  const bool progress = ::isatty(STDERR_FILENO) && !ctx.quiet;
  const auto start = std::chrono::steady_clock::now();
  const core::SynthSummary written = core::write_synthesized_blobs(
      set, dataset, opt.seed,
      [&](std::size_t done, std::size_t total, const std::filesystem::path& file) {
        spdlog::debug("wrote {}", file.string());
        if (progress) {
          fmt::print(stderr, "\r\033[K  [{}/{}] {}", done, total, file.filename().string());
          std::fflush(stderr);
        }
      });
  if (progress) {
    fmt::print(stderr, "\r\033[K");
  }
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
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  spdlog::info("wrote {} blob file{} ({}) into {} in {:.1f} s (seed {}); {} blob reference(s) "
               "still missing",
               written.files, written.files == 1 ? "" : "s", size_text(written.bytes), dataset,
               seconds, opt.seed, after);
  return invalid ? ExitCode::failed : ExitCode::ok;
}

} // namespace

Command register_synth(CLI::App& app) {
  auto opt = std::make_shared<SynthOptions>();
  CLI::App* sub = app.add_subcommand(
      "synth", "Write stand-ins for the missing safetensors blobs of a dataset (structured like "
               "the contest's: padded sparse indices, consistent block tables, cu_seqlens, ...)");
  sub->add_option("--dataset", opt->dataset,
                  "TraceSet directory to complete (default: $FIB_DATASET_PATH)");
  sub->add_option("--seed", opt->seed, "Seed of the stand-ins (default 0)");
  return {sub, [opt](const Context& ctx) { return run_synth(*opt, ctx); }};
}

} // namespace fibkit::commands
