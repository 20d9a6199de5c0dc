// Supervisor: the processes ("units") the agent starts for a deployment, an
// engine rank or a container's helper process, with their logs and states.
//
// Each unit runs in its own process group (setsid) so that stopping it
// reaches everything it started, and is started like every child of this
// project (common/subprocess.h: no descriptor or loader variable of the
// agent's) with a random marker in its environment (recorded_group.h) that
// lets `clusterd stop` tell its processes from a later program's. Its stdout and stderr are read by the agent
// through pipes and appended, a timestamp per line, to the unit's rotating
// log (unit_log.h); a unit that exits is reaped through SIGCHLD. When a
// unit's main process ends, what is left of its group is killed (SIGKILL),
// so no helper of a finished rank keeps holding a GPU. A unit dies with its
// agent (PR_SET_PDEATHSIG): an agent that was killed cannot supervise it.
// The supervisor never restarts a unit (restarts stays 0): a failed rank
// means a gang stop, which is the agent's decision.
//
// Threading: all members are called on the io_context's thread, and the
// exit callback runs there too. The Supervisor owns the SIGCHLD handler of
// the process (one Supervisor per agent).
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/recorded_group.h"
#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

struct UnitSpec {
  std::string name;                        // "rank 0", "container clusterd-demo"
  std::optional<int> rank;
  std::vector<std::string> argv;           // argv[0] is an absolute path
  std::map<std::string, std::string> env;  // added to the agent's own environment
  std::filesystem::path log_file;          // rotated beside itself: .1, .2, ...
  // Run to completion before the unit is signalled by Stop() (a container's
  // `docker stop -t 10 NAME`), within the stop's grace; its output goes to
  // the unit's log. Empty: none. Looked up in PATH.
  std::vector<std::string> stop_argv;
};

struct LogRotation {
  std::uint64_t max_bytes = 16u << 20;     // rotate when the live file reaches this
  int keep = 3;                            // rotated files kept (log.1 .. log.keep)
};

class Supervisor {
 public:
  // Called once per unit when it exits on its own (not when Stop()ed):
  // the unit's final status (state kFailed unless it exited 0).
  using ExitCallback = std::function<void(const control::UnitStatus& unit)>;

  Supervisor(boost::asio::io_context& io, LogRotation rotation, ExitCallback on_exit);
  ~Supervisor();  // kills what is still running (SIGKILL to each group)

  // Starts a unit. AlreadyExists when a unit of that name runs; Unavailable
  // (with errno text) when the program cannot be started. The unit is
  // kRunning once started; an exec failure shows as an exit with code 127
  // and the reason in its log.
  Status Start(const UnitSpec& spec);

  // Stops one unit: runs its stop_argv, then SIGTERM to its group, SIGKILL
  // to the group when the unit has not ended `grace` after Stop() began (the
  // stop command and the SIGTERM share the grace). Blocks the io_context's
  // thread at most `grace` + 1 s. The unit ends kStopped and on_exit is not
  // called. OK when the unit is not running; DeadlineExceeded when it
  // survives SIGKILL (it is reaped later, still as kStopped).
  Status Stop(const std::string& name, std::chrono::milliseconds grace);
  // Stops every running unit (in reverse start order); names of units still
  // alive afterwards (none unless a process ignores SIGKILL, e.g. in D state).
  std::vector<std::string> StopAll(std::chrono::milliseconds grace);

  std::vector<control::UnitStatus> Units() const;  // in start order
  // The process groups of the units still running, by unit name, as
  // units.json records them.
  std::vector<std::pair<std::string, RecordedGroup>> RunningGroups() const;
  // Forgets units that are no longer running (before a new deployment).
  void ClearEnded();

  // Appends an agent line "clusterd: TEXT" to a unit's log (TEXT without the
  // prefix, e.g. "stopping: rank 1 failed"). Ignored for an unknown unit.
  void Note(const std::string& name, const std::string& text);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cluster::agent
