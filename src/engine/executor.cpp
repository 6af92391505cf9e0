#include "fibkit/engine/executor.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace fibkit::engine {

namespace {

// One argument's bytes, as the kernel parameter expects them.
struct ArgSlot {
  alignas(8) unsigned char bytes[16] = {};
};

template <typename T> void store(ArgSlot& slot, T value) {
  static_assert(sizeof(T) <= sizeof(slot.bytes));
  std::memcpy(slot.bytes, &value, sizeof(T));
}

bool is_float_type(const std::string& base) {
  return base == "float" || base == "double";
}

// Stores an integer into an integer parameter, refusing values that do not fit.
void store_integer(ArgSlot& slot, const cuda::ParamType& p, std::int64_t v,
                   const std::string& what) {
  const auto fits = [&](std::int64_t lo, std::int64_t hi) { return v >= lo && v <= hi; };
  bool ok = true;
  if (p.size == 8) {
    ok = !(p.base.find("unsigned") != std::string::npos && v < 0);
    store(slot, v);
  } else if (p.size == 4) {
    if (p.base.find("unsigned") != std::string::npos) {
      ok = fits(0, std::numeric_limits<std::uint32_t>::max());
      store(slot, static_cast<std::uint32_t>(v));
    } else {
      ok = fits(std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::max());
      store(slot, static_cast<std::int32_t>(v));
    }
  } else if (p.size == 2) {
    ok = fits(std::numeric_limits<std::int16_t>::min(), std::numeric_limits<std::uint16_t>::max());
    store(slot, static_cast<std::int16_t>(v));
  } else if (p.size == 1) {
    ok = fits(std::numeric_limits<std::int8_t>::min(), std::numeric_limits<std::uint8_t>::max());
    store(slot, static_cast<std::int8_t>(v));
  } else {
    ok = false;
  }
  if (!ok) {
    throw Error(fmt::format("{} = {} does not fit parameter type {}", what, v, p.text));
  }
}

void store_number(ArgSlot& slot, const cuda::ParamType& p, double v) {
  if (p.base == "double") {
    store(slot, v);
  } else {
    store(slot, static_cast<float>(v));
  }
}

} // namespace

PlanExecutor::PlanExecutor(const core::SolutionConfig& solution, const core::Definition& definition,
                           const SolutionBuild& build, const cuda::Context& context)
    : m_solution(solution), m_definition(definition), m_build(build), m_context(context) {
  for (const ProgramBuild& p : build.programs) {
    m_modules.push_back(std::make_unique<cuda::Module>(p.cubin));
  }
  for (const core::LaunchConfig& l : solution.launches) {
    const auto k = std::find_if(build.kernels.begin(), build.kernels.end(),
                                [&](const KernelBuild& kb) { return kb.expression == l.kernel; });
    if (k == build.kernels.end()) {
      throw Error(fmt::format("{}: kernel \"{}\" was not built", l.where, l.kernel));
    }
    m_kernels.push_back(&*k);
    m_functions.push_back(m_modules[k->program]->function(k->lowered));
  }
}

PlanExecutor::~PlanExecutor() = default;

void PlanExecutor::prepare(const std::map<std::string, std::int64_t>& var_axes) {
  m_env = core::Env();
  for (const core::Axis& a : m_definition.axes) {
    if (a.is_const) {
      m_env.set(a.name, a.value);
    } else if (auto it = var_axes.find(a.name); it != var_axes.end()) {
      m_env.set(a.name, it->second);
    }
  }
  m_env.set("num_sms", m_context.info().num_sms);

  m_workspaces.clear();
  for (const core::WorkspaceConfig& w : m_solution.workspaces) {
    std::uint64_t bytes = core::dtype_size(w.dtype);
    for (const core::Expr& e : w.shape) {
      const std::int64_t n = e.eval(m_env);
      if (n < 0) {
        throw Error(fmt::format("{}: workspace \"{}\" has a negative dimension ({} = {})", w.where,
                                w.name, e.text(), n));
      }
      if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(n), &bytes)) {
        throw Error(fmt::format("{}: workspace \"{}\" size overflows", w.where, w.name));
      }
    }
    m_workspaces.emplace_back(static_cast<std::size_t>(bytes));
  }

  m_dims.clear();
  for (const core::LaunchConfig& l : m_solution.launches) {
    cuda::LaunchDims d;
    if (l.when && l.when->eval(m_env) == 0) {
      d.grid = {0, 0, 0}; // not launched for this workload (run() skips empty grids)
      m_dims.push_back(d);
      continue;
    }
    const auto eval_dims = [&](const std::vector<core::Expr>& exprs, std::array<unsigned, 3>& out,
                               std::array<std::int64_t, 3> limits, const char* what) {
      for (std::size_t i = 0; i < exprs.size(); ++i) {
        const std::int64_t v = exprs[i].eval(m_env);
        if (v < 0 || v > limits[i]) {
          throw Error(fmt::format("{}: {}[{}] = {} ({}) is outside [0, {}]", l.where, what, i, v,
                                  exprs[i].text(), limits[i]));
        }
        out[i] = static_cast<unsigned>(v);
      }
    };
    eval_dims(l.grid, d.grid, {2147483647, 65535, 65535}, "grid");
    eval_dims(l.block, d.block, {1024, 1024, 64}, "block");
    if (!l.cluster.empty()) {
      d.cluster = {1, 1, 1};
      eval_dims(l.cluster, d.cluster, {16, 16, 16}, "cluster");
    }
    const std::int64_t smem = l.shared_memory.eval(m_env);
    if (smem < 0 || smem > m_context.info().max_smem_optin) {
      throw Error(fmt::format("{}: shared_memory = {} bytes is outside [0, {}] on {}", l.where,
                              smem, m_context.info().max_smem_optin, m_context.info().name));
    }
    d.shared_memory = static_cast<unsigned>(smem);
    d.cooperative = l.cooperative;
    m_dims.push_back(d);
  }
}

void PlanExecutor::run(const CallArgs& args, CUstream stream) const {
  if (m_dims.size() != m_solution.launches.size()) {
    throw Error("internal: PlanExecutor::run before prepare");
  }
  for (std::size_t w = 0; w < m_workspaces.size(); ++w) {
    if (m_solution.workspaces[w].init == core::WorkspaceConfig::Init::zero) {
      m_workspaces[w].fill(0, stream);
    }
  }
  for (std::size_t li = 0; li < m_solution.launches.size(); ++li) {
    const core::LaunchConfig& l = m_solution.launches[li];
    const cuda::LaunchDims& d = m_dims[li];
    if (d.grid[0] == 0 || d.grid[1] == 0 || d.grid[2] == 0) {
      continue; // nothing to do for this workload (e.g. an empty batch)
    }
    const std::vector<cuda::ParamType>& params = m_kernels[li]->params;
    std::vector<ArgSlot> slots(l.args.size());
    std::vector<void*> pointers(l.args.size());
    for (std::size_t i = 0; i < l.args.size(); ++i) {
      const core::LaunchArg& a = l.args[i];
      const cuda::ParamType& p = params[i];
      const std::string what =
          fmt::format("{}: launch {} ({}) argument {} \"{}\"", l.where, li, l.kernel, i, a.text);
      switch (a.kind) {
      case core::LaunchArg::Kind::integer:
        store_integer(slots[i], p, a.integer->eval(m_env), what);
        break;
      case core::LaunchArg::Kind::floating:
        store_number(slots[i], p, a.floating);
        break;
      case core::LaunchArg::Kind::name: {
        std::size_t index = 0;
        bool done = false;
        for (const core::TensorSpec& t : m_definition.inputs) {
          if (t.name == a.name) {
            if (t.is_scalar()) {
              const core::ScalarValue& v = args.scalars.at(index);
              if (is_float_type(p.base)) {
                store_number(slots[i], p, v.as_double());
              } else if (v.kind == core::ScalarValue::Kind::floating) {
                throw Error(fmt::format("{}: the float {} cannot be passed as {}", what, v.floating,
                                        p.text));
              } else {
                store_integer(slots[i], p, static_cast<std::int64_t>(v.as_double()), what);
              }
            } else {
              store(slots[i], args.inputs.at(index));
            }
            done = true;
            break;
          }
          ++index;
        }
        index = 0;
        for (const core::TensorSpec& t : m_definition.outputs) {
          if (!done && t.name == a.name) {
            store(slots[i], args.outputs.at(index));
            done = true;
          }
          ++index;
        }
        for (std::size_t w = 0; !done && w < m_solution.workspaces.size(); ++w) {
          if (m_solution.workspaces[w].name == a.name) {
            store(slots[i], m_workspaces[w].ptr());
            done = true;
          }
        }
        if (!done) {
          if (const std::optional<std::int64_t> v = m_env.find(a.name)) {
            store_integer(slots[i], p, *v, what);
            done = true;
          }
        }
        if (!done) {
          throw Error(fmt::format("{}: no value for \"{}\"", what, a.name));
        }
        break;
      }
      }
      pointers[i] = slots[i].bytes;
    }
    cuda::launch(m_functions[li], d, stream, pointers.data());
  }
}

} // namespace fibkit::engine
