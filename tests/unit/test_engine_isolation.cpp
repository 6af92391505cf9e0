// Process isolation: results, crashes, exits, timeouts (with grandchildren), the child's log and
// its cap, and the parent's own output left alone. Runs everywhere (no GPU).
#include "fibkit/engine/isolation.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

using namespace fibkit;
using engine::IsolatedResult;
using Outcome = engine::IsolatedResult::Outcome;
using namespace std::chrono_literals;

namespace {

// A process is gone once kill() no longer finds it, or it is a zombie waiting for its new
// parent (init in a container may be slow to reap it).
bool process_gone(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (std::getline(stat, line)) {
      auto paren = line.rfind(')');
      if (paren != std::string::npos && paren + 2 < line.size() &&
          (line[paren + 2] == 'Z' || line[paren + 2] == 'X')) {
        return true;
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// Forks a grandchild that sleeps forever and returns its pid (in the child).
pid_t spawn_sleeping_grandchild() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) {
      ::pause();
    }
  }
  return pid;
}

} // namespace

TEST_CASE("isolation: a result comes back as the payload", "[engine][isolation]") {
  auto result = engine::run_isolated([] { return std::string("hello from the child"); }, 10s);
  CHECK(result.outcome == Outcome::ok);
  CHECK(result.payload == "hello from the child");
  CHECK(result.signal_or_code == 0);
  CHECK(result.log.empty());
  CHECK(result.seconds >= 0.0);
  CHECK(engine::describe(result) == "ok");
  CHECK_FALSE(engine::failure_status(result).has_value());
}

TEST_CASE("isolation: a payload of 8 MiB (with NUL bytes) arrives whole", "[engine][isolation]") {
  std::string big(std::size_t{8} << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>((i * 131) % 251);
  }
  auto result = engine::run_isolated(
      [&] {
        std::printf("sending %zu bytes\n", big.size());
        return big;
      },
      30s);
  REQUIRE(result.outcome == Outcome::ok);
  CHECK(result.payload.size() == big.size());
  CHECK(result.payload == big);
  CHECK(result.log == "sending 8388608 bytes\n");
}

TEST_CASE("isolation: an exception is a failed run with its message", "[engine][isolation]") {
  auto result = engine::run_isolated(
      []() -> std::string { throw std::runtime_error("CUDA error: an illegal memory access"); },
      10s);
  CHECK(result.outcome == Outcome::failed);
  CHECK(result.payload == "CUDA error: an illegal memory access");
  CHECK(engine::describe(result) == "error: CUDA error: an illegal memory access");
  CHECK(engine::failure_status(result) == core::EvaluationStatus::runtime_error);

  auto odd = engine::run_isolated([]() -> std::string { throw 42; }, 10s);
  CHECK(odd.outcome == Outcome::failed);
  CHECK(odd.payload == "unknown exception");
}

TEST_CASE("isolation: abort() is a crash with SIGABRT and the log kept", "[engine][isolation]") {
  auto result = engine::run_isolated(
      []() -> std::string {
        std::printf("printed before the abort\n");
        std::fprintf(stderr, "assertion failed somewhere\n");
        std::abort();
      },
      10s);
  CHECK(result.outcome == Outcome::crashed);
  CHECK(result.signal_or_code == SIGABRT);
  CHECK(result.log == "printed before the abort\nassertion failed somewhere\n");
  CHECK(engine::describe(result) == "killed by SIGABRT (aborted)");
  CHECK(engine::failure_status(result) == core::EvaluationStatus::runtime_error);
}

TEST_CASE("isolation: a segmentation fault is a crash with SIGSEGV", "[engine][isolation]") {
  // raise() rather than a real null dereference: the same signal, and safe under sanitizers
  // (the child restores the default action, so a sanitizer's handler does not turn it into an
  // exit code).
  auto result = engine::run_isolated(
      []() -> std::string {
        std::raise(SIGSEGV);
        return "not reached";
      },
      10s);
  CHECK(result.outcome == Outcome::crashed);
  CHECK(result.signal_or_code == SIGSEGV);
  CHECK(result.payload.empty());
  CHECK(engine::describe(result) == "killed by SIGSEGV (segmentation fault)");
}

TEST_CASE("isolation: exiting without a result is `exited` with the code", "[engine][isolation]") {
  auto three = engine::run_isolated(
      []() -> std::string {
        std::printf("leaving early\n");
        std::fflush(stdout);
        ::_exit(3);
      },
      10s);
  CHECK(three.outcome == Outcome::exited);
  CHECK(three.signal_or_code == 3);
  CHECK(three.log == "leaving early\n");
  CHECK(engine::describe(three) == "exited with code 3 without a result");
  CHECK(engine::failure_status(three) == core::EvaluationStatus::runtime_error);

  // Exit code 0 is no result either.
  auto zero = engine::run_isolated([]() -> std::string { ::_exit(0); }, 10s);
  CHECK(zero.outcome == Outcome::exited);
  CHECK(zero.signal_or_code == 0);
}

TEST_CASE("isolation: an endless loop times out and is killed", "[engine][isolation]") {
  auto result = engine::run_isolated(
      []() -> std::string {
        volatile unsigned long spin = 0;
        for (;;) {
          spin = spin + 1;
        }
      },
      200ms);
  CHECK(result.outcome == Outcome::timeout);
  CHECK(result.signal_or_code == SIGKILL);
  CHECK(result.seconds >= 0.19);
  CHECK(result.seconds < 1.0);
  CHECK(engine::failure_status(result) == core::EvaluationStatus::timeout);
  CHECK(engine::describe(result).rfind("timed out after 0.", 0) == 0);
}

TEST_CASE("isolation: the timeout kills grandchildren too", "[engine][isolation]") {
  auto result = engine::run_isolated(
      []() -> std::string {
        pid_t grandchild = spawn_sleeping_grandchild();
        std::printf("grandchild %d\n", static_cast<int>(grandchild));
        for (;;) {
          ::pause();
        }
      },
      300ms);
  CHECK(result.outcome == Outcome::timeout);
  CHECK(result.seconds < 1.5);
  REQUIRE(result.log.rfind("grandchild ", 0) == 0);
  pid_t grandchild = static_cast<pid_t>(std::stol(result.log.substr(11)));
  REQUIRE(grandchild > 0);
  CHECK(process_gone(grandchild));
}

TEST_CASE("isolation: grandchildren left behind by a finished child are killed",
          "[engine][isolation]") {
  // The grandchild holds the log pipe open: the parent must not wait for it.
  auto result = engine::run_isolated(
      [] { return std::to_string(static_cast<int>(spawn_sleeping_grandchild())); }, 10s);
  REQUIRE(result.outcome == Outcome::ok);
  CHECK(result.seconds < 1.5);
  pid_t grandchild = static_cast<pid_t>(std::stol(result.payload));
  REQUIRE(grandchild > 0);
  CHECK(process_gone(grandchild));
}

TEST_CASE("isolation: the log is cut at its cap with a marker", "[engine][isolation]") {
  SECTION("a small cap") {
    auto result = engine::run_isolated(
        [] {
          std::string line(99, 'x');
          for (int i = 0; i < 100; ++i) {
            std::printf("%s\n", line.c_str());
          }
          return std::string("done");
        },
        10s, 1000);
    CHECK(result.outcome == Outcome::ok);
    CHECK(result.payload == "done");
    std::string expected;
    for (int i = 0; i < 10; ++i) {
      expected += std::string(99, 'x') + "\n";
    }
    CHECK(result.log == expected + "\n\n[log truncated]\n");
  }
  SECTION("a chatty child (16 MiB) does not block and gets the default 5 MiB cap") {
    auto result = engine::run_isolated(
        [] {
          std::string chunk(1 << 16, 'y');
          for (int i = 0; i < 256; ++i) {
            std::fwrite(chunk.data(), 1, chunk.size(), stdout);
          }
          return std::string("done");
        },
        30s);
    CHECK(result.outcome == Outcome::ok);
    CHECK(result.payload == "done");
    CHECK(result.log.size() == engine::kDefaultLogCap + std::strlen(engine::kLogTruncatedMarker));
    CHECK(result.log.substr(engine::kDefaultLogCap) == engine::kLogTruncatedMarker);
  }
  SECTION("a log exactly at the cap is not marked") {
    auto result = engine::run_isolated(
        [] {
          std::fputs("0123456789", stdout);
          return std::string();
        },
        10s, 10);
    CHECK(result.log == "0123456789");
  }
}

TEST_CASE("isolation: stdout and stderr are both captured, in order", "[engine][isolation]") {
  auto result = engine::run_isolated(
      [] {
        std::printf("stdio out\n");
        std::fprintf(stderr, "stdio err\n");
        std::cout << "iostream out" << std::endl;
        std::cerr << "iostream err\n";
        const char raw[] = "raw fd 1\n";
        if (::write(1, raw, sizeof raw - 1) < 0) {
          return std::string("write failed");
        }
        std::printf("no newline at the end");
        return std::string("ok");
      },
      10s);
  CHECK(result.outcome == Outcome::ok);
  CHECK(result.payload == "ok");
  CHECK(result.log == "stdio out\nstdio err\niostream out\niostream err\nraw fd 1\n"
                      "no newline at the end");
}

TEST_CASE("isolation: the parent's own stdout and stderr are untouched", "[engine][isolation]") {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  char path_template[] = "/tmp/fibkit-isolation-XXXXXX";
  int file = ::mkstemp(path_template);
  REQUIRE(file >= 0);
  int saved_out = ::dup(1);
  int saved_err = ::dup(2);
  REQUIRE(saved_out >= 0);
  REQUIRE(saved_err >= 0);
  ::dup2(file, 1);
  ::dup2(file, 2);

  auto ok = engine::run_isolated(
      [] {
        std::printf("child stdout\n");
        std::fprintf(stderr, "child stderr\n");
        return std::string("fine");
      },
      10s);
  auto crashed = engine::run_isolated(
      []() -> std::string {
        std::printf("about to crash\n");
        std::abort();
      },
      10s);

  std::fflush(nullptr);
  ::dup2(saved_out, 1);
  ::dup2(saved_err, 2);
  ::close(saved_out);
  ::close(saved_err);
  off_t written = ::lseek(file, 0, SEEK_END);
  ::close(file);
  ::unlink(path_template);

  CHECK(written == 0);
  CHECK(ok.log == "child stdout\nchild stderr\n");
  CHECK(crashed.log == "about to crash\n");
}

TEST_CASE("isolation: a child that closes its pipes early", "[engine][isolation]") {
  SECTION("stdout and stderr closed: the result still comes back") {
    auto result = engine::run_isolated(
        [] {
          std::printf("before closing\n");
          std::fflush(stdout);
          ::close(1);
          ::close(2);
          return std::string("still here");
        },
        10s);
    CHECK(result.outcome == Outcome::ok);
    CHECK(result.payload == "still here");
    CHECK(result.log == "before closing\n");
  }
  SECTION("every descriptor closed: no result, no hang") {
    auto result = engine::run_isolated(
        [] {
          for (int fd = 0; fd < 1024; ++fd) {
            ::close(fd);
          }
          return std::string("lost");
        },
        10s);
    CHECK(result.outcome == Outcome::exited);
    CHECK(result.signal_or_code != 0);
    CHECK(result.seconds < 5.0);
  }
}

namespace {
volatile std::sig_atomic_t alarms = 0;
void count_alarm(int) {
  alarms = alarms + 1;
}
} // namespace

TEST_CASE("isolation: signals to the parent (EINTR) do not disturb a run", "[engine][isolation]") {
  struct sigaction action {};
  action.sa_handler = count_alarm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0; // no SA_RESTART: poll, read and waitpid see EINTR
  struct sigaction previous {};
  REQUIRE(::sigaction(SIGALRM, &action, &previous) == 0);
  itimerval timer{};
  timer.it_interval.tv_usec = 2000;
  timer.it_value.tv_usec = 2000;
  REQUIRE(::setitimer(ITIMER_REAL, &timer, nullptr) == 0);

  std::string big(std::size_t{2} << 20, 'p');
  auto result = engine::run_isolated(
      [&] {
        std::this_thread::sleep_for(150ms);
        std::string chunk(1 << 16, 'l');
        for (int i = 0; i < 16; ++i) {
          std::fwrite(chunk.data(), 1, chunk.size(), stdout);
        }
        return big;
      },
      10s);

  itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGALRM, &previous, nullptr);

  CHECK(alarms > 0);
  REQUIRE(result.outcome == Outcome::ok);
  CHECK(result.payload == big);
  CHECK(result.log.size() == std::size_t{16} << 16);
}

TEST_CASE("isolation: names and statuses", "[engine][isolation]") {
  CHECK(engine::signal_name(SIGSEGV) == "SIGSEGV");
  CHECK(engine::signal_name(SIGBUS) == "SIGBUS");
  CHECK(engine::signal_name(SIGILL) == "SIGILL");
  CHECK(engine::signal_name(SIGTRAP) == "SIGTRAP");
  CHECK(engine::signal_name(SIGKILL) == "SIGKILL");
  CHECK(engine::signal_name(63) == "signal 63");

  IsolatedResult r;
  r.outcome = Outcome::crashed;
  r.signal_or_code = SIGBUS;
  CHECK(engine::describe(r) == "killed by SIGBUS (bus error)");
  r.signal_or_code = SIGILL;
  CHECK(engine::describe(r) == "killed by SIGILL (illegal instruction)");
  r.signal_or_code = SIGTRAP;
  CHECK(engine::describe(r) == "killed by SIGTRAP (trace/breakpoint trap)");
  r.signal_or_code = 63;
  CHECK(engine::describe(r) == "killed by signal 63");
  r.outcome = Outcome::timeout;
  r.seconds = 0.2049;
  CHECK(engine::describe(r) == "timed out after 0.20 s");

  CHECK(core::status_name(*engine::failure_status(r)) == "TIMEOUT");
  for (auto outcome : {Outcome::failed, Outcome::crashed, Outcome::exited}) {
    r.outcome = outcome;
    CHECK(core::status_name(*engine::failure_status(r)) == "RUNTIME_ERROR");
  }
  CHECK(std::string(engine::outcome_name(Outcome::exited)) == "exited");
}

// ---------------------------------------------------------------------------------------------
// IsolatedWorker: one child for many items, restarted after a failure.

TEST_CASE("worker: items share the child's state and its process", "[engine][isolation]") {
  int served = 0; // lives in the child: the parent's copy stays 0
  engine::IsolatedWorker worker([&](std::uint64_t item) {
    ++served;
    std::printf("item %llu\n", static_cast<unsigned long long>(item));
    return fmt::format("{} {} {}", item, served, ::getpid());
  });
  std::string pid;
  for (std::uint64_t item = 0; item < 5; ++item) {
    const IsolatedResult r = worker.run(item, 10s);
    REQUIRE(r.outcome == Outcome::ok);
    std::istringstream in(r.payload);
    std::uint64_t got = 0;
    int count = 0;
    std::string child_pid;
    in >> got >> count >> child_pid;
    CHECK(got == item);
    CHECK(count == static_cast<int>(item) + 1);
    CHECK(child_pid != std::to_string(::getpid()));
    if (item == 0) {
      pid = child_pid;
    }
    CHECK(child_pid == pid);
    CHECK(r.log == fmt::format("item {}\n", item)); // only this item's output
  }
  CHECK(served == 0);
  CHECK(worker.starts() == 1);
}

TEST_CASE("worker: a throw, a crash and a timeout each end the child; the next item starts a "
          "fresh one",
          "[engine][isolation]") {
  int served = 0;
  engine::IsolatedWorker worker([&](std::uint64_t item) -> std::string {
    ++served;
    switch (item) {
    case 1:
      throw std::runtime_error("CUDA error: an illegal memory access");
    case 2:
      std::printf("about to crash\n");
      std::abort();
    case 3:
      for (;;) {
        ::usleep(1000);
      }
    default:
      return std::to_string(served);
    }
  });
  CHECK(worker.run(0, 10s).payload == "1");
  const IsolatedResult thrown = worker.run(1, 10s);
  CHECK(thrown.outcome == Outcome::failed);
  CHECK(thrown.payload == "CUDA error: an illegal memory access");
  CHECK(worker.run(0, 10s).payload == "1"); // a fresh child: its count starts again
  const IsolatedResult crashed = worker.run(2, 10s);
  CHECK(crashed.outcome == Outcome::crashed);
  CHECK(crashed.signal_or_code == SIGABRT);
  CHECK(crashed.log == "about to crash\n");
  CHECK(worker.run(0, 10s).payload == "1");
  CHECK(worker.run(0, 10s).payload == "2");
  const IsolatedResult hung = worker.run(3, 300ms);
  CHECK(hung.outcome == Outcome::timeout);
  CHECK(hung.seconds < 2.0);
  CHECK(worker.run(0, 10s).payload == "1");
  CHECK(worker.starts() == 4);
}

TEST_CASE("worker: a child that exits on its own is reported as exited", "[engine][isolation]") {
  engine::IsolatedWorker worker([](std::uint64_t item) -> std::string {
    if (item == 7) {
      ::_exit(5);
    }
    return "fine";
  });
  CHECK(worker.run(1, 10s).outcome == Outcome::ok);
  const IsolatedResult gone = worker.run(7, 10s);
  CHECK(gone.outcome == Outcome::exited);
  CHECK(gone.signal_or_code == 5);
  CHECK(worker.run(1, 10s).payload == "fine");
  worker.stop();
  CHECK(worker.run(1, 10s).payload == "fine");
  CHECK(worker.starts() == 3);
}
