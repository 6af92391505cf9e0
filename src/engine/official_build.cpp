#include "fibkit/engine/official_build.hpp"

#include "fibkit/util/env.hpp"
#include "fibkit/util/error.hpp"
#include "fibkit/util/file.hpp"
#include "fibkit/util/hash.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace fibkit::engine {

namespace {

// Runs argv (PATH lookup), stdout and stderr together into `output`; returns the exit status.
int run_process(const std::vector<std::string>& argv, std::string& output) {
  int fds[2];
  if (::pipe(fds) != 0) {
    throw Error("pipe() failed");
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    throw Error("fork() failed");
  }
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s\n", args[0]);
    ::_exit(127);
  }
  ::close(fds[1]);
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) {
    output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    out += (out.empty() ? "" : " ") + a;
  }
  return out;
}

fs::path cuda_home() {
  return find_cuda_toolkit().home;
}

// The official builder's link flags for CUDA: the first folder that holds libcudart.so.
fs::path cuda_lib_dir(const fs::path& home) {
  for (const char* sub : {"targets/x86_64-linux/lib", "lib64", "lib"}) {
    std::error_code ec;
    if (fs::exists(home / sub / "libcudart.so", ec)) {
      return home / sub;
    }
  }
  return home / "lib64";
}

// "sm_90a" / "sm_90" / "9.0a" -> the -gencode flags the builder passes for it.
std::vector<std::string> gencode_flags(const std::string& arch) {
  std::vector<std::string> out;
  const std::string list = util::env_var("TVM_FFI_CUDA_ARCH_LIST");
  if (!list.empty()) {
    std::size_t start = 0;
    while (start < list.size()) {
      const std::size_t end = std::min(list.find(' ', start), list.size());
      std::string item = list.substr(start, end - start);
      item.erase(std::remove(item.begin(), item.end(), '.'), item.end());
      if (!item.empty()) {
        out.push_back(fmt::format("-gencode=arch=compute_{},code=sm_{}", item, item));
      }
      start = end + 1;
    }
    return out;
  }
  std::string number = arch.rfind("sm_", 0) == 0 ? arch.substr(3) : arch;
  while (!number.empty() && !std::isdigit(static_cast<unsigned char>(number.back()))) {
    number.pop_back(); // the builder's nvidia-smi rule gives the plain arch
  }
  out.push_back(fmt::format("-gencode=arch=compute_{},code=sm_{}", number, number));
  return out;
}

std::string package_name(const core::Solution& s, const std::string& digest) {
  std::string name;
  for (const char c : s.name) {
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) {
    name = "_" + name;
  }
  return "tvm_ffi_" + name + "_" + digest.substr(0, 12);
}

} // namespace

CudaToolkit find_cuda_toolkit() {
  if (const fs::path nvcc = util::find_on_path("nvcc"); !nvcc.empty()) {
    std::error_code ec;
    const fs::path real = fs::canonical(nvcc, ec);
    return {(ec ? nvcc : real).parent_path().parent_path(), "nvcc on the PATH"};
  }
  for (const char* name : {"CUDA_HOME", "CUDA_PATH"}) {
    std::error_code ec;
    if (const std::string home = util::env_var(name);
        !home.empty() && fs::exists(fs::path(home) / "bin" / "nvcc", ec)) {
      return {home, std::string("$") + name};
    }
  }
  std::error_code ec;
  if (fs::exists("/usr/local/cuda/bin/nvcc", ec)) {
    return {"/usr/local/cuda", "default"};
  }
  throw Error("no nvcc: building an official CUDA solution needs the CUDA toolkit's nvcc on the "
              "PATH (or CUDA_HOME)");
}

TvmFfiInstall find_tvm_ffi() {
  TvmFfiInstall t;
  if (const std::string inc = util::env_var("TVM_FFI_INCLUDE_DIR"),
      lib = util::env_var("TVM_FFI_LIBRARY");
      !inc.empty() && !lib.empty()) {
    t.include_dir = inc;
    t.dlpack_include_dir = inc;
    t.library = lib;
    return t;
  }
  std::string python = util::env_var("FIBKIT_PYTHON");
  if (python.empty()) {
    python = "python3";
  }
  std::string out;
  const int rc = run_process({python, "-c",
                              "import tvm_ffi.libinfo as l; print(l.find_include_path()); "
                              "print(l.find_dlpack_include_path()); print(l.find_libtvm_ffi())"},
                             out);
  std::vector<std::string> lines;
  for (std::size_t start = 0; start < out.size();) {
    const std::size_t end = std::min(out.find('\n', start), out.size());
    lines.push_back(out.substr(start, end - start));
    start = end + 1;
  }
  if (rc != 0 || lines.size() < 3) {
    throw Error(fmt::format("tvm-ffi not found: running an official CUDA solution needs the "
                            "apache-tvm-ffi Python package (pip install apache-tvm-ffi) for {} "
                            "(FIBKIT_PYTHON picks another interpreter), or TVM_FFI_INCLUDE_DIR "
                            "and TVM_FFI_LIBRARY:\n{}",
                            python, out));
  }
  t.include_dir = lines[0];
  t.dlpack_include_dir = lines[1];
  t.library = lines[2];
  return t;
}

OfficialBuild build_official(const core::Solution& s, const std::string& arch,
                             const fs::path& cache_dir) {
  if ((s.spec.language != "cuda" && s.spec.language != "cpp") ||
      (s.spec.binding && *s.spec.binding != "tvm-ffi")) {
    throw Error(fmt::format("solution \"{}\" is {} with binding {}: fibkit runs official "
                            "solutions of language cuda or cpp with the TVM-FFI binding",
                            s.name, s.spec.language, s.spec.binding.value_or("null")));
  }
  OfficialBuild out;
  out.symbol = s.entry_symbol();
  out.tvm_ffi = find_tvm_ffi();
  const fs::path home = cuda_home();
  const std::vector<std::string> gencode = gencode_flags(arch);

  util::Hasher key;
  key.update("fibkit-official-build-1").update(s.definition).update(s.spec.language);
  key.update(s.spec.entry_point).update(out.tvm_ffi.library.string());
  for (const std::string& g : gencode) {
    key.update(g);
  }
  for (const core::SourceFile& f : s.sources) {
    key.update(f.path).update(f.content);
  }
  const std::string pkg = package_name(s, key.hex_digest());
  const fs::path dir = cache_dir / "official" / pkg;
  out.library = dir / (pkg + ".so");
  std::error_code ec;
  out.preload.push_back(out.tvm_ffi.library);
  for (const char* lib : {"libcudart.so", "libcublas.so"}) {
    for (const fs::path& d : {cuda_lib_dir(home), home / "lib64"}) {
      if (fs::exists(d / lib, ec)) {
        out.preload.push_back(d / lib);
        break;
      }
    }
  }
  if (fs::exists(out.library, ec)) {
    out.cached = true;
    return out;
  }
  const fs::path work = cache_dir / "official" / (pkg + ".tmp" + std::to_string(::getpid()));
  fs::remove_all(work, ec);
  fs::create_directories(work);
  std::vector<fs::path> cpp_files;
  std::vector<fs::path> cuda_files;
  for (const core::SourceFile& f : s.sources) {
    util::write_file_atomic(work / f.path, f.content);
    const std::string ext = fs::path(f.path).extension().string();
    if (ext == ".cu") {
      cuda_files.push_back(work / f.path);
    } else if (ext == ".cpp" || ext == ".cc" || ext == ".cxx" || ext == ".c") {
      cpp_files.push_back(work / f.path);
    }
  }
  std::sort(cpp_files.begin(), cpp_files.end());
  std::sort(cuda_files.begin(), cuda_files.end());
  const std::vector<std::string> includes{"-I" + out.tvm_ffi.include_dir.string(),
                                          "-I" + out.tvm_ffi.dlpack_include_dir.string(),
                                          "-I" + work.string()};
  const std::string cxx = util::env_var("CXX").empty() ? "c++" : util::env_var("CXX");
  std::vector<std::string> objects;
  const auto run = [&](const std::vector<std::string>& argv) {
    std::string output;
    out.log += command_text(argv) + "\n";
    const int rc = run_process(argv, output);
    out.log += output;
    if (rc != 0) {
      fs::remove_all(work, ec);
      throw Error(fmt::format("building official solution \"{}\" failed (the official "
                              "evaluator's COMPILE_ERROR):\n{}",
                              s.name, out.log));
    }
  };
  for (std::size_t i = 0; i < cpp_files.size(); ++i) {
    std::vector<std::string> argv{cxx, "-std=c++17", "-fPIC", "-O2"};
    argv.insert(argv.end(), includes.begin(), includes.end());
    objects.push_back((work / fmt::format("cpp_{}.o", i)).string());
    argv.insert(argv.end(), {"-c", cpp_files[i].string(), "-o", objects.back()});
    run(argv);
  }
  for (std::size_t i = 0; i < cuda_files.size(); ++i) {
    std::vector<std::string> argv{(home / "bin" / "nvcc").string(), "-Xcompiler", "-fPIC",
                                  "-std=c++17", "-O2"};
    argv.insert(argv.end(), gencode.begin(), gencode.end());
    argv.insert(argv.end(), includes.begin(), includes.end());
    objects.push_back((work / fmt::format("cuda_{}.o", i)).string());
    argv.insert(argv.end(), {"-c", cuda_files[i].string(), "-o", objects.back()});
    run(argv);
  }
  std::vector<std::string> link{cxx};
  link.insert(link.end(), objects.begin(), objects.end());
  link.insert(link.end(), {"-shared", "-L" + out.tvm_ffi.library.parent_path().string(),
                           "-ltvm_ffi", "-L" + (home / "lib64").string(), "-lcudart"});
  if (!cuda_files.empty() ||
      std::any_of(s.spec.target_hardware.begin(), s.spec.target_hardware.end(),
                  [](const std::string& h) { return h == "cuda" || h == "CUDA"; })) {
    const fs::path lib = cuda_lib_dir(home);
    link.push_back("-L" + lib.string());
    if (!fs::exists(lib / "libcuda.so", ec) && fs::exists(lib / "stubs" / "libcuda.so", ec)) {
      link.push_back("-L" + (lib / "stubs").string()); // no driver here: its stub links
    }
    link.insert(link.end(), {"-lcuda", "-lcublas"});
  }
  const fs::path built = work / (pkg + ".so");
  link.insert(link.end(), {"-o", built.string()});
  run(link);
  fs::create_directories(dir.parent_path());
  fs::remove_all(dir, ec);
  fs::rename(work, dir);
  spdlog::debug("built official solution {} into {}", s.name, out.library.string());
  return out;
}

} // namespace fibkit::engine
