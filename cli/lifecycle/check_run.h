// Gathering what `check` evaluates: every host's facts from its agent, the
// agents' clocks against ours, and each agent's reachability of the head's
// agent; then check_report.h decides pass / warn / fail. With --comm, the
// agents then run bench-comm on the placement and check_comm.h judges it.
#pragma once

#include <string>

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/cluster_access.h"
#include "cli/lifecycle/runtime.h"

namespace cluster::cli {

struct CheckRunOptions {
  bool start_agents = true;   // start (or upgrade) agents first; false: use what runs
  bool check_ports = true;    // false while our own deployment holds the ports
  bool hash_model = true;
  // --comm: bench-comm on the placement (check_comm.h), after the other checks pass.
  bool comm = false;
  std::string comm_sizes = "64K,1M,16M";
  int comm_iterations = 10;
  int comm_timeout_s = 120;
};

// Observes every host (in parallel) and evaluates. Never fails as a whole:
// a host that cannot be reached becomes a failing row of the report.
// REQUIRES: `runtime` is the runtime of access.inventory().
CheckReport RunCheck(const ClusterAccess& access, const Runtime& runtime, const CheckRunOptions& options);

// --comm: runs bench-comm on the placement through every host's agent at
// once and adds its rows (area "comm") to `report`; not run, with a warning
// row, for a runtime that does not use the engine's collectives, when `report` already fails, or while the
// deployment's rank 0 holds the rendezvous port.
void AddCommRows(const ClusterAccess& access, const Runtime& runtime, const std::vector<HostObservation>& observed,
                 const CheckRunOptions& options, CheckReport& report);

// The TCP ports the runtime needs free on `host`: needs.head_ports on the
// head, none elsewhere.
std::vector<int> RequiredPorts(const inventory::Inventory& inventory, const HostNeeds& needs,
                               const inventory::Host& host);

}  // namespace cluster::cli
