// Running helper programs to completion, bounded when asked.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "common/subprocess.h"

using cluster::RunProcessWithin;

TEST_CASE("a bounded run returns the program's output and exit code when it finishes in time") {
  auto r = RunProcessWithin({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10000);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 3);
  CHECK(r->out == "out\n");
  CHECK(r->err == "err\n");
}

TEST_CASE("a program that hangs is killed and the run says it did not finish in time") {
  // Its background child keeps the output open too: the deadline still holds.
  const auto start = std::chrono::steady_clock::now();
  auto r = RunProcessWithin({"sh", "-c", "sleep 30 & echo $!; sleep 30"}, 500);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == cluster::StatusCode::kDeadlineExceeded);
  CHECK(r.status().message() == "sh did not finish within 0.5 s");
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("a child gets no descriptor of ours beyond 0-2 and none of the loader's variables") {
  // A descriptor opened without O_CLOEXEC (as some libraries open theirs)
  // and a loader variable in our environment: neither may reach a child.
  const int leaked = ::open("/dev/null", O_RDONLY);
  REQUIRE(leaked > 2);
  ::setenv("LD_LIBRARY_PATH", "/tmp/evil", 1);
  ::setenv("CLUSTER_TEST_KEPT", "yes", 1);
  cluster::SpawnOptions options;
  options.env["GLOO_SOCKET_IFNAME"] = "lo";
  auto child = cluster::Subprocess::Start(
      {"sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; env | grep -E '^(LD_|CLUSTER_TEST|GLOO)' | sort"},
      options);
  ::unsetenv("LD_LIBRARY_PATH");
  ::unsetenv("CLUSTER_TEST_KEPT");
  ::close(leaked);
  REQUIRE(child.ok());
  child->CloseStdin();
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(child->stdout_fd(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  CHECK(child->Wait() == 0);
  // 0-2, and the descriptor `ls` opens to read /proc/self/fd.
  CHECK(out == "0 1 2 3 \nCLUSTER_TEST_KEPT=yes\nGLOO_SOCKET_IFNAME=lo\n");
}

TEST_CASE("a child started without a stdin pipe reads /dev/null, never our terminal") {
  cluster::SpawnOptions options;
  options.pipe_stdin = false;
  auto child = cluster::Subprocess::Start({"sh", "-c", "readlink /proc/self/fd/0"}, options);
  REQUIRE(child.ok());
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(child->stdout_fd(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  CHECK(child->Wait() == 0);
  CHECK(out == "/dev/null\n");
}

TEST_CASE("a child starts with default signal handling and no signal blocked, whatever ours are") {
  // A server ignores SIGPIPE and its I/O threads block signals: a child
  // that inherited either would not die of a closed pipe or of SIGTERM.
  struct sigaction ignore {}, old_pipe {}, old_term {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &old_pipe);
  ::sigaction(SIGTERM, &ignore, &old_term);
  sigset_t blocked, old_mask;
  ::sigemptyset(&blocked);
  ::sigaddset(&blocked, SIGUSR1);
  ::sigaddset(&blocked, SIGHUP);
  ::pthread_sigmask(SIG_BLOCK, &blocked, &old_mask);
  auto child = cluster::Subprocess::Start({"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"});
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  REQUIRE(child.ok());
  child->CloseStdin();
  std::string out;
  char buf[256];
  for (ssize_t n; (n = ::read(child->stdout_fd(), buf, sizeof buf)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  CHECK(child->Wait() == 0);
  CHECK(out == "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
}

TEST_CASE("a program that cannot be run is NotFound with the reason") {
  auto child = cluster::Subprocess::Start({"/nonexistent/program"});
  REQUIRE_FALSE(child.ok());
  CHECK(child.status().code() == cluster::StatusCode::kNotFound);
  CHECK(child.status().message() == "cannot run /nonexistent/program: No such file or directory");
}
