// The Python bridge: a `python3` child of a worker that runs, on the same GPU and on exactly the
// tensors the worker made, a definition's Python reference (its `run`, as the official evaluator
// runs it) and official Solutions written in Python or Triton (loaded as the official Python and
// Triton builders load them). The child runs src/engine/python_bridge.py (embedded in fibkit),
// which documents the protocol: one JSON request per line on a pipe, one JSON reply per line on
// another; whatever the Python code prints goes to the worker's stderr (its log).
//
// Tensors cross as CUDA IPC handles of the worker's allocations (no copy); where CUDA IPC does
// not work the bridge falls back to files in /dev/shm (one device-to-host copy of every tensor
// per call or timing request, never per timed iteration) and says so in transport_note().
//
// The Python code is timed in the child by the contest method (python_bridge.py: the CUPTI span
// rule with cupti-python, else CUDA events, as flashinfer's bench_gpu_time_with_cupti): CUPTI in
// the worker cannot see another process's launches.
#pragma once

#include "fibkit/core/trace/definition.hpp"
#include "fibkit/core/trace/solution.hpp"
#include "fibkit/engine/executor.hpp"
#include "fibkit/engine/tvm_ffi.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <vector>

namespace fibkit::engine {

/// Code the bridge can load: an official Python/Triton Solution, a definition's reference, or
/// an official CUDA/C++ Solution's built TVM-FFI library (called from Python as the official
/// evaluator's Python harness calls it).
struct PythonCode {
  std::string name;
  std::string language;    ///< "python", "triton", or "tvm-ffi" (a built library)
  std::string entry_point; ///< "file.py::function"; for "tvm-ffi" the library's export name
  std::vector<core::SourceFile> sources;
  bool dps = false;              ///< destination-passing style
  std::filesystem::path library; ///< "tvm-ffi": the shared library to tvm_ffi.load_module
};

/// The definition's reference as the official evaluator builds it: main.py = `reference`,
/// entry main.py::run, value-returning.
PythonCode reference_code(const core::Definition& definition);
/// An official Solution with language python or triton.
PythonCode solution_code(const core::Solution& solution);
/// An official cuda/cpp Solution already built (engine/official_build) into `library`: loaded
/// in the bridge with tvm_ffi.load_module and called with torch tensors, destination-passing.
PythonCode library_code(const core::Solution& solution, const TvmFfiLibrary& library);

/// The interpreter the bridge runs: $FIBKIT_PYTHON, else `python3` from the PATH.
std::string bridge_python();

/// What the child reported when it started.
struct PythonInfo {
  std::string python;     ///< e.g. "3.12.3"
  std::string executable; ///< sys.executable
  std::string torch;
  std::string triton; ///< empty when triton is not importable
  std::string cupti;  ///< cupti-python's version; empty when it is not importable
  std::string gpu;
};

class PythonBridge {
public:
  /// Starts the child (its working files under `cache_dir`/python) and checks that it imports
  /// torch and sees the GPU, then picks the tensor transport. The CUDA context of the caller
  /// must be current (the transport probe allocates). Throws fibkit::Error with the child's
  /// message (e.g. "python3 cannot import torch") or its stderr when it dies.
  explicit PythonBridge(const std::filesystem::path& cache_dir);
  ~PythonBridge();
  PythonBridge(const PythonBridge&) = delete;
  PythonBridge& operator=(const PythonBridge&) = delete;

  const PythonInfo& info() const { return m_info; }
  /// "cuda-ipc", or "files (<why CUDA IPC did not work>)".
  const std::string& transport_note() const { return m_transport_note; }

  /// Loads code; returns the id to call it by. Throws with the Python traceback.
  int load(const PythonCode& code, const core::Definition& definition);

  /// One call of `id` on the tensors of `args` (shapes from `shapes`: inputs then outputs).
  /// The caller synchronises its stream first; the call has finished when this returns. An
  /// official status other than PASSED (a value-returning solution's wrong shape or dtype) is
  /// thrown as OutputMismatch; any other failure as fibkit::Error with the traceback.
  void call(int id, const core::Definition& definition, const CallArgs& args,
            const std::vector<std::vector<std::int64_t>>& shapes);

  /// The contest method in the child (see python_bridge.py).
  OwnTiming time(int id, const core::Definition& definition, const CallArgs& args,
                 const std::vector<std::vector<std::int64_t>>& shapes, int warmup, int iterations,
                 bool use_cupti);

private:
  /// Sends one request and returns its reply, parsed once (valid until the next request);
  /// throws fibkit::Error with the Python traceback for {"ok": false}.
  util::JsonValue request(const std::string& json);
  void tensor_json(util::JsonWriter& out, core::DType dtype, const std::vector<std::int64_t>& shape,
                   CUdeviceptr ptr, const std::string& file_name, bool is_output);
  std::string tensors_json(const core::Definition& definition, const CallArgs& args,
                           const std::vector<std::vector<std::int64_t>>& shapes);
  void read_back_files();

  pid_t m_pid = -1;
  int m_to_child = -1;
  int m_from_child = -1;
  std::string m_pending; ///< bytes read past the last reply line
  std::string m_reply;   ///< the last reply line
  util::JsonParser m_parser;
  PythonInfo m_info;
  bool m_ipc = true;
  std::string m_transport_note;
  std::filesystem::path m_files; ///< the file transport's folder
  std::vector<std::pair<std::filesystem::path, CUdeviceptr>> m_file_outputs;
};

/// A Python-side status other than PASSED for one call (INCORRECT_SHAPE, INCORRECT_DTYPE).
class OutputMismatch : public std::runtime_error {
public:
  OutputMismatch(std::string status, const std::string& message)
      : std::runtime_error(message), m_status(std::move(status)) {}
  const std::string& status() const { return m_status; }

private:
  std::string m_status;
};

/// Code loaded in a bridge, as a Runnable, timed in the bridge (time_itself).
class PythonRunnable : public Runnable {
public:
  /// `bridge` and `definition` must outlive the object.
  PythonRunnable(PythonBridge& bridge, int id, const core::Definition& definition);

  void prepare(const std::map<std::string, std::int64_t>& var_axes) override;
  /// Synchronises `stream`, then calls the code (finished on return).
  void run(const CallArgs& args, CUstream stream) const override;
  std::optional<OwnTiming> time_itself(const CallArgs& args, CUstream stream, int warmup,
                                       int iterations, bool use_cupti) const override;

private:
  PythonBridge& m_bridge;
  int m_id;
  const core::Definition& m_definition;
  std::vector<std::vector<std::int64_t>> m_shapes;
};

} // namespace fibkit::engine
