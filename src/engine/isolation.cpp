#include "fibkit/engine/isolation.hpp"

#include "fibkit/util/error.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fibkit::engine {

namespace {

using Clock = std::chrono::steady_clock;

// The result message on the payload pipe: one kind byte, the length as 8 bytes (native order;
// both ends are the same binary), then the bytes.
constexpr char kKindResult = 'R';
constexpr char kKindError = 'E';
constexpr std::size_t kHeaderSize = 1 + sizeof(std::uint64_t);

// Exit codes of the child when fibkit's own plumbing fails there (the parent reports them as
// `exited`: no result came back).
constexpr int kChildPipeLost = 120;
constexpr int kChildInternal = 121;

// How long the parent keeps draining the pipes after the child ended and its group was killed
// (a process that left the group may still hold them).
constexpr auto kDrainGrace = std::chrono::milliseconds(1000);

// How often the parent looks at the child when the kernel offers no pidfd to poll.
constexpr int kPollSliceMs = 10;

std::string errno_text(const char* what) {
  return fmt::format("process isolation: {}: {}", what, std::strerror(errno));
}

void close_fd(int& fd) {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Child side. Everything here ends in _exit().

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Moves a descriptor above 2 so that dup2() onto 0, 1 and 2 cannot clobber it.
int move_above_stdio(int fd) {
  if (fd > 2) {
    return fd;
  }
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (moved < 0) {
    ::_exit(kChildInternal);
  }
  ::close(fd);
  return moved;
}

void flush_child_stdio() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(stdout);
  std::fflush(stderr);
}

// Puts the child in its own process group, restores the fatal signals, points stdin at
// /dev/null and fds 1 and 2 at the log pipe. Returns `keep` moved above the standard streams.
void setup_child(int log_w, std::initializer_list<int*> keep) {
  ::setpgid(0, 0);

  // Default actions for the fatal signals, nothing blocked: a crash is reported as the signal.
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGPIPE, SIGTERM}) {
    std::signal(sig, SIG_DFL);
  }
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);

  log_w = move_above_stdio(log_w);
  for (int* fd : keep) {
    *fd = move_above_stdio(*fd);
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) {
    ::dup2(devnull, 0);
    ::close(devnull);
  }
  if (::dup2(log_w, 1) < 0 || ::dup2(log_w, 2) < 0) {
    ::_exit(kChildInternal);
  }
  ::close(log_w);
  // The parent flushed its buffers before the fork; a pipe would make stdout fully buffered and
  // lose what a crashing child printed. A buffer of our own: glibc ignores the line-buffered
  // mode on a stream that already has a buffer in use when given none.
  static char stdout_buffer[BUFSIZ];
  std::setvbuf(stdout, stdout_buffer, _IOLBF, sizeof stdout_buffer);
  std::setvbuf(stderr, nullptr, _IONBF, 0);
}

// Runs `work`, flushes stdio and sends its result (or its exception's message) on `payload_w`.
// Returns false for an error result. Ends the child when the pipe is lost or `work` replaced it.
bool serve_one(const std::function<std::string()>& work, int payload_w) {
  // Remember which pipe the payload goes into: `work` might close the descriptor and reuse its
  // number for a file of its own.
  struct stat before {};
  if (::fstat(payload_w, &before) != 0) {
    ::_exit(kChildInternal);
  }

  char kind = kKindResult;
  std::string payload;
  try {
    try {
      payload = work();
    } catch (const std::exception& e) {
      kind = kKindError;
      payload = e.what();
    } catch (...) {
      kind = kKindError;
      payload = "unknown exception";
    }
  } catch (...) { // an allocation failure while handling the above
    flush_child_stdio();
    ::_exit(kChildInternal);
  }
  flush_child_stdio();

  struct stat after {};
  if (::fstat(payload_w, &after) != 0 || after.st_dev != before.st_dev ||
      after.st_ino != before.st_ino) {
    ::_exit(kChildPipeLost);
  }
  char header[kHeaderSize];
  header[0] = kind;
  std::uint64_t size = payload.size();
  std::memcpy(header + 1, &size, sizeof size);
  if (!write_all(payload_w, header, sizeof header) ||
      !write_all(payload_w, payload.data(), payload.size())) {
    ::_exit(kChildPipeLost);
  }
  return kind == kKindResult;
}

[[noreturn]] void child_main(const std::function<std::string()>& work, int log_w, int payload_w) {
  setup_child(log_w, {&payload_w});
  serve_one(work, payload_w);
  ::close(payload_w);
  ::_exit(0);
}

// A worker's child: serves the items asked for on `request_r` (8 bytes each) until the parent
// closes it, and ends after the first item that throws (its state may be broken: a CUDA
// context after an illegal address is).
[[noreturn]] void worker_main(const IsolatedWorker::Serve& serve, int log_w, int payload_w,
                              int request_r) {
  setup_child(log_w, {&payload_w, &request_r});
  for (;;) {
    std::uint64_t item = 0;
    std::size_t got = 0;
    while (got < sizeof item) {
      ssize_t n = ::read(request_r, reinterpret_cast<char*>(&item) + got, sizeof item - got);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        ::_exit(0); // the parent is done with this worker
      }
      got += static_cast<std::size_t>(n);
    }
    if (!serve_one([&] { return serve(item); }, payload_w)) {
      ::_exit(0);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Parent side.

// One pipe read by the parent, keeping at most `cap` bytes.
struct Reader {
  int fd = -1;
  std::string data;
  std::size_t cap = std::string::npos;
  bool overflow = false;

  // Reads what is there without blocking, at most ~1 MiB per call so that a chatty child
  // cannot keep the parent from looking at the clock. Closes the fd at EOF or on an error.
  void read_some() {
    char buffer[64 * 1024];
    for (int i = 0; i < 16 && fd >= 0; ++i) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          close_fd(fd);
        }
        return;
      }
      if (n == 0) {
        close_fd(fd);
        return;
      }
      std::size_t count = static_cast<std::size_t>(n);
      std::size_t room = cap - std::min(cap, data.size());
      if (count > room) {
        overflow = true;
        count = room;
      }
      data.append(buffer, count);
    }
  }
};

// Waits up to `wait_ms` (-1: no limit) for the readers and the pidfd, then reads what came.
void poll_once(Reader& log, Reader& payload, int pidfd, int wait_ms) {
  pollfd fds[3] = {{log.fd, POLLIN, 0}, {payload.fd, POLLIN, 0}, {pidfd, POLLIN, 0}};
  int n = ::poll(fds, 3, wait_ms);
  if (n <= 0) {
    return; // timeout, EINTR (the caller loops), or an error (the caller's clock ends it)
  }
  if (fds[0].revents != 0) {
    log.read_some();
  }
  if (fds[1].revents != 0) {
    payload.read_some();
  }
}

// True once the child has ended, without reaping it: while it is a zombie its pid, which is
// also its process group's id, cannot be reused, so killing the group stays safe.
bool child_ended(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  for (;;) {
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
      return info.si_pid != 0;
    }
    if (errno != EINTR) {
      return true; // ECHILD: nothing to wait for; waitpid below reports it
    }
  }
}

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd >= 0 ? static_cast<int>(fd) : -1;
#else
  (void)pid;
  return -1;
#endif
}

int ceil_ms(Clock::duration d) {
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::clamp<decltype(ms)>(ms, 0, 1 << 30));
}

struct Pipe {
  int r = -1;
  int w = -1;
  void open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw Error(errno_text("pipe"));
    }
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    close_fd(r);
    close_fd(w);
  }
};

} // namespace

namespace {

// A forked child seen from the parent: its pid (= its process group), the pipes it writes and,
// for a worker, the socket it reads its requests from.
struct Child {
  pid_t pid = -1;
  Reader log;
  Reader payload;
  int pidfd = -1;
  int request_w = -1;
  Clock::time_point started;
};

// Forks a child that runs `child_fn(log_w, payload_w, request_r)` (which must end in _exit);
// request_r is -1 unless `with_requests`.
Child spawn(const std::function<void(int, int, int)>& child_fn, bool with_requests,
            std::size_t log_cap) {
  Pipe log_pipe;
  Pipe payload_pipe;
  log_pipe.open();
  payload_pipe.open();
#ifdef F_SETPIPE_SZ
  ::fcntl(payload_pipe.w, F_SETPIPE_SZ, 1 << 20); // best effort: fewer wake-ups for big payloads
#endif
  int requests[2] = {-1, -1};
  // A socket rather than a pipe: send(MSG_NOSIGNAL) to a dead worker is an error, not SIGPIPE.
  if (with_requests && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, requests) != 0) {
    throw Error(errno_text("socketpair"));
  }

  // Whatever the parent has buffered would otherwise be written a second time by the child.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);

  Child c;
  c.started = Clock::now();
  c.pid = ::fork();
  if (c.pid < 0) {
    for (int& fd : requests) {
      close_fd(fd);
    }
    throw Error(errno_text("fork"));
  }
  if (c.pid == 0) {
    ::close(log_pipe.r);
    ::close(payload_pipe.r);
    if (requests[0] >= 0) {
      ::close(requests[0]);
    }
    child_fn(log_pipe.w, payload_pipe.w, requests[1]);
    ::_exit(kChildInternal);
  }
  ::setpgid(c.pid, c.pid); // as the child does: whichever runs first, the group exists after both
  close_fd(log_pipe.w);
  close_fd(payload_pipe.w);
  close_fd(requests[1]);
  c.request_w = requests[0];

  c.log.fd = log_pipe.r;
  c.log.cap = log_cap;
  log_pipe.r = -1; // the readers own these now
  c.payload.fd = payload_pipe.r;
  payload_pipe.r = -1;
  for (int fd : {c.log.fd, c.payload.fd}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  c.pidfd = open_pidfd(c.pid);
  return c;
}

// True once `data` holds one whole result message.
bool message_complete(const std::string& data) {
  if (data.size() < kHeaderSize) {
    return false;
  }
  std::uint64_t size = 0;
  std::memcpy(&size, data.data() + 1, sizeof size);
  return (data[0] == kKindResult || data[0] == kKindError) && data.size() - kHeaderSize == size;
}

// Reads the child's pipes until it ends, `done()` holds, or `deadline` passes (returns false).
template <typename Done> bool wait_for(Child& c, Clock::time_point deadline, Done done) {
  while (!done() && !child_ended(c.pid)) {
    auto now = Clock::now();
    if (now >= deadline) {
      return false;
    }
    int wait_ms = ceil_ms(deadline - now);
    if (c.pidfd < 0) {
      wait_ms = std::min(wait_ms, kPollSliceMs);
    }
    poll_once(c.log, c.payload, c.pidfd, wait_ms);
  }
  return true;
}

// Ends the child for good: kills its process group, reads what the pipes still hold, reaps it
// and says what became of the run from its exit status and the message it left.
IsolatedResult finish(Child& c, Clock::time_point start, bool timed_out) {
  // Kill what is left of the group: the child itself on a timeout, grandchildren always.
  ::kill(-c.pid, SIGKILL);
  if (timed_out) {
    ::kill(c.pid, SIGKILL);
  }
  close_fd(c.pidfd);
  close_fd(c.request_w);

  // Read what the pipes still hold, until both are closed by their last writer.
  const auto drain_deadline = Clock::now() + kDrainGrace;
  while (c.log.fd >= 0 || c.payload.fd >= 0) {
    auto now = Clock::now();
    if (now >= drain_deadline) {
      break;
    }
    poll_once(c.log, c.payload, -1, ceil_ms(drain_deadline - now));
  }
  close_fd(c.log.fd);
  close_fd(c.payload.fd);

  int status = 0;
  pid_t waited;
  do {
    waited = ::waitpid(c.pid, &status, 0);
  } while (waited < 0 && errno == EINTR);
  c.pid = -1;

  IsolatedResult result;
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.log = std::move(c.log.data);
  if (c.log.overflow) {
    result.log += kLogTruncatedMarker;
  }
  if (waited < 0) {
    throw Error(errno_text("waitpid"));
  }

  const bool signaled = WIFSIGNALED(status);
  const int code = signaled ? WTERMSIG(status) : WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  const bool complete = message_complete(c.payload.data);
  if (timed_out) {
    result.outcome = IsolatedResult::Outcome::timeout;
    result.signal_or_code = code;
  } else if (signaled) {
    result.outcome = IsolatedResult::Outcome::crashed;
    result.signal_or_code = code;
  } else if (code != 0 || !complete) {
    result.outcome = IsolatedResult::Outcome::exited;
    result.signal_or_code = code;
  } else {
    result.outcome = c.payload.data[0] == kKindResult ? IsolatedResult::Outcome::ok
                                                      : IsolatedResult::Outcome::failed;
    result.payload = c.payload.data.substr(kHeaderSize);
  }
  return result;
}

} // namespace

IsolatedResult run_isolated(const std::function<std::string()>& work,
                            std::chrono::milliseconds timeout, std::size_t log_cap) {
  Child c = spawn([&](int log_w, int payload_w, int) { child_main(work, log_w, payload_w); }, false,
                  log_cap);
  const bool ended = wait_for(c, c.started + timeout, [] { return false; });
  return finish(c, c.started, !ended);
}

struct IsolatedWorker::State {
  Child child;
};

IsolatedWorker::IsolatedWorker(Serve serve, std::size_t log_cap)
    : m_serve(std::move(serve)), m_log_cap(log_cap), m_state(std::make_unique<State>()) {}

IsolatedWorker::~IsolatedWorker() {
  stop();
}

void IsolatedWorker::stop() {
  if (m_state->child.pid > 0) {
    // Closing the request socket lets the child leave its loop; the kill ends it for sure.
    finish(m_state->child, Clock::now(), false);
  }
}

IsolatedResult IsolatedWorker::run(std::uint64_t item, std::chrono::milliseconds timeout) {
  const auto start = Clock::now();
  Child& c = m_state->child;
  if (c.pid <= 0) {
    c = spawn([this](int log_w, int payload_w,
                     int request_r) { worker_main(m_serve, log_w, payload_w, request_r); },
              true, m_log_cap);
    ++m_starts;
  }
  c.log.data.clear();
  c.log.overflow = false;
  c.payload.data.clear();
  const char* bytes = reinterpret_cast<const char*>(&item);
  std::size_t sent = 0;
  while (sent < sizeof item) {
    ssize_t n = ::send(c.request_w, bytes + sent, sizeof item - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break; // the child is gone: finish() below says how it ended
    }
    sent += static_cast<std::size_t>(n);
  }
  bool timed_out = false;
  if (sent == sizeof item) {
    timed_out = !wait_for(c, start + timeout, [&] { return message_complete(c.payload.data); });
  }
  const bool complete = !timed_out && message_complete(c.payload.data);
  if (complete && c.payload.data[0] == kKindResult) {
    c.log.read_some(); // what the child printed just before its result
    IsolatedResult result;
    result.outcome = IsolatedResult::Outcome::ok;
    result.payload = c.payload.data.substr(kHeaderSize);
    result.log = std::move(c.log.data);
    if (c.log.overflow) {
      result.log += kLogTruncatedMarker;
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
  }
  // An error result (the child ends after it), a crash, an exit or the timeout: the child is
  // finished and the next item starts a fresh one.
  if (complete) {
    wait_for(c, Clock::now() + kDrainGrace, [] { return false; }); // let it exit on its own
  }
  return finish(c, start, timed_out);
}

std::string signal_name(int signal) {
  switch (signal) {
  case SIGSEGV:
    return "SIGSEGV";
  case SIGABRT:
    return "SIGABRT";
  case SIGBUS:
    return "SIGBUS";
  case SIGILL:
    return "SIGILL";
  case SIGKILL:
    return "SIGKILL";
  case SIGTRAP:
    return "SIGTRAP";
  case SIGFPE:
    return "SIGFPE";
  case SIGTERM:
    return "SIGTERM";
  case SIGINT:
    return "SIGINT";
  case SIGPIPE:
    return "SIGPIPE";
  case SIGSYS:
    return "SIGSYS";
  case SIGXCPU:
    return "SIGXCPU";
  default:
    return fmt::format("signal {}", signal);
  }
}

namespace {

const char* signal_meaning(int signal) {
  switch (signal) {
  case SIGSEGV:
    return "segmentation fault";
  case SIGABRT:
    return "aborted";
  case SIGBUS:
    return "bus error";
  case SIGILL:
    return "illegal instruction";
  case SIGKILL:
    return "killed, e.g. out of memory";
  case SIGTRAP:
    return "trace/breakpoint trap";
  case SIGFPE:
    return "arithmetic exception";
  case SIGTERM:
    return "terminated";
  case SIGINT:
    return "interrupted";
  case SIGPIPE:
    return "broken pipe";
  case SIGSYS:
    return "bad system call";
  case SIGXCPU:
    return "CPU time limit exceeded";
  default:
    return nullptr;
  }
}

} // namespace

std::string describe(const IsolatedResult& result) {
  switch (result.outcome) {
  case IsolatedResult::Outcome::ok:
    return "ok";
  case IsolatedResult::Outcome::failed:
    return "error: " + result.payload;
  case IsolatedResult::Outcome::crashed: {
    const char* meaning = signal_meaning(result.signal_or_code);
    std::string text = "killed by " + signal_name(result.signal_or_code);
    return meaning != nullptr ? text + " (" + meaning + ")" : text;
  }
  case IsolatedResult::Outcome::exited:
    return fmt::format("exited with code {} without a result", result.signal_or_code);
  case IsolatedResult::Outcome::timeout:
    return fmt::format("timed out after {:.2f} s", result.seconds);
  }
  return "unknown outcome";
}

std::optional<core::EvaluationStatus> failure_status(const IsolatedResult& result) {
  switch (result.outcome) {
  case IsolatedResult::Outcome::ok:
    return std::nullopt;
  case IsolatedResult::Outcome::failed:
  case IsolatedResult::Outcome::crashed:
  case IsolatedResult::Outcome::exited:
    return core::EvaluationStatus::runtime_error;
  case IsolatedResult::Outcome::timeout:
    return core::EvaluationStatus::timeout;
  }
  return core::EvaluationStatus::runtime_error;
}

const char* outcome_name(IsolatedResult::Outcome outcome) {
  switch (outcome) {
  case IsolatedResult::Outcome::ok:
    return "ok";
  case IsolatedResult::Outcome::failed:
    return "failed";
  case IsolatedResult::Outcome::crashed:
    return "crashed";
  case IsolatedResult::Outcome::exited:
    return "exited";
  case IsolatedResult::Outcome::timeout:
    return "timeout";
  }
  return "unknown";
}

} // namespace fibkit::engine
