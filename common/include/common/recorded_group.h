// A process group one program started and recorded, for another program
// (or a later run) to signal: the agent's units in units.json, which
// `clusterd stop` ends when the agent itself was killed.
//
// A recorded pid is only a number: once its processes have ended, the
// kernel may hand it to an unrelated program, and `kill(-pgid)` would end
// that program's group instead. So a recorded group carries what makes it
// provably the same - the leader's start time and the boot it ran in, and a
// random marker that every process of the group inherits in its
// environment (CLUSTERD_UNIT) - and it is signalled one process at a time,
// each one checked first and signalled through a pidfd, so that a process
// that ends between the check and the signal cannot be mistaken for
// another that took its pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cluster {

// The variable whose value marks every process of a recorded group.
inline constexpr const char* kGroupMarkerVariable = "CLUSTERD_UNIT";

struct RecordedGroup {
  long pgid = 0;                  // the leader's pid, which is the group's id
  std::uint64_t leader_start = 0; // the leader's start time (clock ticks after boot)
  std::string boot_id;            // /proc/sys/kernel/random/boot_id when it started
  std::string marker;             // the value of CLUSTERD_UNIT in its processes' environments
};

// A fresh random marker (32 hex digits).
std::string NewGroupMarker();
// This boot's id; "" when it cannot be read.
std::string BootId();
// The start time of process `pid` (clock ticks after boot); nullopt when
// there is no such process.
std::optional<std::uint64_t> ProcessStartTicks(long pid);

// The recorded group of a child just started as its own session or group
// leader with `marker` in its environment.
RecordedGroup RecordGroup(pid_t leader, const std::string& marker);

// The live processes (not zombies) that provably belong to `group`: those in process
// group group.pgid that are its leader (same pid, same start time, same
// boot) or carry its marker in their environment. Anything else in that
// process group - a program that got the id after the group had ended - is
// not listed. Empty for a group recorded without a marker or start time.
std::vector<pid_t> MembersOf(const RecordedGroup& group);

// Sends `signal` to each of MembersOf(group); how many were signalled.
int SignalRecordedGroup(const RecordedGroup& group, int signal);

}  // namespace cluster
