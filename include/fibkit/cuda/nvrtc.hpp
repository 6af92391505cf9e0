// NVRTC: compiles a device-only CUDA source to a cubin. A compile error is data (CompileOutput
// with ok == false and NVRTC's log), not an exception; only a misuse of the NVRTC API throws.
//
// Also the signature probe: the lowered name of an `extern "C"` kernel is its plain name, so its
// parameter types cannot be read back from it. add_signature_probes() appends a tiny function
// template to the source and, per kernel, the name expression
// `fibkit_probe::probe<decltype(KERNEL)>`, whose lowered (mangled) name spells the kernel's full
// function type and, through a defaulted second template argument, the size of every parameter.
// signature.hpp turns that name into parameter types.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fibkit::cuda {

/// One NVRTC compilation.
struct CompileInput {
  /// The display file name, e.g. "kernels/gated_delta_net/gdn_decode.cu". NVRTC's diagnostics say
  /// `<name>(LINE): error: ...`, so this is the path the user should see.
  std::string name;
  std::string source;
  /// In-memory headers (include name, content), e.g. {"fibkit.cuh", <embedded>}. They take
  /// precedence over files found through -I.
  std::vector<std::pair<std::string, std::string>> headers;
  /// Options added after base_options(): -I of the project directories (the source's own
  /// directory too, for `#include "x.cuh"`), -D defines and the user's options, the latter passed
  /// through sanitize_user_options() first. A `-std=` here replaces the default -std=c++17.
  std::vector<std::string> options;
  /// Names to look up in CompileOutput::lowered: "gdn_decode_kernel", "moe_gemm<128>",
  /// "ns::kernel", or probe expressions (add_signature_probes()).
  std::vector<std::string> name_expressions;
  /// A real architecture, "sm_90a", "sm_100a", "sm_80": the output is a cubin. Throws
  /// fibkit::Error for anything else (a "compute_XX" target would give PTX).
  std::string arch;
  /// Pass `-default-device` (functions without an execution space are __device__). False gives
  /// nvcc's rule (they are host functions), as `fibkit pack` checks the official builder's view.
  bool default_device = true;
};

/// The result of compile().
struct CompileOutput {
  /// True when NVRTC produced a cubin. False for a compile error and also for an option NVRTC
  /// rejects ("nvrtc: error: unrecognized option -O3 found"): both are in `log`.
  bool ok = false;
  /// NVRTC's log: diagnostics (`<name>(LINE): error: ...`, `<name>(LINE): warning #177-D: ...`),
  /// then, on success, ptxas's resource lines (`ptxas info    : Used 32 registers, ...`;
  /// resources.hpp parses them). An unknown name expression is reported at `__nv_name_map(N)`, a
  /// pseudo file whose line echoes the expression.
  std::string log;
  /// The ELF cubin, empty unless `ok`.
  std::string cubin;
  /// name expression -> lowered name, in the order of CompileInput::name_expressions; empty
  /// unless `ok`. An `extern "C"` kernel lowers to its own name, a C++ one to its mangled name.
  std::vector<std::pair<std::string, std::string>> lowered;
};

/// Compiles `input` with NVRTC: base_options(input.arch) (minus -std=c++17 when input.options
/// has its own -std=), then input.options. Returns the log, the cubin and the lowered names.
/// A name expression given twice is added once. Throws fibkit::Error naming the NVRTC call and its
/// nvrtcGetErrorString when an NVRTC call fails otherwise (API misuse, out of memory), and for an
/// invalid `arch`.
CompileOutput compile(const CompileInput& input);

/// The options compile() always passes, in order: `--gpu-architecture=<arch>`, `-std=c++17`,
/// `-I<dir>` for each of cuda_include_dirs(), `--ptxas-options=-v` (ptxas resource lines in the
/// log) and `-default-device` (functions without an execution space are __device__).
std::vector<std::string> base_options(const std::string& arch);

/// The CUDA include directories NVRTC needs: NVRTC 13 has no default include path, and CUDA 13
/// moved CCCL (cuda/std, cub, thrust) to include/cccl. The toolkit's include directory is
/// $CUDA_HOME/include, else $CUDA_PATH/include (when that directory exists), else the one fibkit
/// was built with (FIBKIT_CUDA_INCLUDE_DIR); the result is it and its cccl/ when that exists.
std::vector<std::filesystem::path> cuda_include_dirs();

/// NVRTC's version, "13.0".
std::string nvrtc_version();

/// The real architectures this NVRTC can target, "sm_75", ..., "sm_121" (nvrtcGetSupportedArchs).
/// The arch-specific ("sm_90a") and family ("sm_100f") variants of each are accepted as well.
std::vector<std::string> supported_archs();

/// The compute capability of an architecture name times ten plus minor: "sm_90a" -> 90,
/// "sm_100f" -> 100, "sm_80" -> 80; nullopt when `arch` is not `sm_<digits>` with an optional
/// `a` or `f` suffix.
std::optional<int> arch_number(std::string_view arch);

/// Why `arch` cannot be a compile target, or "" when it can: not of the form sm_<digits>[a|f]
/// (with a hint for "90a" or "compute_90"), or outside the architectures this NVRTC supports
/// (the message gives the supported range).
std::string arch_problem(std::string_view arch);

/// Removes the user options NVRTC rejects or fibkit sets itself, and adds one line per removed
/// option to `warnings` (when not null):
///  - `-O`, `-O0` ... `-O3`, `-Ofast`: NVRTC has no -O option ("unrecognized option -O3") and
///    optimises by default; ptxas's level is `--ptxas-options=-O3` (its default is already -O3).
///  - `-arch`, `--gpu-architecture` (with `=value` or a separate value): the target comes from
///    config.toml's `arch`.
/// Every other option is kept in order; NVRTC itself reports the ones it does not know.
std::vector<std::string> sanitize_user_options(const std::vector<std::string>& options,
                                               std::vector<std::string>* warnings);

// ---- signature probe --------------------------------------------------------------------------

/// The C++ text add_signature_probes() appends to a source: namespace fibkit_probe with the
/// kernel template `probe<F, S = sizes<sizeof(params)...>>`. It adds one trivial entry function
/// per probed kernel to the cubin (4 registers, no shared memory).
std::string_view probe_source();

/// The name expression whose lowered name spells the type of `kernel`, a kernel expression
/// written as in the launch plan ("gdn_decode_kernel", "moe_gemm<128>", "ns::kernel"):
/// `fibkit_probe::probe<decltype(KERNEL)>`. Overloaded kernel names are not supported (decltype
/// of an overload set is an error).
std::string probe_expression(std::string_view kernel);

/// True when `lowered` is the lowered name of a probe (it starts with `_ZN12fibkit_probe`).
bool is_probe_name(std::string_view lowered);

/// Prepares `input` to report the signatures of `kernels`: appends probe_source() at the end of
/// input.source (after a newline, so the user's line numbers do not move; only once) and adds,
/// for each kernel, its own name expression (for its lowered name) and probe_expression() (for
/// its parameter types), skipping ones already present. After compile(), cuda::kernel_signature()
/// (signature.hpp) reads them back.
void add_signature_probes(CompileInput& input, const std::vector<std::string>& kernels);

/// The lowered name of `expression` in `output`, or nullptr when it was not a name expression of
/// that (successful) compile.
const std::string* find_lowered(const CompileOutput& output, std::string_view expression);

} // namespace fibkit::cuda
