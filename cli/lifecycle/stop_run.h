// Stopping a deployment everywhere: each agent stops its units over the
// control channel; a host whose agent does not answer is cleaned over SSH
// (`clusterd stop`, which also ends a hung agent and removes containers of
// the cluster). With `purge`, every agent is then stopped and removed too.
#pragma once

#include <string>
#include <vector>

#include "cli/lifecycle/cluster_access.h"

namespace cluster::cli {

struct HostStopResult {
  std::string host;
  bool via_ssh = false;                 // the agent did not answer (or purge)
  std::vector<std::string> stopped;
  std::vector<std::string> left;        // what is still there: should be empty
  std::string error;                    // the host could not be reached at all
};

std::vector<HostStopResult> StopEverywhere(const ClusterAccess& access, const std::string& reason, bool purge);

// True when every host was reached and nothing is left.
bool NothingLeft(const std::vector<HostStopResult>& results);

}  // namespace cluster::cli
