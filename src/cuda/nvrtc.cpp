#include "fibkit/cuda/nvrtc.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>
#include <nvrtc.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <system_error>

#ifndef FIBKIT_CUDA_INCLUDE_DIR
#error "FIBKIT_CUDA_INCLUDE_DIR must name the CUDA toolkit's include directory"
#endif

namespace fibkit::cuda {
namespace {

namespace fs = std::filesystem;

/// Throws fibkit::Error naming the NVRTC call when it did not succeed.
void check(nvrtcResult result, const char* call) {
  if (result != NVRTC_SUCCESS) {
    throw Error(std::string("NVRTC call failed: ") + call + ": " + nvrtcGetErrorString(result));
  }
}

#define FIBKIT_NVRTC(call) check((call), #call)

/// Destroys the program when the compile ends, also by an exception.
class Program {
public:
  explicit Program(const CompileInput& input) {
    std::vector<const char*> contents;
    std::vector<const char*> names;
    for (const auto& [name, content] : input.headers) {
      names.push_back(name.c_str());
      contents.push_back(content.c_str());
    }
    FIBKIT_NVRTC(nvrtcCreateProgram(&m_program, input.source.c_str(), input.name.c_str(),
                                    static_cast<int>(contents.size()), contents.data(),
                                    names.data()));
  }
  ~Program() { nvrtcDestroyProgram(&m_program); }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  nvrtcProgram get() const { return m_program; }

private:
  nvrtcProgram m_program = nullptr;
};

std::string program_log(nvrtcProgram program) {
  std::size_t size = 0;
  FIBKIT_NVRTC(nvrtcGetProgramLogSize(program, &size));
  std::string log(size, '\0');
  if (size > 0) {
    FIBKIT_NVRTC(nvrtcGetProgramLog(program, log.data()));
  }
  while (!log.empty() && log.back() == '\0') {
    log.pop_back();
  }
  return log;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool is_std_option(std::string_view option) {
  return starts_with(option, "-std=") || starts_with(option, "--std=");
}

/// The directory list of FIBKIT_CUDA_INCLUDE_DIR (CMake may give several, ':'- or ';'-separated).
std::vector<fs::path> built_in_include_dirs() {
  std::vector<fs::path> dirs;
  const std::string_view all = FIBKIT_CUDA_INCLUDE_DIR;
  std::size_t start = 0;
  while (start <= all.size()) {
    std::size_t end = all.find_first_of(":;", start);
    if (end == std::string_view::npos) {
      end = all.size();
    }
    if (end > start) {
      dirs.emplace_back(std::string(all.substr(start, end - start)));
    }
    start = end + 1;
  }
  return dirs;
}

bool directory_exists(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

constexpr std::string_view k_probe_marker = "// ---- fibkit signature probe";

constexpr std::string_view k_probe_source =
    R"(// ---- fibkit signature probe (appended by fibkit; not part of the user's file) ----
namespace fibkit_probe {
template <typename F> struct sig {};
template <unsigned long... N> struct sizes {};
template <typename F> struct sizes_of;
template <typename... A> struct sizes_of<void(A...)> {
  using type = sizes<sizeof(A)...>;
};
template <typename F, typename S = typename sizes_of<F>::type>
__global__ void probe(sig<F>*, S*) {}
} // namespace fibkit_probe
)";

} // namespace

std::vector<fs::path> cuda_include_dirs() {
  std::vector<fs::path> dirs;
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* root = std::getenv(variable);
    if (root != nullptr && *root != '\0' && directory_exists(fs::path(root) / "include")) {
      dirs.push_back(fs::path(root) / "include");
      break;
    }
  }
  if (dirs.empty()) {
    dirs = built_in_include_dirs();
  }
  if (!dirs.empty()) {
    const fs::path cccl = dirs.front() / "cccl";
    if (directory_exists(cccl) && std::find(dirs.begin(), dirs.end(), cccl) == dirs.end()) {
      dirs.push_back(cccl);
    }
  }
  return dirs;
}

std::optional<int> arch_number(std::string_view arch) {
  if (!starts_with(arch, "sm_")) {
    return std::nullopt;
  }
  std::string_view digits = arch.substr(3);
  if (!digits.empty() && (digits.back() == 'a' || digits.back() == 'f')) {
    digits.remove_suffix(1);
  }
  if (digits.empty() || digits.size() > 4 || digits.front() == '0') {
    return std::nullopt;
  }
  int number = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    number = number * 10 + (c - '0');
  }
  return number;
}

std::vector<std::string> base_options(const std::string& arch) {
  std::vector<std::string> options{"--gpu-architecture=" + arch, "-std=c++17"};
  for (const auto& dir : cuda_include_dirs()) {
    options.push_back("-I" + dir.string());
  }
  options.emplace_back("--ptxas-options=-v");
  options.emplace_back("-default-device");
  return options;
}

CompileOutput compile(const CompileInput& input) {
  if (!arch_number(input.arch)) {
    throw Error("NVRTC target '" + input.arch +
                "' is not a real architecture such as sm_90a, sm_100a or sm_80");
  }
  const bool user_std = std::any_of(input.options.begin(), input.options.end(),
                                    [](const std::string& o) { return is_std_option(o); });
  std::vector<std::string> options;
  for (auto& option : base_options(input.arch)) {
    if (!(user_std && is_std_option(option)) &&
        !(!input.default_device && option == "-default-device")) {
      options.push_back(std::move(option));
    }
  }
  options.insert(options.end(), input.options.begin(), input.options.end());
  std::vector<const char*> option_ptrs;
  option_ptrs.reserve(options.size());
  for (const auto& option : options) {
    option_ptrs.push_back(option.c_str());
  }

  Program program(input);
  std::set<std::string_view> added;
  for (const auto& expression : input.name_expressions) {
    if (added.insert(expression).second) {
      FIBKIT_NVRTC(nvrtcAddNameExpression(program.get(), expression.c_str()));
    }
  }

  const nvrtcResult result =
      nvrtcCompileProgram(program.get(), static_cast<int>(option_ptrs.size()), option_ptrs.data());
  CompileOutput output;
  output.log = program_log(program.get());
  if (result == NVRTC_ERROR_COMPILATION || result == NVRTC_ERROR_INVALID_OPTION) {
    output.ok = false;
    return output;
  }
  check(result, "nvrtcCompileProgram(program, options)");

  std::size_t size = 0;
  FIBKIT_NVRTC(nvrtcGetCUBINSize(program.get(), &size));
  output.cubin.assign(size, '\0');
  if (size > 0) {
    FIBKIT_NVRTC(nvrtcGetCUBIN(program.get(), output.cubin.data()));
  }
  for (const auto& expression : input.name_expressions) {
    const char* lowered = nullptr;
    FIBKIT_NVRTC(nvrtcGetLoweredName(program.get(), expression.c_str(), &lowered));
    output.lowered.emplace_back(expression, lowered);
  }
  output.ok = true;
  return output;
}

std::string nvrtc_version() {
  int major = 0;
  int minor = 0;
  FIBKIT_NVRTC(nvrtcVersion(&major, &minor));
  return std::to_string(major) + "." + std::to_string(minor);
}

std::vector<std::string> supported_archs() {
  int count = 0;
  FIBKIT_NVRTC(nvrtcGetNumSupportedArchs(&count));
  std::vector<int> archs(static_cast<std::size_t>(count));
  if (count > 0) {
    FIBKIT_NVRTC(nvrtcGetSupportedArchs(archs.data()));
  }
  std::vector<std::string> names;
  for (const int arch : archs) {
    names.push_back("sm_" + std::to_string(arch));
  }
  return names;
}

std::string arch_problem(std::string_view arch) {
  const std::string examples = "e.g. sm_90a (H100/H200) or sm_100a (B200)";
  if (!arch_number(arch)) {
    std::string hint;
    if (starts_with(arch, "compute_")) {
      hint = fmt::format(": {} is a virtual architecture (PTX); fibkit compiles cubins for a real "
                         "one, sm_{}",
                         arch, arch.substr(8));
    } else if (!arch.empty() && std::isdigit(static_cast<unsigned char>(arch[0])) &&
               arch_number("sm_" + std::string(arch))) {
      hint = fmt::format(": did you mean sm_{}?", arch);
    }
    return fmt::format("\"{}\" is not an architecture (expected sm_<major><minor>[a|f], {}){}",
                       arch, examples, hint);
  }
  const std::vector<std::string> supported = supported_archs();
  std::string base(arch);
  if (base.back() == 'a' || base.back() == 'f') {
    base.pop_back();
  }
  if (supported.empty() || std::find(supported.begin(), supported.end(), base) != supported.end()) {
    return "";
  }
  return fmt::format("NVRTC {} cannot target {}: it supports {} to {} (each also with an a or f "
                     "suffix where the GPU has one), {}",
                     nvrtc_version(), arch, supported.front(), supported.back(), examples);
}

std::vector<std::string> sanitize_user_options(const std::vector<std::string>& options,
                                               std::vector<std::string>* warnings) {
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < options.size(); ++i) {
    const std::string& option = options[i];
    std::string dropped;
    std::string why;
    if (starts_with(option, "-O")) {
      dropped = option;
      why = "NVRTC has no -O option and optimises by default (ptxas's level is "
            "--ptxas-options=-O3, its default)";
    } else if (option == "-arch" || option == "--gpu-architecture") {
      dropped = option;
      if (i + 1 < options.size()) {
        dropped += " " + options[++i];
      }
      why = "the target architectures come from config.toml's arch";
    } else if (starts_with(option, "-arch=") || starts_with(option, "--gpu-architecture=")) {
      dropped = option;
      why = "the target architectures come from config.toml's arch";
    } else {
      kept.push_back(option);
      continue;
    }
    if (warnings != nullptr) {
      warnings->push_back("ignoring NVRTC option '" + dropped + "': " + why);
    }
  }
  return kept;
}

std::string_view probe_source() {
  return k_probe_source;
}

std::string probe_expression(std::string_view kernel) {
  return "fibkit_probe::probe<decltype(" + std::string(kernel) + ")>";
}

bool is_probe_name(std::string_view lowered) {
  return starts_with(lowered, "_ZN12fibkit_probe");
}

void add_signature_probes(CompileInput& input, const std::vector<std::string>& kernels) {
  if (input.source.find(k_probe_marker) == std::string::npos) {
    if (!input.source.empty() && input.source.back() != '\n') {
      input.source += '\n';
    }
    input.source += k_probe_source;
  }
  auto add = [&input](std::string expression) {
    if (std::find(input.name_expressions.begin(), input.name_expressions.end(), expression) ==
        input.name_expressions.end()) {
      input.name_expressions.push_back(std::move(expression));
    }
  };
  for (const auto& kernel : kernels) {
    add(kernel);
    add(probe_expression(kernel));
  }
}

const std::string* find_lowered(const CompileOutput& output, std::string_view expression) {
  for (const auto& [name, lowered] : output.lowered) {
    if (name == expression) {
      return &lowered;
    }
  }
  return nullptr;
}

} // namespace fibkit::cuda
