#include "fibkit/engine/python_bridge.hpp"

#include "fibkit/core/trace/dtype.hpp"
#include "fibkit/core/trace/embedded.hpp"
#include "fibkit/cuda/driver.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"
#include "fibkit/util/json_reader.hpp"
#include "fibkit/util/json_writer.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <fstream>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace fibkit::engine {

namespace {

constexpr std::string_view k_script = "src/engine/python_bridge.py";

std::string_view embedded_script() {
  return core::embedded_file(k_script);
}

// The driver entry points only the bridge needs, from the libcuda the worker already loaded.
struct IpcDriver {
  CUresult (*get_handle)(CUipcMemHandle*, CUdeviceptr) = nullptr;
  CUresult (*address_range)(CUdeviceptr*, std::size_t*, CUdeviceptr) = nullptr;
  std::string missing;

  IpcDriver() {
    void* lib = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    if (lib == nullptr) {
      missing = "libcuda.so.1 is not loaded";
      return;
    }
    get_handle = reinterpret_cast<decltype(get_handle)>(::dlsym(lib, "cuIpcGetMemHandle"));
    address_range =
        reinterpret_cast<decltype(address_range)>(::dlsym(lib, "cuMemGetAddressRange_v2"));
    if (get_handle == nullptr || address_range == nullptr) {
      missing = "libcuda.so.1 lacks cuIpcGetMemHandle or cuMemGetAddressRange_v2";
    }
  }
  static const IpcDriver& get() {
    static const IpcDriver d;
    return d;
  }
};

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      throw Error(fmt::format("the Python bridge stopped reading: {}", std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
}

std::size_t tensor_bytes(core::DType dtype, const std::vector<std::int64_t>& shape) {
  std::size_t n = core::dtype_size(dtype);
  for (std::int64_t d : shape) {
    n *= static_cast<std::size_t>(d);
  }
  return n;
}

} // namespace

PythonCode reference_code(const core::Definition& def) {
  PythonCode c;
  c.name = def.name + "__reference";
  c.language = "python";
  c.entry_point = "main.py::run";
  c.sources.push_back(core::SourceFile{"main.py", def.reference});
  c.dps = false;
  return c;
}

PythonCode solution_code(const core::Solution& s) {
  PythonCode c;
  c.name = s.name;
  c.language = s.spec.language;
  c.entry_point = s.spec.entry_point;
  c.sources = s.sources;
  c.dps = s.spec.destination_passing_style;
  return c;
}

PythonCode library_code(const core::Solution& s, const TvmFfiLibrary& library) {
  PythonCode c;
  c.name = s.name;
  c.language = "tvm-ffi";
  c.entry_point = library.symbol;
  c.dps = true;
  c.library = library.library;
  return c;
}

std::string bridge_python() {
  const char* env = std::getenv("FIBKIT_PYTHON");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("python3");
}

PythonBridge::PythonBridge(const fs::path& cache_dir) {
  const std::string_view script = embedded_script();
  const fs::path dir = cache_dir / "python";
  const fs::path script_path =
      dir / fmt::format("python_bridge-{}.py",
                        util::Hasher().update(std::string(script)).hex_digest().substr(0, 12));
  if (!fs::exists(script_path)) {
    util::write_file_atomic(script_path, std::string(script));
  }
  int to_child[2];
  int from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
    throw Error(fmt::format("cannot create the Python bridge's pipes: {}", std::strerror(errno)));
  }
  const std::string python = bridge_python();
  const std::string script_arg = script_path.string();
  const std::string dir_arg = dir.string();
  // The child keeps these two ends open across exec (their close-on-exec flag is cleared there).
  const std::string read_fd = std::to_string(to_child[0]);
  const std::string write_fd = std::to_string(from_child[1]);
  std::vector<char*> argv{const_cast<char*>(python.c_str()),
                          const_cast<char*>("-u"),
                          const_cast<char*>(script_arg.c_str()),
                          const_cast<char*>(read_fd.c_str()),
                          const_cast<char*>(write_fd.c_str()),
                          const_cast<char*>(dir_arg.c_str()),
                          nullptr};
  const pid_t parent = ::getpid();
  m_pid = ::fork();
  if (m_pid < 0) {
    throw Error(fmt::format("cannot start the Python bridge: fork: {}", std::strerror(errno)));
  }
  if (m_pid == 0) {
    // Only async-signal-safe calls until exec. The bridge dies with the worker (timeouts kill
    // the worker), and its output goes to the worker's stderr, which is the log.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
    ::dup2(STDERR_FILENO, STDOUT_FILENO);
    ::fcntl(to_child[0], F_SETFD, 0);
    ::fcntl(from_child[1], F_SETFD, 0);
    ::execvp(argv[0], argv.data());
    const char msg[] = "fibkit: cannot run the Python bridge's interpreter "
                       "(set FIBKIT_PYTHON or put python3 on the PATH)\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  m_to_child = to_child[1];
  m_from_child = from_child[0];

  const util::JsonValue h = request(R"({"op":"hello"})");
  const auto text = [&](const char* key) {
    return h.has_non_null(key) ? h.at(key).as_string() : std::string();
  };
  m_info = PythonInfo{text("python"), text("executable"), text("torch"),
                      text("triton"), text("cupti"),      text("gpu")};

  // The transport: CUDA IPC where it works, else files.
  const IpcDriver& ipc = IpcDriver::get();
  if (!ipc.missing.empty()) {
    m_ipc = false;
    m_transport_note = "files (" + ipc.missing + ")";
  } else {
    cuda::DeviceBuffer probe(64);
    const std::string pattern = "fibkit-ipc-probe";
    probe.upload(pattern.data(), pattern.size());
    try {
      util::JsonWriter tensor;
      tensor_json(tensor, core::DType::int8, {64}, probe.ptr(), "probe.bin", false);
      const std::string hex =
          request(R"({"op":"probe","tensor":)" + tensor.take() + "}").at("hex").as_string();
      std::string expected;
      for (unsigned char c : pattern) {
        expected += fmt::format("{:02x}", c);
      }
      if (hex != expected) {
        throw Error("the bridge read other bytes than were written");
      }
      m_transport_note = "cuda-ipc";
    } catch (const Error& e) {
      m_ipc = false;
      m_transport_note = fmt::format("files (CUDA IPC failed: {})", e.what());
    }
  }
  if (!m_ipc) {
    const fs::path shm = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string pattern = (shm / "fibkit-bridge-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw Error(fmt::format("cannot create {}: {}", pattern, std::strerror(errno)));
    }
    m_files = pattern;
  }
}

PythonBridge::~PythonBridge() {
  if (m_to_child >= 0) {
    ::close(m_to_child); // the bridge's loop ends at EOF
  }
  if (m_from_child >= 0) {
    ::close(m_from_child);
  }
  if (m_pid > 0) {
    int status = 0;
    for (int i = 0; i < 50; ++i) { // up to 0.5 s to exit on its own
      if (::waitpid(m_pid, &status, WNOHANG) == m_pid) {
        m_pid = -1;
        break;
      }
      ::usleep(10000);
    }
    if (m_pid > 0) {
      ::kill(m_pid, SIGKILL);
      ::waitpid(m_pid, &status, 0);
    }
  }
  if (!m_files.empty()) {
    std::error_code ec;
    fs::remove_all(m_files, ec);
  }
}

util::JsonValue PythonBridge::request(const std::string& json) {
  write_all(m_to_child, json + "\n");
  std::size_t nl;
  while ((nl = m_pending.find('\n')) == std::string::npos) {
    char buf[65536];
    const ssize_t n = ::read(m_from_child, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      int status = 0;
      std::string how = "closed its pipe";
      if (m_pid > 0 && ::waitpid(m_pid, &status, 0) == m_pid) {
        m_pid = -1;
        how = WIFEXITED(status)     ? fmt::format("exited with status {}", WEXITSTATUS(status))
              : WIFSIGNALED(status) ? fmt::format("was killed by signal {}", WTERMSIG(status))
                                    : how;
      }
      throw Error(fmt::format("the Python bridge ({}) {} (its output is in the log above)",
                              bridge_python(), how));
    }
    m_pending.append(buf, static_cast<std::size_t>(n));
  }
  m_reply = m_pending.substr(0, nl);
  m_pending.erase(0, nl + 1);
  const util::JsonValue reply = util::parse_json(m_parser, m_reply, {"Python bridge", 0});
  if (!reply.at("ok").as_bool()) {
    std::string message = "Python bridge: " + reply.at("error").as_string();
    if (reply.has_non_null("traceback")) {
      message += "\n" + reply.at("traceback").as_string();
    }
    throw Error(message);
  }
  return reply;
}

int PythonBridge::load(const PythonCode& code, const core::Definition& def) {
  util::JsonWriter out;
  out.begin_object().key("op").value("load").key("name").value(code.name);
  out.key("language").value(code.language).key("entry_point").value(code.entry_point);
  out.key("dps").value(code.dps);
  if (!code.library.empty()) {
    out.key("library").value(code.library.string());
  }
  out.key("sources").begin_array();
  for (const core::SourceFile& s : code.sources) {
    out.begin_object().key("path").value(s.path).key("content").value(s.content).end_object();
  }
  out.end_array().key("outputs").begin_array();
  for (const core::TensorSpec& t : def.outputs) {
    out.value(t.name);
  }
  out.end_array().key("output_dtypes").begin_array();
  for (const core::TensorSpec& t : def.outputs) {
    out.value(core::dtype_name(t.dtype));
  }
  out.end_array().end_object();
  return static_cast<int>(request(out.take()).at("id").as_int());
}

void PythonBridge::tensor_json(util::JsonWriter& out, core::DType dtype,
                               const std::vector<std::int64_t>& shape, CUdeviceptr ptr,
                               const std::string& file_name, bool is_output) {
  out.begin_object();
  if (ptr == 0) {
    out.key("none").value(true).end_object();
    return;
  }
  const std::size_t nbytes = tensor_bytes(dtype, shape);
  out.key("dtype").value(core::dtype_name(dtype)).key("shape").begin_array();
  for (std::int64_t d : shape) {
    out.value(d);
  }
  out.end_array().key("nbytes").value(static_cast<std::uint64_t>(nbytes));
  if (nbytes > 0 && m_ipc) {
    const IpcDriver& ipc = IpcDriver::get();
    CUdeviceptr base = 0;
    std::size_t size = 0;
    cuda::check(ipc.address_range(&base, &size, ptr), "cuMemGetAddressRange", __FILE__, __LINE__);
    CUipcMemHandle handle;
    cuda::check(ipc.get_handle(&handle, base), "cuIpcGetMemHandle", __FILE__, __LINE__);
    std::string hex;
    for (std::size_t i = 0; i < sizeof handle.reserved; ++i) {
      hex += fmt::format("{:02x}", static_cast<unsigned char>(handle.reserved[i]));
    }
    out.key("ipc").value(hex).key("offset").value(static_cast<std::uint64_t>(ptr - base));
  } else if (nbytes > 0) {
    const fs::path file = m_files / file_name;
    std::string bytes(nbytes, '\0');
    FIBKIT_CU(cuMemcpyDtoH(bytes.data(), ptr, nbytes));
    util::write_file_atomic(file, bytes);
    out.key("file").value(file.string());
    if (is_output) {
      m_file_outputs.emplace_back(file, ptr);
    }
  }
  out.end_object();
}

std::string PythonBridge::tensors_json(const core::Definition& def, const CallArgs& args,
                                       const std::vector<std::vector<std::int64_t>>& shapes) {
  m_file_outputs.clear();
  util::JsonWriter out;
  out.begin_object().key("inputs").begin_array();
  for (std::size_t i = 0; i < def.inputs.size(); ++i) {
    if (def.inputs[i].is_scalar()) {
      out.begin_object().key("scalar");
      core::write_scalar(out, args.scalars.at(i));
      out.end_object();
      continue;
    }
    tensor_json(out, def.inputs[i].dtype, shapes.at(i), args.inputs.at(i),
                fmt::format("in{}.bin", i), false);
  }
  out.end_array().key("outputs").begin_array();
  for (std::size_t o = 0; o < def.outputs.size() && o < args.outputs.size(); ++o) {
    tensor_json(out, def.outputs[o].dtype, shapes.at(def.inputs.size() + o), args.outputs[o],
                fmt::format("out{}.bin", o), true);
  }
  out.end_array().end_object();
  return out.take();
}

void PythonBridge::read_back_files() {
  for (const auto& [file, ptr] : m_file_outputs) {
    std::ifstream in(file, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    FIBKIT_CU(cuMemcpyHtoD(ptr, bytes.data(), bytes.size()));
  }
  m_file_outputs.clear();
}

void PythonBridge::call(int id, const core::Definition& def, const CallArgs& args,
                        const std::vector<std::vector<std::int64_t>>& shapes) {
  const std::string tensors = tensors_json(def, args, shapes);
  const util::JsonValue r =
      request(fmt::format(R"({{"op":"call","id":{},{})", id, std::string_view(tensors).substr(1)));
  read_back_files();
  if (r.has_non_null("status")) {
    throw OutputMismatch(r.at("status").as_string(), r.at("message").as_string());
  }
}

OwnTiming PythonBridge::time(int id, const core::Definition& def, const CallArgs& args,
                             const std::vector<std::vector<std::int64_t>>& shapes, int warmup,
                             int iterations, bool use_cupti) {
  const std::string tensors = tensors_json(def, args, shapes);
  const util::JsonValue r = request(
      fmt::format(R"({{"op":"time","id":{},"warmup":{},"iterations":{},"cupti":{},{})", id, warmup,
                  iterations, use_cupti ? "true" : "false", std::string_view(tensors).substr(1)));
  read_back_files();
  OwnTiming t;
  for (const util::JsonValue& v : r.at("samples_ms").items()) {
    t.samples_ms.push_back(v.as_double());
  }
  for (const util::JsonValue& v : r.at("kernels").items()) {
    t.kernels.push_back(v.as_string());
  }
  t.timer = r.at("timer").as_string();
  t.fallback = r.at("fallback").as_string();
  return t;
}

PythonRunnable::PythonRunnable(PythonBridge& bridge, int id, const core::Definition& definition)
    : m_bridge(bridge), m_id(id), m_definition(definition) {}

void PythonRunnable::prepare(const std::map<std::string, std::int64_t>& var_axes) {
  m_shapes.clear();
  for (const core::TensorSpec& t : m_definition.inputs) {
    m_shapes.push_back(t.is_scalar() ? std::vector<std::int64_t>{}
                                     : m_definition.concrete_shape(t, var_axes));
  }
  for (const core::TensorSpec& t : m_definition.outputs) {
    m_shapes.push_back(m_definition.concrete_shape(t, var_axes));
  }
}

void PythonRunnable::run(const CallArgs& args, CUstream stream) const {
  FIBKIT_CU(cuStreamSynchronize(stream)); // the inputs are written before the child reads them
  m_bridge.call(m_id, m_definition, args, m_shapes);
}

std::optional<OwnTiming> PythonRunnable::time_itself(const CallArgs& args, CUstream stream,
                                                     int warmup, int iterations,
                                                     bool use_cupti) const {
  FIBKIT_CU(cuStreamSynchronize(stream));
  return m_bridge.time(m_id, m_definition, args, m_shapes, warmup, iterations, use_cupti);
}

} // namespace fibkit::engine
