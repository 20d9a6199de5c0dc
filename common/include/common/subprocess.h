// Child processes: the one place where this project forks and execs
// (docs/security.md, "Processes"). The agent runs its units (engine ranks,
// `docker run`) and docker commands, LocalTransport runs the receiver on
// this machine, the test harness runs sshd and dockerd - all through Spawn.
//
// What every child gets, whoever starts it:
//   - argv as given, never through a shell (unless the caller names one);
//     argv[0] is looked up in the child's PATH like execvp;
//   - no descriptor of ours beyond stdin, stdout and stderr (everything from
//     3 up is closed on exec, whether or not it was opened O_CLOEXEC);
//   - our environment without the dynamic loader's variables (LD_PRELOAD,
//     LD_LIBRARY_PATH, LD_AUDIT, ... every LD_*), plus `env` on top;
//   - default signal dispositions and an empty signal mask;
//   - stdin from a pipe or /dev/null, never our terminal.
// Signals are sent only to children that have not been reaped: until then
// the kernel keeps the pid, and so the process group id, for them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster {

struct SpawnOptions {
  bool pipe_stdin = true;         // false: /dev/null
  bool pipe_stdout = true;        // false: inherit ours
  bool pipe_stderr = true;        // false: inherit ours (unless stderr_to_stdout)
  bool stderr_to_stdout = false;  // stderr goes into stdout (one stream, in order)
  bool new_process_group = false; // setpgid: a signal to the group reaches what it starts
  bool new_session = false;       // setsid: its own session and process group (pgid == pid)
  bool die_with_parent = false;   // PR_SET_PDEATHSIG SIGKILL: it ends when the starting thread's process does
  std::map<std::string, std::string> env;  // added to the environment, replacing same-named variables
};

// A started child and the parent's ends of its pipes (-1 where not piped;
// O_CLOEXEC), which the caller owns.
struct SpawnedProcess {
  pid_t pid = -1;
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int exec_errno = 0;  // non-zero: execve failed, and the child is exiting with code 127
};

// Forks and execs `argv` with `options`. Returns once the child has exec'd
// or failed to (exec_errno). Unavailable (with errno text) when no child
// could be made. Safe to call while other threads run: between fork and
// exec the child makes only async-signal-safe calls.
StatusOr<SpawnedProcess> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options);

// A child with pipes, owned by one thread at a time, that reaps it.
class Subprocess {
 public:
  using Options = SpawnOptions;

  // Starts `argv`. NotFound when it cannot be run (the exec failed).
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
  // Sends `signal` to the child (its group with new_process_group or
  // new_session) unless it has been reaped already.
  void Kill(int signal);

 private:
  Subprocess() = default;
  void CloseAll();
  pid_t pid_ = -1;
  bool group_ = false;
  int in_ = -1, out_ = -1, err_ = -1;
};

// The state of a child of ours that another part of the program reaps when
// it chooses (the agent's supervisor): none of these reap a process other
// than the pid given, so other children stay with their owners.
//
// True when `pid` has ended, without reaping it: its pid, and so its
// process group id, stays reserved until ReapProcess.
bool HasEnded(pid_t pid);
// Reaps `pid` if it has ended: its wait status.
std::optional<int> ReapProcess(pid_t pid);
// Polls until `pid` has ended or `timeout` passes (blocking the caller).
bool WaitEnded(pid_t pid, std::chrono::milliseconds timeout);
// The exit code a wait status stands for: the code, or 128+signal.
int ExitCodeOf(int wait_status);
// "exited with code 3" | "killed by signal 9 (SIGKILL)".
std::string DescribeWaitStatus(int wait_status);

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
// tools that can hang, such as nvidia-smi on a failing GPU. `env` is added
// to the child's environment (SpawnOptions::env).
StatusOr<ProcessResult> RunProcessWithin(const std::vector<std::string>& argv, int timeout_ms,
                                         const std::string& input = "",
                                         const std::map<std::string, std::string>& env = {});

// Writes all of `data` to `fd`, retrying short writes. False on error (errno set).
bool WriteAll(int fd, const void* data, size_t size);

}  // namespace cluster
