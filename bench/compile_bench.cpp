// Compile benchmark: cold (empty cache, NVRTC called) and warm (served from the compile cache)
// builds of every starter project, for sm_90a and sm_100a, measured side by side in one run.
// Prints medians over --repeat runs, the warm/cold ratio, and NVRTC time per program.
//
//   build/bench/fibkit_compile_bench [--repeat N]
#include "fibkit/core/project/config.hpp"
#include "fibkit/core/project/templates.hpp"
#include "fibkit/core/trace/tracks.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/engine/build.hpp"
#include "fibkit/util/file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace fibkit;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Timing {
  double wall = 0.0;
  std::map<std::string, double> nvrtc; // per program "solution:source"
  bool all_cached = true;
};

Timing build_project(const core::ProjectConfig& project, const std::string& arch,
                     util::DiskCache& cache) {
  engine::BuildSettings settings;
  settings.cache = &cache;
  Timing t;
  const auto start = std::chrono::steady_clock::now();
  for (const core::SolutionConfig& s : project.solutions) {
    const engine::SolutionBuild b = engine::build_solution(s, arch, settings);
    for (const engine::ProgramBuild& p : b.programs) {
      t.nvrtc[fs::path(p.source).filename().string()] = p.seconds;
      t.all_cached = t.all_cached && p.cached;
    }
  }
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return t;
}

} // namespace

int main(int argc, char** argv) {
  int repeat = 5;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    }
  }
  std::string tmpl = (fs::temp_directory_path() / "fibkit-compile-bench-XXXXXX").string();
  const fs::path root = ::mkdtemp(tmpl.data());
  fmt::print("fibkit compile benchmark: NVRTC {}, {} runs per cell (median)\n\n",
             cuda::nvrtc_version(), repeat);
  fmt::print("{:<18} {:<8} {:>10} {:>10} {:>9}   {}\n", "track", "arch", "cold (s)", "warm (s)",
             "cold/warm", "NVRTC per program, cold (s)");
  bool ok = true;
  for (const core::Track& track : core::contest_tracks()) {
    const fs::path dir = root / std::string(track.name);
    for (const core::ProjectFile& f : core::starter_project(track.name)) {
      util::write_file_atomic(dir / f.path, f.content);
    }
    const core::ProjectConfig project = core::load_config(dir / "config.toml");
    for (const std::string arch : {"sm_90a", "sm_100a"}) {
      std::vector<double> cold;
      std::vector<double> warm;
      std::map<std::string, std::vector<double>> per_program;
      for (int r = 0; r < repeat; ++r) {
        const fs::path cache_dir = root / fmt::format("cache-{}-{}-{}", track.name, arch, r);
        util::DiskCache cache(cache_dir);
        const Timing c = build_project(project, arch, cache); // empty cache: NVRTC runs
        const Timing w = build_project(project, arch, cache); // same cache: no NVRTC call
        ok = ok && !c.all_cached && w.all_cached;
        cold.push_back(c.wall);
        warm.push_back(w.wall);
        for (const auto& [name, s] : c.nvrtc) {
          per_program[name].push_back(s);
        }
      }
      std::string programs;
      for (const auto& [name, v] : per_program) {
        programs += fmt::format("{}{} {:.3f}", programs.empty() ? "" : ", ", name, median(v));
      }
      fmt::print("{:<18} {:<8} {:>10.3f} {:>10.4f} {:>8.0f}x   {}\n", track.name, arch,
                 median(cold), median(warm), median(cold) / median(warm), programs);
    }
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  if (!ok) {
    fmt::print("\nERROR: a cold build was served from the cache or a warm build called NVRTC\n");
    return 1;
  }
  fmt::print("\nwarm = the second build with the same cache: hashing sources and headers, reading "
             "and checking the cached cubin; NVRTC is not called.\n");
  return 0;
}
