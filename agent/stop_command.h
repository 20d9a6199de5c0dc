// A unit's stop command (UnitSpec::stop_argv, e.g. `docker stop -t 10 NAME`),
// run by Supervisor::Stop() before it signals the unit.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "agent/unit_log.h"

namespace cluster::agent {

// Runs `argv` (looked up in PATH, in its own process group) to completion or
// until `timeout`, when its group is killed. Its stdout and stderr, and how
// it ended, are appended line by line to `log`. Blocks the caller at most
// `timeout` plus the time to reap a killed process. Never fails: a stop
// command that cannot run is noted in the log and the stop goes on.
void RunStopCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, UnitLogWriter& log);

}  // namespace cluster::agent
