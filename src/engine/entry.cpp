#include "fibkit/engine/entry.hpp"

#include "fibkit/core/project/expr.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <set>

namespace fibkit::engine {

namespace {

// The part of every entry that does not depend on the solution (checked size arithmetic with
// the semantics of fibkit's expression language, CUDA error checks, tensor checks, the launch):
// src/engine/entry_prelude.inc, embedded in fibkit and copied into every entry.
constexpr std::string_view k_prelude_file = "src/engine/entry_prelude.inc";

std::string c_identifier(std::string_view name) {
  std::string out;
  for (const char c : name) {
    out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  }
  return out;
}

bool is_float_dtype(core::DType d) {
  return !core::dtype_is_integer(d);
}

// The C++ type of a scalar input in the exported signature: what TVM-FFI converts a Python
// int / float / bool to.
std::string scalar_cpp_type(core::DType d) {
  if (d == core::DType::boolean) {
    return "bool";
  }
  return is_float_dtype(d) ? "double" : "int64_t";
}

struct IntType {
  std::string cpp;
  std::string lo;
  std::string hi;
};

// How an integer parameter of `size` bytes is stored: the executor's store_integer().
IntType int_type(const cuda::ParamType& p) {
  const bool is_unsigned = p.base.find("unsigned") != std::string::npos;
  switch (p.size) {
  case 8:
    return is_unsigned ? IntType{"uint64_t", "0", "INT64_MAX"}
                       : IntType{"int64_t", "fk::kMin", "INT64_MAX"};
  case 4:
    return is_unsigned ? IntType{"uint32_t", "0", "INT64_C(4294967295)"}
                       : IntType{"int32_t", "INT64_C(-2147483648)", "INT64_C(2147483647)"};
  case 2:
    return {"int16_t", "INT64_C(-32768)", "INT64_C(65535)"};
  case 1:
    return {"int8_t", "INT64_C(-128)", "INT64_C(255)"};
  default:
    return {};
  }
}

std::string double_literal(double v) {
  return fmt::format("{:.17g}", v);
}

} // namespace

std::string cpp_string_literal(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\{:03o}", u);
    } else if (c == '?') {
      out += "\\?"; // no trigraphs
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string kernel_handles_block(const EntryInput& in, std::size_t unit) {
  std::string body;
  for (std::size_t k = 0; k < in.kernels.size(); ++k) {
    if (in.kernels[k].unit == unit) {
      body += fmt::format("extern \"C\" const void* fibkit_kernel_{}() {{\n  return "
                          "reinterpret_cast<const void*>(&{});\n}}\n",
                          k, in.kernels[k].expression);
    }
  }
  if (body.empty()) {
    return {};
  }
  return "\n#ifndef __CUDACC_RTC__\n"
         "// ---- appended by `fibkit pack` (source mode): the host handles of this file's "
         "kernels,\n// ---- called by fibkit_entry.cu. The code above is the project's file "
         "unchanged.\n" +
         body + "#endif\n";
}

std::string generate_entry(const EntryInput& in) {
  const core::SolutionConfig& s = *in.solution;
  const core::Definition& def = *in.definition;
  const bool cubin_mode = !in.cubins.empty();
  if (!core::is_valid_name(in.symbol)) {
    throw Error(fmt::format("{}: the entry point's symbol \"{}\" is not a C identifier", s.where,
                            in.symbol));
  }

  // Names of the arguments in the exported function.
  std::map<std::string, std::string> param_name; // definition name -> C++ name
  const auto add_param = [&](const core::TensorSpec& t, const char* prefix, std::size_t i) {
    param_name[t.name] = core::is_valid_name(t.name) ? fmt::format("{}_{}", prefix, t.name)
                                                     : fmt::format("{}_{}", prefix, i);
  };
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    add_param(def.inputs[i], "in", i);
  }
  for (std::size_t i = 0; i < def.outputs.size(); ++i) {
    add_param(def.outputs[i], "out", i);
  }
  const auto axis_var = [](const std::string& a) { return "ax_" + c_identifier(a); };

  // Where each var axis is read: the first tensor (inputs, then outputs) whose shape names it.
  struct Source {
    std::string tensor;
    std::size_t dim = 0;
  };
  std::map<std::string, Source> axis_source;
  const auto scan = [&](const std::vector<core::TensorSpec>& tensors) {
    for (const core::TensorSpec& t : tensors) {
      if (!t.shape) {
        continue;
      }
      for (std::size_t d = 0; d < t.shape->size(); ++d) {
        axis_source.emplace((*t.shape)[d], Source{t.name, d});
      }
    }
  };
  scan(def.inputs);
  scan(def.outputs);
  for (const core::Axis& a : def.axes) {
    if (!a.is_const && axis_source.count(a.name) == 0) {
      throw Error(fmt::format("{}: var axis \"{}\" of {} is in no tensor shape: a TVM-FFI entry "
                              "cannot learn its value",
                              s.where, a.name, def.name));
    }
  }

  std::string out;
  const auto line = [&](const std::string& text) { out += text + "\n"; };

  // ---- header -------------------------------------------------------------------------------
  line(fmt::format("// {}: the TVM-FFI host entry of solution \"{}\" ({}),", k_entry_file, s.name,
                   def.name));
  line(fmt::format("// generated by `fibkit pack` ({}) from the launch plan in {}. Do not edit:",
                   in.generator, s.where));
  line("// change the config and pack again.");
  line("//");
  line(fmt::format("// Exports `{}` (TVM_FFI_DLL_EXPORT_TYPED_FUNC), destination-passing style: "
                   "the inputs in",
                   in.symbol));
  line("// definition order (tensors as TensorView, scalars as int64_t / double / bool), then the");
  line("// outputs. It checks every tensor, reads the var axes from their shapes, evaluates the");
  line("// plan's sizes, owns the workspaces and launches the kernels in order on the TVM-FFI");
  line("// environment stream, as fibkit's executor does under NVRTC.");
  if (cubin_mode) {
    std::string arches;
    for (const EntryCubin& c : in.cubins) {
      if (arches.find(c.arch) == std::string::npos) {
        arches += (arches.empty() ? "" : ", ") + c.arch;
      }
    }
    line(fmt::format("// Cubin mode: the kernels are fibkit's NVRTC cubins for {}, loaded with "
                     "tvm-ffi's",
                     arches));
    line("// cubin launcher; the device's compute capability picks one. Compiled from:");
    for (const std::string& u : in.units) {
      line("//   " + u);
    }
  } else {
    line("// Source mode: the kernels are compiled from the solution's .cu files by the official");
    line("// builder; each of those ends with a block that returns its kernels' host handles.");
  }
  line("#include <cuda_runtime.h>");
  if (cubin_mode) {
    line("#include <tvm/ffi/extra/cuda/cubin_launcher.h>");
  }
  line("#include <tvm/ffi/container/tensor.h>");
  line("#include <tvm/ffi/error.h>");
  line("#include <tvm/ffi/extra/c_env_api.h>");
  line("#include <tvm/ffi/function.h>");
  line("");
  line("#include <cstdint>");
  line("#include <limits>");
  line("#include <mutex>");
  line("#include <vector>");
  line("");
  line(fmt::format("#define FIBKIT_ENTRY_SOLUTION {}",
                   cpp_string_literal(fmt::format("solution \"{}\"", s.name))));
  line("namespace {");
  line(fmt::format("constexpr int kNumWorkspaces = {};", s.workspaces.size()));
  line(fmt::format("constexpr int kNumLaunches = {};", s.launches.size()));
  line("}  // namespace");
  out += "\n";
  out += core::embedded_file(k_prelude_file);
  line("");

  // ---- kernels -------------------------------------------------------------------------------
  if (!cubin_mode) {
    line("// The kernels' host handles, defined at the end of the .cu file that defines each.");
    for (std::size_t k = 0; k < in.kernels.size(); ++k) {
      line(fmt::format("extern \"C\" const void* fibkit_kernel_{}();  // {}: {}", k,
                       in.units[in.kernels[k].unit], in.kernels[k].expression));
    }
  } else {
    for (std::size_t c = 0; c < in.cubins.size(); ++c) {
      const EntryCubin& cubin = in.cubins[c];
      line(fmt::format("// {} for {} ({} bytes)", in.units[cubin.unit], cubin.arch,
                       cubin.image.size()));
      line(fmt::format("alignas(64) const unsigned char kCubin{}[] = {{", c));
      std::string row;
      for (std::size_t i = 0; i < cubin.image.size(); ++i) {
        row +=
            fmt::format("{},", static_cast<unsigned>(static_cast<unsigned char>(cubin.image[i])));
        if (row.size() > 96) {
          line(row);
          row.clear();
        }
      }
      if (!row.empty()) {
        line(row);
      }
      line("};");
      line(fmt::format("TVM_FFI_EMBED_CUBIN_FROM_BYTES(fibkit_cubin_{}, "
                       "reinterpret_cast<const char*>(kCubin{}));",
                       c, c));
    }
    line("");
    line("namespace {");
    line("// The handle of kernel `k` in the cubin for compute capability `cc` (loaded on first "
         "use).");
    line("const void* kernel_handle(int k, int cc) {");
    line("  switch (k) {");
    for (std::size_t k = 0; k < in.kernels.size(); ++k) {
      line(fmt::format("  case {}:  // {}", k, in.kernels[k].expression));
      for (std::size_t c = 0; c < in.cubins.size(); ++c) {
        const EntryCubin& cubin = in.cubins[c];
        if (cubin.unit != in.kernels[k].unit) {
          continue;
        }
        // sm_XYa runs on compute capability X.Y only; sm_XY on X.Y and later X.* parts.
        const std::string digits =
            cubin.arch.substr(3, cubin.arch.find_first_not_of("0123456789", 3) - 3);
        const int number = std::stoi(digits);
        const bool specific = cubin.arch.back() == 'a' || cubin.arch.back() == 'f';
        const std::string condition =
            specific ? fmt::format("cc == {}", number)
                     : fmt::format("cc / 10 == {} && cc >= {}", number / 10, number);
        line(fmt::format("    if ({}) {{", condition));
        line(fmt::format("      static tvm::ffi::CubinKernel kernel = "
                         "TVM_FFI_EMBED_CUBIN_GET_KERNEL(fibkit_cubin_{}, {});",
                         c, cpp_string_literal(in.kernels[k].lowered)));
        line("      return reinterpret_cast<const void*>(kernel.GetHandle());");
        line("    }");
      }
      line("    break;");
    }
    line("  }");
    std::string arches;
    for (const EntryCubin& c : in.cubins) {
      if (arches.find(c.arch) == std::string::npos) {
        arches += (arches.empty() ? "" : ", ") + c.arch;
      }
    }
    line(fmt::format("  TVM_FFI_THROW(RuntimeError) << FIBKIT_ENTRY_SOLUTION << \": no embedded "
                     "cubin for this device (compute capability \" << cc / 10 << \".\" << cc % 10 "
                     "<< \"); it has {}: pack again with that arch in [build] arch\";",
                     arches));
    line("  return nullptr;");
    line("}");
    line("}  // namespace");
  }
  line("");

  // ---- the exported function ---------------------------------------------------------------
  std::string params;
  for (const core::TensorSpec& t : def.inputs) {
    params += (params.empty() ? "" : ", ") +
              (t.is_scalar() ? scalar_cpp_type(t.dtype) : std::string("tvm::ffi::TensorView")) +
              " " + param_name[t.name];
  }
  for (const core::TensorSpec& t : def.outputs) {
    if (t.is_scalar()) {
      throw Error(fmt::format("{}: output \"{}\" of {} is a scalar: a destination-passing entry "
                              "needs tensors",
                              s.where, t.name, def.name));
    }
    params +=
        (params.empty() ? "" : ", ") + std::string("tvm::ffi::TensorView ") + param_name[t.name];
  }
  line("namespace fibkit_entry {");
  line(fmt::format("void {}({}) {{", in.symbol, params));

  // Tensor checks: device, dtype, rank, contiguity; then the var axes; then every dimension.
  const core::TensorSpec* first_tensor = nullptr;
  for (const auto* list : {&def.inputs, &def.outputs}) {
    for (const core::TensorSpec& t : *list) {
      if (!t.is_scalar() && first_tensor == nullptr) {
        first_tensor = &t;
      }
    }
  }
  if (first_tensor == nullptr) {
    throw Error(fmt::format("{}: {} has no tensor: nothing to launch on", s.where, def.name));
  }
  line(fmt::format("  const int device = {}.device().device_id;", param_name[first_tensor->name]));
  const auto check_all = [&](const std::vector<core::TensorSpec>& tensors, const char* role) {
    for (const core::TensorSpec& t : tensors) {
      if (t.is_scalar()) {
        continue;
      }
      const auto [code, bits] = core::dlpack_type(t.dtype);
      line(fmt::format("  check_tensor({}, \"{}\", {}, \"{}\", {}, {}, {}, device);",
                       param_name[t.name], role, cpp_string_literal(t.name),
                       core::dtype_name(t.dtype), code, bits, t.shape->size()));
    }
  };
  check_all(def.inputs, "input");
  check_all(def.outputs, "output");
  for (const core::Axis& a : def.axes) {
    if (a.is_const) {
      line(fmt::format("  constexpr int64_t {} = INT64_C({});", axis_var(a.name), a.value));
    } else {
      const Source& src = axis_source[a.name];
      line(fmt::format("  const int64_t {} = {}.size({});", axis_var(a.name),
                       param_name[src.tensor], src.dim));
    }
  }
  const auto check_dims = [&](const std::vector<core::TensorSpec>& tensors, const char* role) {
    for (const core::TensorSpec& t : tensors) {
      if (t.is_scalar()) {
        continue;
      }
      for (std::size_t d = 0; d < t.shape->size(); ++d) {
        const std::string& axis = (*t.shape)[d];
        if (def.find_axis(axis) == nullptr) {
          throw Error(fmt::format("{}: {} \"{}\" of {} names an unknown axis \"{}\"", s.where, role,
                                  t.name, def.name, axis));
        }
        line(fmt::format("  check_dim({}, \"{}\", {}, {}, {}, {});", param_name[t.name], role,
                         cpp_string_literal(t.name), d, cpp_string_literal(axis), axis_var(axis)));
      }
    }
  };
  check_dims(def.inputs, "input");
  check_dims(def.outputs, "output");
  line("");
  line("  std::lock_guard<std::mutex> lock(g_mutex);");
  line("  DeviceGuard guard(device);");
  line("  DeviceState& st = device_state(device);");
  line("  const int64_t num_sms = st.num_sms;");
  line("  (void)num_sms;");
  line("  cudaStream_t stream = static_cast<cudaStream_t>(TVMFFIEnvGetStream(kDLCUDA, device));");

  // Names an expression may use: the axes and num_sms.
  const auto name_cpp = [&](const std::string& n) -> std::string {
    if (n == "num_sms") {
      return "num_sms";
    }
    if (def.find_axis(n) != nullptr) {
      return axis_var(n);
    }
    throw Error(fmt::format("{}: expression name \"{}\" is neither an axis of {} nor num_sms",
                            s.where, n, def.name));
  };
  const auto size_expr = [&](const core::Expr& e, const std::string& where) {
    return fmt::format("size_of({}, {}, [&] {{ return {}; }})", cpp_string_literal(where),
                       cpp_string_literal(e.text()), e.to_cpp(name_cpp));
  };
  const auto bounded_expr = [&](const core::Expr& e, const std::string& where,
                                const std::string& hi) {
    return fmt::format("bounded({}, {}, [&] {{ return {}; }}, {})", cpp_string_literal(where),
                       cpp_string_literal(e.text()), e.to_cpp(name_cpp), hi);
  };

  // Workspaces: sized for this workload, zeroed before every call when declared so.
  for (std::size_t w = 0; w < s.workspaces.size(); ++w) {
    const core::WorkspaceConfig& ws = s.workspaces[w];
    line(fmt::format("  // workspace \"{}\" ({}, {})", ws.name, core::dtype_name(ws.dtype),
                     ws.init == core::WorkspaceConfig::Init::zero ? "zeroed before every call"
                                                                  : "uninitialised"));
    std::string bytes = fmt::format("INT64_C({})", core::dtype_size(ws.dtype));
    for (std::size_t d = 0; d < ws.shape.size(); ++d) {
      line(fmt::format(
          "  const int64_t ws{}_dim{} = {};", w, d,
          bounded_expr(ws.shape[d],
                       fmt::format("{}: workspace \"{}\" shape[{}]", ws.where, ws.name, d),
                       "INT64_MAX")));
      bytes = fmt::format("fk::mul({}, ws{}_dim{})", bytes, w, d);
    }
    line(fmt::format("  const int64_t ws{}_bytes = size_of({}, \"size in bytes\", [&] {{ return "
                     "{}; }});",
                     w, cpp_string_literal(fmt::format("{}: workspace \"{}\"", ws.where, ws.name)),
                     bytes));
    line(fmt::format("  void* const ws{} = workspace(st, {}, ws{}_bytes, {});", w, w, w,
                     cpp_string_literal(ws.name)));
    if (ws.init == core::WorkspaceConfig::Init::zero) {
      line(fmt::format("  if (ws{0}_bytes > 0) cuda_check(cudaMemsetAsync(ws{0}, 0, "
                       "static_cast<size_t>(ws{0}_bytes), stream), \"cudaMemsetAsync\");",
                       w));
    }
  }

  // Launches, in order.
  for (std::size_t li = 0; li < s.launches.size(); ++li) {
    const core::LaunchConfig& l = s.launches[li];
    const EntryKernel& kernel = in.kernels[in.launch_kernel[li]];
    const std::string where = fmt::format("{}: launch {} ({})", l.where, li, l.kernel);
    line("");
    line(fmt::format("  {}{{  // launch {}: {} ({})",
                     l.when ? fmt::format("if ({} != 0) ", size_expr(*l.when, where + " when"))
                            : std::string(),
                     li, l.kernel, l.where));
    // One dim3 of the plan, a dimension per line; missing dimensions are 1.
    const auto dims = [&](const char* name, const std::vector<core::Expr>& exprs,
                          std::array<const char*, 3> limits) {
      if (exprs.empty()) {
        line(fmt::format("    const dim3 {}(0, 0, 0);  // none", name));
        return;
      }
      line(fmt::format("    const dim3 {}(", name));
      for (std::size_t i = 0; i < 3; ++i) {
        const std::string value =
            i < exprs.size()
                ? fmt::format("static_cast<unsigned>({})",
                              bounded_expr(exprs[i], fmt::format("{}: {}[{}]", l.where, name, i),
                                           limits[i]))
                : std::string("1u");
        line(fmt::format("        {}{}", value, i < 2 ? "," : ");"));
      }
    };
    dims("grid", l.grid, {"INT64_C(2147483647)", "65535", "65535"});
    dims("block", l.block, {"1024", "1024", "64"});
    dims("cluster", l.cluster, {"16", "16", "16"});
    line(fmt::format(
        "    const int64_t smem = {};",
        bounded_expr(l.shared_memory, fmt::format("{}: shared_memory", l.where), "INT64_MAX")));
    line("    if (grid.x != 0 && grid.y != 0 && grid.z != 0) {  // else nothing to do");
    if (kernel.params.size() != l.args.size()) {
      throw Error(fmt::format("{}: the kernel takes {} parameters, the launch passes {}", where,
                              kernel.params.size(), l.args.size()));
    }
    std::string arg_list;
    for (std::size_t i = 0; i < l.args.size(); ++i) {
      const core::LaunchArg& a = l.args[i];
      const cuda::ParamType& p = kernel.params[i];
      const std::string var = fmt::format("a{}", i);
      const std::string arg_where =
          cpp_string_literal(fmt::format("{} argument {} \"{}\"", where, i, a.text));
      const bool float_param = p.base == "float" || p.base == "double";
      const std::string float_type = p.base == "double" ? "double" : "float";
      const auto integer = [&](const std::string& value) {
        const IntType t = int_type(p);
        if (t.cpp.empty()) {
          throw Error(fmt::format("{}: argument {} \"{}\": parameter type {} ({} bytes) cannot "
                                  "take an integer",
                                  where, i, a.text, p.text, p.size));
        }
        line(fmt::format("      {} {} = narrow<{}>({}, {}, {}, {}, {});", t.cpp, var, t.cpp,
                         arg_where, value, t.lo, t.hi, cpp_string_literal(p.text)));
      };
      switch (a.kind) {
      case core::LaunchArg::Kind::integer:
        integer(size_expr(*a.integer, fmt::format("{} argument {}", where, i)));
        break;
      case core::LaunchArg::Kind::floating:
        line(fmt::format("      {} {} = static_cast<{}>({});", float_type, var, float_type,
                         double_literal(a.floating)));
        break;
      case core::LaunchArg::Kind::name: {
        const core::TensorSpec* input = def.find_input(a.name);
        const core::TensorSpec* output = def.find_output(a.name);
        const auto ws = std::find_if(s.workspaces.begin(), s.workspaces.end(),
                                     [&](const auto& w) { return w.name == a.name; });
        if (input != nullptr && input->is_scalar()) {
          const std::string& value = param_name[a.name];
          if (float_param) {
            line(fmt::format("      {} {} = static_cast<{}>({});", float_type, var, float_type,
                             value));
          } else if (is_float_dtype(input->dtype)) {
            throw Error(fmt::format("{}: argument {} \"{}\": the float scalar cannot be passed "
                                    "as {}",
                                    where, i, a.text, p.text));
          } else {
            integer(input->dtype == core::DType::boolean ? "(" + value + " ? 1 : 0)" : value);
          }
        } else if (input != nullptr || output != nullptr) {
          line(fmt::format("      void* {} = data_of({});", var, param_name[a.name]));
        } else if (ws != s.workspaces.end()) {
          line(fmt::format("      void* {} = ws{};", var, ws - s.workspaces.begin()));
        } else {
          integer(name_cpp(a.name));
        }
        break;
      }
      }
      arg_list += (arg_list.empty() ? "&" : ", &") + var;
    }
    line(fmt::format("      void* args[] = {{{}}};", arg_list.empty() ? "nullptr" : arg_list));
    const std::string handle =
        cubin_mode ? fmt::format("kernel_handle({}, st.compute_capability)", in.launch_kernel[li])
                   : fmt::format("fibkit_kernel_{}()", in.launch_kernel[li]);
    line(fmt::format("      launch(st, {}, {}, grid, block, smem, cluster, {}, stream, args, {});",
                     li, handle, l.cooperative ? "true" : "false", cpp_string_literal(where)));
    line("    }");
    line("  }");
  }
  line("}");
  line("}  // namespace fibkit_entry");
  line("");
  line(fmt::format("TVM_FFI_DLL_EXPORT_TYPED_FUNC({}, fibkit_entry::{});", in.symbol, in.symbol));
  return out;
}

} // namespace fibkit::engine
