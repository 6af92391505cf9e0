// The launch-plan executor: runs a built solution's launches in order on one stream, with the
// sizes of one workload. Grid, block, shared memory, cluster dims and workspace shapes are the
// config's expressions evaluated over the workload's axes, the definition's const axes and the
// device facts (num_sms); every argument is packed by the kernel's real parameter type.
#pragma once

#include "fibkit/core/project/config.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/workload.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/engine/build.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fibkit::engine {

/// The values of one call: a device pointer per tensor input and output (0 for an absent
/// optional input), and the value of each scalar input.
struct CallArgs {
  std::vector<CUdeviceptr> inputs;        ///< in definition order (ignored for scalars)
  std::vector<core::ScalarValue> scalars; ///< in definition order (used for scalars only)
  std::vector<CUdeviceptr> outputs;       ///< in definition order
};

/// The contest-method timing of a Runnable that times itself (its code runs in another process,
/// whose launches this process's CUPTI cannot see).
struct OwnTiming {
  std::vector<double> samples_ms; ///< per measured call
  std::vector<std::string> kernels;
  std::string timer;    ///< "cupti" or "cuda-events"
  std::string fallback; ///< why CUDA events
};

/// A solution (or reference) that runs on a device: prepared for one workload's sizes, then
/// called with the tensors of one call on a stream. PlanExecutor (fibkit's NVRTC launch plan)
/// and TvmFfiFunction (an official solution's shared library, tvm_ffi.hpp) are the two kinds.
class Runnable {
public:
  virtual ~Runnable() = default;
  /// Evaluates what depends on the workload's var axes (sizes, workspaces).
  virtual void prepare(const std::map<std::string, std::int64_t>& var_axes) = 0;
  /// Enqueues one call on `stream`.
  virtual void run(const CallArgs& args, CUstream stream) const = 0;
  /// One contest-mode trial (1 + 5 + `warmup` calls, then `iterations` timed calls, each after
  /// an L2 flush) timed by the Runnable itself, after the work queued on `stream` (the inputs)
  /// has finished; nullopt when the caller's GpuTimer times it.
  virtual std::optional<OwnTiming> time_itself(const CallArgs& /*args*/, CUstream /*stream*/,
                                               int /*warmup*/, int /*iterations*/,
                                               bool /*use_cupti*/) const {
    return std::nullopt;
  }
};

class PlanExecutor : public Runnable {
public:
  /// Loads the build's cubins into the current context. The objects must outlive the executor.
  PlanExecutor(const core::SolutionConfig& solution, const core::Definition& definition,
               const SolutionBuild& build, const cuda::Context& context);
  ~PlanExecutor() override;
  PlanExecutor(const PlanExecutor&) = delete;
  PlanExecutor& operator=(const PlanExecutor&) = delete;

  /// Evaluates every size for a workload with these var-axis values and allocates the
  /// workspaces. Throws fibkit::Error naming the config line for a bad size (negative, over the
  /// CUDA limits, an axis value that does not fit the kernel's parameter type).
  void prepare(const std::map<std::string, std::int64_t>& var_axes) override;

  /// Enqueues the plan once on `stream`: zero-initialised workspaces are cleared, then the
  /// launches run in order. Launches whose grid has a zero dimension are skipped.
  void run(const CallArgs& args, CUstream stream) const override;

  /// The axis values in force (const and var) and num_sms, as expressions see them.
  const core::Env& env() const { return m_env; }

private:
  const core::SolutionConfig& m_solution;
  const core::Definition& m_definition;
  const SolutionBuild& m_build;
  const cuda::Context& m_context;
  std::vector<std::unique_ptr<cuda::Module>> m_modules;
  std::vector<CUfunction> m_functions;       ///< per launch
  std::vector<const KernelBuild*> m_kernels; ///< per launch
  core::Env m_env;
  std::vector<cuda::LaunchDims> m_dims; ///< per launch, after prepare()
  std::vector<cuda::DeviceBuffer> m_workspaces;
};

} // namespace fibkit::engine
