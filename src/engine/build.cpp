#include "fibkit/engine/build.hpp"

#include "fibkit/core/project/launch_sizes.hpp"
#include "fibkit/core/project/templates.hpp"
#include "fibkit/cuda/nvrtc.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace fibkit::engine {

namespace {

bool is_header_like(const fs::path& p) {
  static const std::set<std::string> exts{".cu", ".cuh", ".h", ".hpp", ".hh", ".inl", ".inc"};
  return exts.count(p.extension().string()) > 0;
}

// Every header-like file under `dir`, sorted: a change in any of them invalidates the cache.
// (NVRTC reports no dependency list; hashing the folders that -I points at is conservative.)
std::vector<fs::path> dependency_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && is_header_like(it->path())) {
      files.push_back(it->path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The identifier of a kernel expression: "ns::gemm<128, T>" -> "gemm".
std::string kernel_identifier(const std::string& expression) {
  std::string name = expression.substr(0, expression.find('<'));
  const auto colons = name.rfind("::");
  if (colons != std::string::npos) {
    name = name.substr(colons + 2);
  }
  while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back()))) {
    name.pop_back();
  }
  return name;
}

// Cache payload: length-prefixed fields (cubin, log, then lowered pairs).
void put_field(std::string& out, std::string_view field) {
  const std::uint64_t n = field.size();
  char len[8];
  for (int i = 0; i < 8; ++i) {
    len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  out.append(len, 8);
  out.append(field);
}

bool get_field(std::string_view& in, std::string& field) {
  if (in.size() < 8) {
    return false;
  }
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) {
    n |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[static_cast<std::size_t>(i)]))
         << (8 * i);
  }
  in.remove_prefix(8);
  if (in.size() < n) {
    return false;
  }
  field.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

std::string encode(const ProgramBuild& p) {
  std::string out;
  put_field(out, p.cubin);
  put_field(out, p.log);
  put_field(out, std::to_string(p.lowered.size()));
  for (const auto& [expr, lowered] : p.lowered) {
    put_field(out, expr);
    put_field(out, lowered);
  }
  return out;
}

bool decode(std::string_view in, ProgramBuild& p) {
  std::string count;
  if (!get_field(in, p.cubin) || !get_field(in, p.log) || !get_field(in, count)) {
    return false;
  }
  const std::size_t n = std::strtoull(count.c_str(), nullptr, 10);
  for (std::size_t i = 0; i < n; ++i) {
    std::string expr;
    std::string lowered;
    if (!get_field(in, expr) || !get_field(in, lowered)) {
      return false;
    }
    p.lowered.emplace_back(std::move(expr), std::move(lowered));
  }
  return in.empty();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `deps_digest` stands for the bytes of every header the program may include.
ProgramBuild compile_program(const cuda::CompileInput& input, const std::string& deps_digest,
                             const BuildSettings& settings) {
  const auto start = std::chrono::steady_clock::now();
  util::Hasher key;
  key.update(k_build_cache_schema).update(cuda::nvrtc_version()).update(input.arch);
  for (const std::string& o : input.options) {
    key.update(o);
  }
  for (const std::string& e : input.name_expressions) {
    key.update(e);
  }
  key.update(input.name).update(input.source);
  for (const auto& [name, content] : input.headers) {
    key.update(name).update(content);
  }
  key.update(deps_digest);
  const std::string digest = key.hex_digest();

  ProgramBuild program;
  program.source = input.name;
  if (settings.cache) {
    if (std::optional<std::string> hit = settings.cache->get(digest)) {
      if (decode(*hit, program)) {
        program.cached = true;
        program.seconds = seconds_since(start);
        spdlog::debug("{} ({}): served from the compile cache ({})", input.name, input.arch,
                      digest);
        return program;
      }
      program = ProgramBuild{};
      program.source = input.name;
    }
  }
  const auto nvrtc_start = std::chrono::steady_clock::now();
  cuda::CompileOutput out = cuda::compile(input);
  program.seconds = seconds_since(nvrtc_start);
  if (!out.ok) {
    throw CompileError(
        fmt::format("{} does not compile for {}:\n{}", input.name, input.arch, out.log));
  }
  program.cubin = std::move(out.cubin);
  program.log = std::move(out.log);
  program.lowered = std::move(out.lowered);
  if (settings.cache) {
    try {
      settings.cache->put(digest, encode(program));
    } catch (const Error& e) {
      spdlog::warn("compile cache not written: {}", e.what());
    }
  }
  return program;
}

} // namespace

SolutionBuild build_solution(const core::SolutionConfig& s, const std::string& arch,
                             const BuildSettings& settings) {
  const auto start = std::chrono::steady_clock::now();
  SolutionBuild build;
  build.solution = s.name;
  build.arch = arch;

  // The .cu sources, each its own NVRTC program.
  std::vector<std::pair<std::string, fs::path>> units;
  for (const auto& [rel, path] : core::resolve_sources(s)) {
    if (path.extension() == ".cu") {
      units.emplace_back(rel, path);
    }
  }
  if (units.empty()) {
    throw Error(fmt::format("{}: solution \"{}\" has no .cu source in {}", s.where, s.name,
                            s.source_dir.string()));
  }
  std::vector<std::string> sources;
  for (const auto& [rel, path] : units) {
    sources.push_back(util::read_file(path));
  }

  // Which unit defines each kernel of the plan: the .cu whose text declares it __global__.
  std::vector<std::string> kernels;
  for (const core::LaunchConfig& l : s.launches) {
    if (std::find(kernels.begin(), kernels.end(), l.kernel) == kernels.end()) {
      kernels.push_back(l.kernel);
    }
  }
  std::vector<std::vector<std::string>> unit_kernels(units.size());
  std::vector<std::size_t> kernel_unit(kernels.size());
  for (std::size_t k = 0; k < kernels.size(); ++k) {
    const std::string id = kernel_identifier(kernels[k]);
    const std::regex declared("__global__[^;{}]*\\b" + id + "\\s*\\(");
    std::vector<std::size_t> found;
    for (std::size_t u = 0; u < units.size(); ++u) {
      if (std::regex_search(sources[u], declared)) {
        found.push_back(u);
      }
    }
    if (found.size() != 1) {
      const auto& launch = *std::find_if(s.launches.begin(), s.launches.end(),
                                         [&](const auto& l) { return l.kernel == kernels[k]; });
      std::string names;
      for (const auto& [rel, path] : units) {
        names += names.empty() ? rel : ", " + rel;
      }
      throw Error(fmt::format("{}: kernel \"{}\" is declared __global__ in {} of the solution's "
                              ".cu sources ({}); expected exactly one",
                              launch.where, kernels[k], found.size(), names));
    }
    kernel_unit[k] = found.front();
    unit_kernels[found.front()].push_back(kernels[k]);
  }

  // Options shared by every unit: project include dirs, defines, the user's options.
  std::vector<std::string> options{"-I" + s.source_dir.string()};
  for (const std::string& dir : s.build.include_dirs) {
    options.push_back("-I" + dir);
  }
  for (const auto& [name, value] : s.build.defines) {
    options.push_back(fmt::format("-D{}={}", name, value));
  }
  std::vector<std::string> option_warnings;
  for (std::string& o : cuda::sanitize_user_options(s.build.options, &option_warnings)) {
    options.push_back(std::move(o));
  }
  for (const std::string& w : option_warnings) {
    build.warnings.push_back(fmt::format("{}: {}", s.where, w));
  }
  std::vector<std::pair<std::string, std::string>> headers;
  std::error_code ec;
  if (!fs::exists(s.source_dir / "fibkit.cuh", ec)) {
    headers.emplace_back("fibkit.cuh", std::string(core::device_header()));
  }
  // Hash every header the programs may include once, for all of them.
  std::vector<fs::path> deps = dependency_files(s.source_dir);
  for (const std::string& dir : s.build.include_dirs) {
    for (fs::path& p : dependency_files(dir)) {
      deps.push_back(std::move(p));
    }
  }
  util::Hasher deps_hasher;
  for (const fs::path& dep : deps) {
    deps_hasher.update(dep.string()).update(util::read_file(dep));
  }
  const std::string deps_digest = deps_hasher.hex_digest();

  const fs::path cwd = fs::current_path(ec);
  for (std::size_t u = 0; u < units.size(); ++u) {
    cuda::CompileInput input;
    input.name = util::display_path(units[u].second, cwd);
    input.source = sources[u];
    input.headers = headers;
    input.options = options;
    input.arch = arch;
    input.name_expressions = unit_kernels[u];
    cuda::add_signature_probes(input, unit_kernels[u]);
    build.programs.push_back(compile_program(input, deps_digest, settings));
  }

  for (std::size_t k = 0; k < kernels.size(); ++k) {
    const ProgramBuild& program = build.programs[kernel_unit[k]];
    KernelBuild kb;
    kb.expression = kernels[k];
    kb.program = kernel_unit[k];
    cuda::CompileOutput view;
    view.ok = true;
    view.lowered = program.lowered;
    if (const std::string* lowered = cuda::find_lowered(view, kernels[k])) {
      kb.lowered = *lowered;
    }
    kb.params = cuda::kernel_signature(view, kernels[k]);
    const std::vector<cuda::KernelResources> resources =
        cuda::kernel_resources(program.log, program.cubin);
    if (const cuda::KernelResources* r = cuda::find_resources(resources, kb.lowered)) {
      kb.resources = *r;
      kb.has_resources = true;
      const auto major = cuda::arch_number(arch).value_or(90) / 10;
      kb.max_threads = cuda::max_threads_per_block(r->registers, major);
    }
    build.kernels.push_back(std::move(kb));
  }
  build.seconds = seconds_since(start);
  return build;
}

namespace {

std::string shape_text(const core::TensorSpec& t) {
  if (!t.shape) {
    return "scalar";
  }
  std::string out = "[";
  for (std::size_t i = 0; i < t.shape->size(); ++i) {
    out += (i ? ", " : "") + (*t.shape)[i];
  }
  return out + "]";
}

// Evaluates `e` with the definition's const axes only; nullopt when it needs a var axis.
std::optional<std::int64_t> const_value(const core::Expr& e, const core::Definition& def) {
  core::Env env;
  for (const core::Axis& a : def.axes) {
    if (a.is_const) {
      env.set(a.name, a.value);
    }
  }
  for (const std::string& n : e.names()) {
    if (!env.contains(n)) {
      return std::nullopt;
    }
  }
  return e.eval(env);
}

} // namespace

void check_build(const core::SolutionConfig& s, const core::Definition& def, SolutionBuild& build) {
  core::check_launch_plan(s, def);
  for (std::size_t li = 0; li < s.launches.size(); ++li) {
    const core::LaunchConfig& l = s.launches[li];
    const auto kb = std::find_if(build.kernels.begin(), build.kernels.end(),
                                 [&](const KernelBuild& k) { return k.expression == l.kernel; });
    if (kb == build.kernels.end()) {
      throw Error(fmt::format("{}: kernel \"{}\" was not built", l.where, l.kernel));
    }
    const std::string launch = fmt::format("{}: launch {} ({})", l.where, li, l.kernel);
    if (kb->params.size() != l.args.size()) {
      throw Error(fmt::format("{}: the kernel takes {} parameters, the launch passes {} arguments",
                              launch, kb->params.size(), l.args.size()));
    }
    for (std::size_t i = 0; i < l.args.size(); ++i) {
      const core::LaunchArg& arg = l.args[i];
      const cuda::ParamType& p = kb->params[i];
      const auto mismatch = [&](const std::string& what, const std::string& expected) {
        throw Error(
            fmt::format("{}: parameter {} ({}) does not fit argument \"{}\": {}; expected {}",
                        launch, i, p.text, arg.text, what, expected));
      };
      if (arg.kind != core::LaunchArg::Kind::name) {
        if (!cuda::type_matches_literal(p, arg.type)) {
          mismatch(fmt::format("a {} literal", arg.type), fmt::format("a {} parameter", arg.type));
        }
        continue;
      }
      const core::TensorSpec* input = def.find_input(arg.name);
      const core::TensorSpec* output = def.find_output(arg.name);
      const core::TensorSpec* tensor = input ? input : output;
      if (tensor && tensor->is_scalar()) {
        if (!cuda::type_matches_scalar(p, tensor->dtype)) {
          mismatch(fmt::format("input \"{}\" of {} is a {} scalar passed by value", arg.name,
                               def.name, core::dtype_name(tensor->dtype)),
                   std::string(cuda::dtype_cpp_type(tensor->dtype)));
        }
      } else if (tensor) {
        const std::string what =
            fmt::format("{} \"{}\" of {} is {} {}", input ? "input" : "output", arg.name, def.name,
                        core::dtype_name(tensor->dtype), shape_text(*tensor));
        const std::string expected =
            fmt::format("{}{}*", input ? "const " : "", cuda::dtype_cpp_type(tensor->dtype));
        if (!p.is_pointer || !cuda::type_matches_dtype(p, tensor->dtype)) {
          mismatch(what, expected);
        }
        if (output && p.is_const_pointee) {
          mismatch(what + ", which the kernel must write", expected);
        }
        if (input && !p.is_const_pointee) {
          build.warnings.push_back(fmt::format(
              "{}: parameter {} ({}) takes input \"{}\" through a writable pointer; declare it "
              "const (inputs must not be written)",
              launch, i, p.text, arg.name));
        }
      } else if (def.find_axis(arg.name)) {
        if (!cuda::type_matches_axis(p)) {
          mismatch(fmt::format("axis \"{}\" is an integer passed by value", arg.name),
                   "int, unsigned, long long or unsigned long long");
        }
      } else {
        const auto ws = std::find_if(s.workspaces.begin(), s.workspaces.end(),
                                     [&](const auto& w) { return w.name == arg.name; });
        if (ws != s.workspaces.end() &&
            (!p.is_pointer || !cuda::type_matches_dtype(p, ws->dtype))) {
          mismatch(fmt::format("workspace \"{}\" is {}", arg.name, core::dtype_name(ws->dtype)),
                   fmt::format("{}*", cuda::dtype_cpp_type(ws->dtype)));
        }
      }
    }

    // Resources: block size and dynamic shared memory, where they do not depend on var axes.
    std::optional<std::int64_t> threads = 1;
    for (const core::Expr& e : l.block) {
      const auto v = const_value(e, def);
      threads = (threads && v) ? std::optional<std::int64_t>(*threads * *v) : std::nullopt;
    }
    if (threads && *threads > 1024) {
      build.warnings.push_back(
          fmt::format("{}: block of {} threads exceeds the 1024-thread limit", launch, *threads));
    } else if (threads && kb->max_threads > 0 && *threads > kb->max_threads) {
      build.warnings.push_back(fmt::format(
          "{}: block of {} threads exceeds the {} the kernel's {} registers per thread allow",
          launch, *threads, kb->max_threads, kb->resources.registers));
    }
    const std::size_t smem_limit = cuda::max_dynamic_smem(build.arch);
    if (const auto smem = const_value(l.shared_memory, def)) {
      const std::size_t total = static_cast<std::size_t>(*smem) + kb->resources.static_smem;
      if (smem_limit > 0 && total > smem_limit) {
        build.warnings.push_back(
            fmt::format("{}: {} bytes of shared memory ({} dynamic + {} static) exceed the {} "
                        "bytes a block may use on {}",
                        launch, total, *smem, kb->resources.static_smem, smem_limit, build.arch));
      }
    }
  }
}

void check_build_sizes(const core::SolutionConfig& s, const core::Definition& def,
                       const SolutionBuild& build, const std::vector<core::Trace>& workloads,
                       std::int64_t num_sms) {
  core::LaunchLimits limits = core::launch_limits(build.arch, num_sms);
  try {
    limits.max_shared_memory = static_cast<std::int64_t>(cuda::max_dynamic_smem(build.arch));
  } catch (const Error&) {
    limits.max_shared_memory = 0; // an architecture without a known limit: not checked
  }
  for (const core::LaunchConfig& l : s.launches) {
    std::int64_t threads = 0;
    std::int64_t static_smem = 0;
    for (const KernelBuild& k : build.kernels) {
      if (k.expression == l.kernel && k.has_resources) {
        threads = k.max_threads;
        static_smem = static_cast<std::int64_t>(k.resources.static_smem);
      }
    }
    limits.kernel_max_threads.push_back(threads);
    limits.kernel_static_smem.push_back(static_smem);
  }
  core::check_launch_sizes(s, def, workloads, limits);
}

} // namespace fibkit::engine
