#include "common/status.h"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

using namespace cluster;

namespace {
StatusOr<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd number " + std::to_string(x));
  return x / 2;
}
StatusOr<int> Quarter(int x) {
  CLUSTER_ASSIGN_OR_RETURN(int h, Half(x));
  return Half(h);
}
Status CheckEven(int x) {
  CLUSTER_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}
}  // namespace

TEST_CASE("A default Status is OK and prints as OK") {
  Status s;
  CHECK(s.ok());
  CHECK(s.ToString() == "OK");
}

TEST_CASE("An error Status keeps its code and message, and context is prefixed") {
  Status s = NotFoundError("cluster.yaml: no such file");
  CHECK_FALSE(s.ok());
  CHECK(s.code() == StatusCode::kNotFound);
  CHECK(s.ToString() == "not_found: cluster.yaml: no such file");
  CHECK(s.WithContext("host gpu1").message() == "host gpu1: cluster.yaml: no such file");
  CHECK(s.WithContext("host gpu1").code() == StatusCode::kNotFound);
}

TEST_CASE("StatusOr carries a value or the error, and the macros pass errors up") {
  CHECK(*Quarter(8) == 2);
  StatusOr<int> odd = Quarter(6);  // 6 -> 3 -> odd
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.status().message() == "odd number 3");
  CHECK(CheckEven(4).ok());
  CHECK(CheckEven(5).code() == StatusCode::kInvalidArgument);
}

namespace {
// Runs `body` in a child process; returns how it ended and what it wrote to stderr.
struct ChildEnd {
  bool aborted = false;
  std::string err;
};
template <typename F>
ChildEnd RunInChild(F body) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(fds[1], 2);
    body();
    std::_Exit(0);
  }
  ::close(fds[1]);
  ChildEnd end;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) end.err.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  end.aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  return end;
}
}  // namespace

TEST_CASE("Reading the value of a failed StatusOr aborts with its Status, in release builds too") {
  // The test binaries are built with NDEBUG (RelWithDebInfo): an assert would
  // be compiled out here and the read would be undefined behaviour.
  ChildEnd end = RunInChild([] {
    StatusOr<std::string> failed = NotFoundError("cluster.yaml: no such file");
    std::fprintf(stdout, "%zu\n", failed.value().size());
  });
  CHECK(end.aborted);
  CHECK(end.err == "fatal: StatusOr::value() on an error: not_found: cluster.yaml: no such file\n");

  end = RunInChild([] {
    StatusOr<std::vector<int>> failed = InternalError("bug");
    std::fprintf(stdout, "%zu\n", (*failed).size());
  });
  CHECK(end.aborted);
  CHECK(end.err == "fatal: StatusOr::value() on an error: internal: bug\n");
}
