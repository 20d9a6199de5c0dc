// Child processes with pipes: the agent runs `docker`, LocalTransport runs the
// receiver on this machine, the test harness runs sshd and dockerd.
//
// Programs are run from an argv (no shell unless the caller names one), with
// stdin/stdout/stderr connected to pipes owned by the Subprocess object.
// A Subprocess is owned by one thread at a time.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace cluster {

class Subprocess {
 public:
  struct Options {
    bool pipe_stdin = true;
    bool pipe_stdout = true;
    bool pipe_stderr = true;  // false: inherit ours
    bool new_process_group = false;
  };

  // Starts `argv[0]` (looked up in PATH) with `argv`. NotFound when it cannot be run.
  static StatusOr<Subprocess> Start(const std::vector<std::string>& argv, const Options& options);
  static StatusOr<Subprocess> Start(const std::vector<std::string>& argv) { return Start(argv, Options{}); }

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Closes the pipes; a child still running is killed (SIGKILL) and reaped.
  ~Subprocess();

  pid_t pid() const { return pid_; }
  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }
  int stderr_fd() const { return err_; }
  void CloseStdin();

  // Waits for the child and returns its exit code (128+signal when killed).
  int Wait();
  // Waits at most `timeout_ms`; true (and the child reaped) if it ended.
  bool WaitFor(int timeout_ms);
  // Sends `signal` to the child (its group with new_process_group).
  void Kill(int signal);

 private:
  Subprocess() = default;
  void CloseAll();
  pid_t pid_ = -1;
  bool group_ = false;
  int in_ = -1, out_ = -1, err_ = -1;
};

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` to completion, feeding `input` on stdin and collecting stdout and
// stderr. NotFound when the program does not exist.
StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::string& input = "");

// The same, bounded: a program still running (or holding its output open)
// after `timeout_ms` is killed with everything it started (it runs in its
// own process group), and the result is DeadlineExceeded naming it. For
// tools that can hang, such as nvidia-smi on a failing GPU.
StatusOr<ProcessResult> RunProcessWithin(const std::vector<std::string>& argv, int timeout_ms,
                                         const std::string& input = "");

// Writes all of `data` to `fd`, retrying short writes. False on error (errno set).
bool WriteAll(int fd, const void* data, size_t size);

}  // namespace cluster
