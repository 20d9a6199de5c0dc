// What the communication tests share: ranks as child processes, a free
// loopback port, and tensors in host memory.
//
// Ranks run as forked children of the test process, each with its own
// sockets and threads (fork before the parent starts any thread). A child
// runs the body for its rank with stdout and stderr going to a pipe the
// parent reads, and exits with the body's return code. Children still
// running when the RankProcesses object goes away are killed (SIGKILL) and
// reaped: no test leaves a process behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/subprocess.h"
#include "engine/tensor.h"

namespace engine::testing {

struct RankOutcome {
  int exit_code = -1;  // 128 + signal when killed; -1 when still running at the deadline (then killed)
  std::string output;  // stdout and stderr together
  double seconds = 0;  // from start to exit
};

class RankProcesses {
 public:
  RankProcesses(int count, const std::function<int(int rank)>& body);
  ~RankProcesses();
  RankProcesses(const RankProcesses&) = delete;
  RankProcesses& operator=(const RankProcesses&) = delete;

  pid_t pid(int rank) const { return children_[static_cast<std::size_t>(rank)].pid; }
  // Reads the children's output until `rank`'s contains `text`; false at the timeout.
  bool WaitForOutput(int rank, std::string_view text, std::chrono::milliseconds timeout);
  void Signal(int rank, int signal);
  // Waits for every child to exit, at most `timeout` (the rest are killed
  // then, and their exit_code is -1).
  std::vector<RankOutcome> Wait(std::chrono::milliseconds timeout);
  // Seconds since the children started.
  double Elapsed() const;

 private:
  struct Child {
    pid_t pid = -1;
    int out = -1;  // read end of its output pipe
    bool exited = false;
    RankOutcome outcome;
  };
  void Pump(int timeout_ms);  // reads available output, reaps exited children
  std::vector<Child> children_;
  std::chrono::steady_clock::time_point start_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();
// "127.0.0.1:PORT" with a free port.
std::string FreeAddress();

// Runs the ranks of a world as processes at once, rank r with `argv(r)`,
// each bounded to `timeout_ms`; their results in rank order, or the first
// error starting one.
cluster::StatusOr<std::vector<cluster::ProcessResult>> RunRanksWithin(
    int ranks, const std::function<std::vector<std::string>(int rank)>& argv, int timeout_ms);

// Tensors in host memory (this test's own storage; no backend).
Tensor HostTensor(const Shape& shape, DType dtype);
Tensor HostF32(const std::vector<float>& values, const Shape& shape);
std::vector<float> F32Values(const Tensor& tensor);

}  // namespace engine::testing
