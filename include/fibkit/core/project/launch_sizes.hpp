// Launch sizes checked before any GPU work: every expression of a launch plan (grid, block,
// shared memory, cluster, workspace shapes, integer literal arguments) evaluated for every
// workload of the dataset, against the limits every CUDA device has. `build` runs it after
// compiling (it then knows each kernel's register-limited block size and static shared memory).
#pragma once

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/trace.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace fibkit::core {

/// What the launches are checked against.
struct LaunchLimits {
  std::string arch;         ///< for messages, e.g. "sm_90a"
  std::int64_t num_sms = 0; ///< the value of `num_sms` in expressions
  /// The most shared memory (dynamic + static) a block may use; 0 = not checked.
  std::int64_t max_shared_memory = 0;
  /// Per launch (same index as SolutionConfig::launches): the largest block the kernel can run
  /// with (its registers limit it) and its static shared memory; empty or 0 = unknown.
  std::vector<std::int64_t> kernel_max_threads;
  std::vector<std::int64_t> kernel_static_smem;
};

/// The number of SMs of the largest part of `arch` ("sm_90a" -> 132, H100 SXM / H200;
/// "sm_100a" -> 148, B200; sm_80 -> 108; sm_86 -> 84; sm_89 -> 142; sm_120 -> 188); 132 for an
/// architecture not listed.
std::int64_t largest_part_sms(const std::string& arch);

/// Limits for `arch` with num_sms from largest_part_sms() unless `num_sms` > 0.
LaunchLimits launch_limits(const std::string& arch, std::int64_t num_sms = 0);

/// Evaluates every launch-plan expression of `solution` for each workload (axes: the
/// definition's const axes and the workload's var axes; num_sms from `limits`) and throws
/// fibkit::Error at the first that cannot run, naming the expression's config line, the
/// workload (index, uuid, axes) and the rule:
///  - a missing var axis, a division by zero, an overflow (the expression errors);
///  - grid x in [1, 2^31-1], y and z in [1, 65535];
///  - block x and y in [1, 1024], z in [1, 64], x*y*z <= 1024 and <= the kernel's limit;
///  - cluster dimensions in [1, 16];
///  - shared memory >= 0 and, with static shared memory, <= max_shared_memory;
///  - workspace dimensions >= 0; integer literal arguments evaluate.
void check_launch_sizes(const SolutionConfig& solution, const Definition& definition,
                        const std::vector<Trace>& workloads, const LaunchLimits& limits);

} // namespace fibkit::core
