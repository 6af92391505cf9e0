// Process isolation for `fibkit verify` and `fibkit bench`: one piece of work (one solution on
// one workload) runs in a forked child process, so that an illegal address, a device trap, an
// abort or an endless loop in a user's kernel becomes a RUNTIME_ERROR or TIMEOUT result and the
// run goes on with the next workload.
//
// ============================================================================================
//  THE PARENT PROCESS MUST NEVER INITIALISE CUDA.
//
//  run_isolated() forks without exec. CUDA state (the driver's context, its threads, its
//  mappings of device memory) does not survive fork(): a child of a process that has called
//  cuInit() or any runtime API gets errors, or hangs. So the process that calls run_isolated()
//  must not have touched the driver (no cuInit, no context, no cuda::Driver calls that create
//  one), and every child initialises CUDA itself, from scratch, inside `work`.
//  NVRTC (cuda/nvrtc) does not create a context, but it may load libcuda into its caller, which
//  no fork can undo: commands that fork CUDA children (verify, bench) compile in those children
//  only; commands that never do (build, pack) compile in the parent.
// ============================================================================================
//
// Other rules that follow from fork without exec:
// - Only the calling thread exists in the child. Locks held by other threads of the parent at
//   the time of the fork stay locked there forever; `work` must not need them (a deadlock in the
//   child ends as a TIMEOUT, never as a hang of the parent).
// - The child ends with _exit(): no atexit handlers and no static destructors of the parent run
//   in it. Its C stdio buffers are flushed before that (stdout is line buffered in the child, so
//   what a crashing child printed up to its last newline is kept).
// - The child restores the default action of the fatal signals (SIGSEGV, SIGABRT, SIGBUS, SIGILL,
//   SIGFPE, SIGTRAP, SIGSYS), so handlers inherited from the parent (a test framework's,
//   a sanitizer's) do not turn a crash into an exit code; it reads stdin from /dev/null.
// - The child leads its own process group. Everything left in that group when the child ends,
//   or when the timeout strikes, is killed with SIGKILL: grandchildren do not outlive a run.
// - The parent must not set SIGCHLD to SIG_IGN (the child could not be waited for).
#pragma once

#include "fibkit/core/trace/trace.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace fibkit::engine {

/// What became of one isolated run.
struct IsolatedResult {
  enum class Outcome {
    ok,      ///< `work` returned; `payload` holds what it returned
    failed,  ///< `work` threw; `payload` holds the exception's what()
    crashed, ///< the child was killed by a signal (`signal_or_code` holds it)
    exited,  ///< the child exited (code in `signal_or_code`) without delivering a result
    timeout, ///< the timeout struck; the child's process group was killed
  };
  Outcome outcome = Outcome::exited;
  std::string payload;
  /// The signal number (crashed), the exit code (exited), or the signal or code the child ended
  /// with after the kill (timeout); 0 for ok and failed.
  int signal_or_code = 0;
  /// The child's stdout and stderr interleaved as written, cut at the log cap and then followed
  /// by kLogTruncatedMarker.
  std::string log;
  double seconds = 0.0; ///< wall time from fork to the child's reaping
};

/// The default cap on a child's log: 5 MiB, like the official harness.
inline constexpr std::size_t kDefaultLogCap = std::size_t{5} << 20;
/// Appended to a log cut at its cap.
inline constexpr const char* kLogTruncatedMarker = "\n\n[log truncated]\n";

/// Runs `work` in a forked child process and waits at most `timeout` for it (see the file
/// comment for the rules: above all, the calling process must never have initialised CUDA).
/// The child's file descriptors 1 and 2 go into a pipe that the parent reads into
/// IsolatedResult::log, keeping the first `log_cap` bytes; the result of `work` travels back
/// through a second pipe, so `work` may print anything. Payloads of many MiB are fine.
/// The parent's own stdout and stderr are left alone (their C and C++ buffers are flushed before
/// the fork so that the child does not print them again).
/// Throws fibkit::Error when no pipe or child process can be created.
IsolatedResult run_isolated(const std::function<std::string()>& work,
                            std::chrono::milliseconds timeout,
                            std::size_t log_cap = kDefaultLogCap);

/// A persistent isolated child that serves numbered pieces of work one at a time, so that
/// what is costly to set up (a CUDA context, loaded modules) is paid once for many workloads
/// rather than once each, with the same protection as run_isolated() (same rules: the calling
/// process must never have initialised CUDA). `serve(item)` runs in the child; state it keeps
/// (e.g. in variables its closure captured by reference) lives on in the child across items.
/// The child is started by the first run(), and again by the run() after one that did not
/// return `ok`: after a throw (the child ends itself, since its state may be broken: a CUDA
/// context after an illegal address is), a crash, an exit or a timeout (its group is killed).
/// Each result's `log` holds what the child printed since the previous result.
class IsolatedWorker {
public:
  using Serve = std::function<std::string(std::uint64_t item)>;

  explicit IsolatedWorker(Serve serve, std::size_t log_cap = kDefaultLogCap);
  ~IsolatedWorker(); ///< ends the child, if any, and its process group
  IsolatedWorker(const IsolatedWorker&) = delete;
  IsolatedWorker& operator=(const IsolatedWorker&) = delete;

  /// Serves `item` in the child, waiting at most `timeout` (which includes starting a child).
  /// Throws fibkit::Error when no pipe or child process can be created.
  IsolatedResult run(std::uint64_t item, std::chrono::milliseconds timeout);
  /// Ends the child now (the next run() starts a fresh one).
  void stop();
  /// How many children have been started.
  int starts() const { return m_starts; }

private:
  struct State;
  Serve m_serve;
  std::size_t m_log_cap;
  std::unique_ptr<State> m_state;
  int m_starts = 0;
};

/// "SIGSEGV", "SIGABRT", ...; "signal 42" for one without a name here.
std::string signal_name(int signal);

/// One line for the user: "ok", "error: <message>", "killed by SIGSEGV (segmentation fault)",
/// "exited with code 3 without a result", "timed out after 0.20 s".
std::string describe(const IsolatedResult& result);

/// The evaluation status of a run that did not deliver a result: failed, crashed and exited ->
/// RUNTIME_ERROR, timeout -> TIMEOUT. std::nullopt for ok (the caller judges the payload).
std::optional<core::EvaluationStatus> failure_status(const IsolatedResult& result);

/// "ok", "failed", "crashed", "exited", "timeout".
const char* outcome_name(IsolatedResult::Outcome outcome);

} // namespace fibkit::engine
