// The process side of a unit, for the Supervisor: starting a program in its
// own session with its output on one pipe, and looking at how it ended.
//
// None of these reap a process other than the pid they are given, so other
// children of the agent (docker commands run through Subprocess) are left to
// their owners.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::agent {

struct SpawnedProcess {
  pid_t pid = -1;
  int output_fd = -1;   // read end of the stdout+stderr pipe (O_CLOEXEC); the caller owns it
  int exec_errno = 0;   // non-zero: execve failed and the child is exiting with 127
};

// Forks and execs `argv` (argv[0] a path, or a bare name looked up in the
// child's PATH like execvp: the vllm-docker units run "docker"). The child calls
// setsid (it leads its own session and process group, pgid == pid), reads
// stdin from /dev/null, writes stdout and stderr into one pipe, starts with
// default signal dispositions and an empty signal mask, and gets the agent's
// environment with `env` added (replacing variables of the same name). No
// other descriptor of the agent reaches it. Returns once the child has
// exec'd or failed to; Unavailable (with errno text) when no child could be
// made.
StatusOr<SpawnedProcess> SpawnProcess(const std::vector<std::string>& argv,
                                      const std::map<std::string, std::string>& env);

// True when `pid` (a child of ours) has ended, without reaping it: its pid,
// and so its process group id, stays reserved until ReapProcess.
bool HasEnded(pid_t pid);
// Reaps `pid` if it has ended: its wait status.
std::optional<int> ReapProcess(pid_t pid);
// Polls until `pid` has ended or `timeout` passes (blocking the caller).
bool WaitEnded(pid_t pid, std::chrono::milliseconds timeout);

// The exit code a wait status stands for: the code, or 128+signal.
int ExitCodeOf(int wait_status);
// "exited with code 3" | "killed by signal 9 (SIGKILL)".
std::string DescribeWaitStatus(int wait_status);

}  // namespace cluster::agent
