#include "fibkit/core/project/launch_sizes.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>

namespace fibkit::core {

std::int64_t largest_part_sms(const std::string& arch) {
  // The compute capability digits of "sm_90a" / "sm_100f" / "sm_80".
  std::string digits;
  for (std::size_t i = arch.rfind("sm_", 0) == 0 ? 3 : 0; i < arch.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(arch[i]))) {
      digits += arch[i];
    } else {
      break;
    }
  }
  struct Part {
    const char* cc;
    std::int64_t sms;
  };
  // The largest part of each architecture: H100 SXM / H200 (132), B200 (148), B300 (148),
  // A100 (108), A40 / RTX 3090 Ti (84), L40 (142), RTX PRO 6000 Blackwell (188), TITAN RTX (72).
  static constexpr std::array<Part, 8> k_parts{{{"90", 132},
                                                {"100", 148},
                                                {"103", 148},
                                                {"80", 108},
                                                {"86", 84},
                                                {"89", 142},
                                                {"120", 188},
                                                {"75", 72}}};
  for (const Part& p : k_parts) {
    if (digits == p.cc) {
      return p.sms;
    }
  }
  return 132;
}

LaunchLimits launch_limits(const std::string& arch, std::int64_t num_sms) {
  LaunchLimits limits;
  limits.arch = arch;
  limits.num_sms = num_sms > 0 ? num_sms : largest_part_sms(arch);
  return limits;
}

namespace {

std::string axes_of(const Workload& w) {
  std::string out;
  for (const auto& [name, value] : w.axes) {
    out += fmt::format("{}{}={}", out.empty() ? "" : " ", name, value);
  }
  return out;
}

} // namespace

void check_launch_sizes(const SolutionConfig& s, const Definition& def,
                        const std::vector<Trace>& workloads, const LaunchLimits& limits) {
  for (std::size_t wi = 0; wi < workloads.size(); ++wi) {
    const Workload& w = workloads[wi].workload;
    const std::string which = fmt::format("workload {} (uuid {}, {}{}num_sms={})", wi, w.uuid,
                                          axes_of(w), w.axes.empty() ? "" : " ", limits.num_sms);
    Env env;
    for (const Axis& a : def.axes) {
      if (a.is_const) {
        env.set(a.name, a.value);
      } else if (const std::int64_t* v = w.find_axis(a.name)) {
        env.set(a.name, *v);
      }
    }
    env.set("num_sms", limits.num_sms);
    const auto eval = [&](const Expr& e) {
      try {
        return e.eval(env);
      } catch (const ExprError& err) {
        throw Error(fmt::format("{} for {} of {}", err.what(), which, def.name));
      }
    };
    // "<config.toml:12: solution.launch[0].grid[1]>: "<text>" = <value> for <workload>: <rule>"
    const auto fail = [&](const Expr& e, std::int64_t value, const std::string& rule) {
      throw Error(fmt::format("{}: \"{}\" = {} for {} of {}: {}",
                              e.context().empty() ? s.where : e.context(), e.text(), value, which,
                              def.name, rule));
    };
    for (const WorkspaceConfig& ws : s.workspaces) {
      for (const Expr& e : ws.shape) {
        if (const std::int64_t v = eval(e); v < 0) {
          fail(e, v, fmt::format("workspace \"{}\" needs dimensions >= 0", ws.name));
        }
      }
    }
    for (std::size_t li = 0; li < s.launches.size(); ++li) {
      const LaunchConfig& l = s.launches[li];
      if (l.when && eval(*l.when) == 0) {
        continue; // not launched for this workload: its sizes need not be valid
      }
      static constexpr std::array<std::int64_t, 3> k_grid{2147483647, 65535, 65535};
      static constexpr std::array<std::int64_t, 3> k_block{1024, 1024, 64};
      static constexpr std::array<char, 3> k_xyz{'x', 'y', 'z'};
      for (std::size_t i = 0; i < l.grid.size(); ++i) {
        const std::int64_t v = eval(l.grid[i]);
        if (v < 1 || v > k_grid[i]) {
          fail(l.grid[i], v,
               fmt::format("grid {} must be in [1, {}] (a launch with an empty or oversized grid "
                           "cannot run)",
                           k_xyz[i], k_grid[i]));
        }
      }
      std::int64_t threads = 1;
      for (std::size_t i = 0; i < l.block.size(); ++i) {
        const std::int64_t v = eval(l.block[i]);
        if (v < 1 || v > k_block[i]) {
          fail(l.block[i], v, fmt::format("block {} must be in [1, {}]", k_xyz[i], k_block[i]));
        }
        threads *= v;
      }
      if (threads > 1024) {
        fail(l.block.back(), threads,
             fmt::format("a block of {} threads exceeds the 1024 threads every CUDA device allows",
                         threads));
      }
      const std::int64_t kernel_max =
          li < limits.kernel_max_threads.size() ? limits.kernel_max_threads[li] : 0;
      if (kernel_max > 0 && threads > kernel_max) {
        fail(l.block.back(), threads,
             fmt::format("a block of {} threads exceeds the {} that kernel \"{}\" can run with on "
                         "{} (its registers per thread limit it)",
                         threads, kernel_max, l.kernel, limits.arch));
      }
      for (std::size_t i = 0; i < l.cluster.size(); ++i) {
        if (const std::int64_t v = eval(l.cluster[i]); v < 1 || v > 16) {
          fail(l.cluster[i], v, fmt::format("cluster {} must be in [1, 16]", k_xyz[i]));
        }
      }
      const std::int64_t smem = eval(l.shared_memory);
      if (smem < 0) {
        fail(l.shared_memory, smem, "shared memory must be >= 0 bytes");
      }
      const std::int64_t static_smem =
          li < limits.kernel_static_smem.size() ? limits.kernel_static_smem[li] : 0;
      if (limits.max_shared_memory > 0 && smem + static_smem > limits.max_shared_memory) {
        fail(l.shared_memory, smem,
             fmt::format("{} bytes of shared memory ({} dynamic + {} static) exceed the {} a "
                         "block may use on {}",
                         smem + static_smem, smem, static_smem, limits.max_shared_memory,
                         limits.arch));
      }
      for (const LaunchArg& a : l.args) {
        if (a.kind == LaunchArg::Kind::integer) {
          (void)eval(*a.integer);
        }
      }
    }
  }
}

} // namespace fibkit::core
