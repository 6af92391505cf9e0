// config.toml: the single source of truth of a solution project. Accepts the starter kit's
// file unchanged and adds what NVRTC needs (sources, arch, options, defines, the launch plan
// and workspaces). Schema: docs/config.md.
#pragma once

#include "fibkit/core/project/expr.hpp"
#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/core/trace/solution.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace fibkit::core {

/// Build settings: the starter kit's `[build]` keys plus fibkit's NVRTC keys. `[build]` gives
/// the defaults; a solution's own `build` table overrides them key by key.
struct BuildConfig {
  std::string language = "cuda";
  std::string entry_point; ///< "<file>::<symbol>", required before packing
  bool destination_passing_style = true;
  std::vector<std::string> target_hardware{"cuda"};
  std::vector<std::string> dependencies;
  std::optional<std::string> binding;
  std::vector<std::string> arch;    ///< e.g. {"sm_90a", "sm_100a"} or {"auto"}; empty = auto
  std::vector<std::string> options; ///< extra NVRTC options
  std::vector<std::pair<std::string, std::string>> defines; ///< -DNAME=VALUE, in order
  std::vector<std::string>
      include_dirs; ///< absolute after loading (written relative to the config)
  /// `fibkit pack` embeds the NVRTC cubins of `arch` in the generated entry (cubin mode)
  /// instead of letting the official builder compile the kernels (source mode).
  bool embed_cubin = false;
};

/// A scratch buffer the launch plan passes to kernels.
struct WorkspaceConfig {
  std::string name;
  DType dtype = DType::float32;
  std::vector<Expr> shape;
  enum class Init { zero, uninitialized } init = Init::zero; ///< zero: before every call
  std::string where;                                         ///< "config.toml:12"
};

/// One kernel argument of a launch.
struct LaunchArg {
  enum class Kind { name, integer, floating };
  Kind kind = Kind::name;
  std::string name;            ///< Kind::name: an input, output, axis or workspace
  std::string type;            ///< literals: int32, int64, uint32, uint64, float32, float64
  std::optional<Expr> integer; ///< Kind::integer
  double floating = 0.0;       ///< Kind::floating
  std::string text;            ///< as written in the config
};

/// One `[[solution.launch]]`: a kernel launch of the plan, in order.
struct LaunchConfig {
  std::string kernel;        ///< __global__ name or C++ name expression, e.g. "gemm<128>"
  std::vector<Expr> grid;    ///< 1..3
  std::vector<Expr> block;   ///< 1..3
  Expr shared_memory;        ///< dynamic shared memory bytes
  std::vector<Expr> cluster; ///< empty or 1..3
  bool cooperative = false;
  /// The launch runs only for workloads where this is nonzero (absent: always), e.g. one of
  /// two paths picked by a size: "1 - min(1, total_seq_len / 64)".
  std::optional<Expr> when;
  std::vector<LaunchArg> args;
  std::string where; ///< "config.toml:20"
};

struct SolutionConfig {
  std::string name;
  std::string definition; ///< resolved: a track name is replaced by its only definition
  std::string track;      ///< the contest track, or empty for other definitions
  std::string author;
  std::optional<std::string> description;
  std::filesystem::path source_dir; ///< absolute; packed paths are relative to it
  std::vector<std::string> sources; ///< patterns relative to source_dir; empty = default set
  BuildConfig build;
  std::vector<WorkspaceConfig> workspaces;
  std::vector<LaunchConfig> launches;
  std::string where; ///< "config.toml:3" (the [solution] header)
};

struct ProjectConfig {
  std::filesystem::path file; ///< the config file
  std::filesystem::path dir;  ///< its directory (relative paths resolve against it)
  std::vector<SolutionConfig> solutions;

  /// The solution named `name`, or for `name` empty the only one. Throws fibkit::UsageError
  /// listing the names when the choice is ambiguous or unknown.
  const SolutionConfig& select(std::string_view name) const;
  /// Every solution when `name` is empty, else the one named (see select()).
  std::vector<const SolutionConfig*> selection(std::string_view name) const;
};

/// Parses config text. `display_name` appears in errors (`config.toml:7: ...`); `dir` is the
/// project directory. Throws fibkit::Error at the first unknown key, wrong type, bad
/// expression or inconsistency, with its line.
ProjectConfig parse_config(std::string_view text, const std::string& display_name,
                           const std::filesystem::path& dir);
/// Loads `path` (display name relative to the working directory).
ProjectConfig load_config(const std::filesystem::path& path);
/// The project config of a command: `flag` (from --config) when given, else config.toml found
/// from the working directory upward. Throws fibkit::UsageError when there is none.
ProjectConfig load_project_config(const std::string& flag);

/// Finds config.toml in `start` or the nearest parent (stopping at a directory with .git or at
/// the file-system root). Returns an empty path when there is none.
std::filesystem::path find_config(const std::filesystem::path& start);

/// Checks the launch plan of `solution` against its definition: names of arguments and
/// expressions exist, literal types, workspace names unique, every output written by some
/// launch. Throws fibkit::Error naming the config line.
void check_launch_plan(const SolutionConfig& solution, const Definition& definition);

/// The source files of `solution` as (packed path relative to source_dir, absolute path): the
/// `sources` patterns in order (each sorted), or the default set of source_dir's top-level
/// .cu/.cuh/.h/.hpp/.cpp/.cc/.cxx/.c/.py files. Throws fibkit::Error for a missing file or a
/// pattern that matches nothing.
std::vector<std::pair<std::string, std::filesystem::path>>
resolve_sources(const SolutionConfig& solution);

/// Packs `solution` into the official Solution: reads its source files (the default set is the
/// top-level .cu/.cuh/.h/.hpp/.cpp/.cc/.cxx/.c/.py files of source_dir), adds fibkit.cuh when a
/// source includes it and the project has no copy, validates it like the official model, and
/// throws fibkit::Error naming the file or key when it is invalid.
Solution pack_solution(const SolutionConfig& solution);

} // namespace fibkit::core
