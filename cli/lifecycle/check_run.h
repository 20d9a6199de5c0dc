// Gathering what `check` evaluates: every host's facts from its agent, the
// agents' clocks against ours, and each agent's reachability of the head's
// agent; then check_report.h decides pass / warn / fail.
#pragma once

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/cluster_access.h"

namespace cluster::cli {

struct CheckRunOptions {
  bool start_agents = true;   // start (or upgrade) agents first; false: use what runs
  bool check_ports = true;    // false while our own deployment holds the ports
  bool hash_model = true;
};

// Observes every host (in parallel) and evaluates. Never fails as a whole:
// a host that cannot be reached becomes a failing row of the report.
CheckReport RunCheck(const ClusterAccess& access, const CheckRunOptions& options);

// The TCP ports the runtime needs free on `host` (the head's API port, Ray's
// GCS port for vllm-docker, the engine's rendezvous port for worlds > 1).
std::vector<int> RequiredPorts(const inventory::Inventory& inventory, const inventory::Host& host);

}  // namespace cluster::cli
