// Running helper programs to completion, bounded when asked.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
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
