// Running clusterd as a daemon that outlives the SSH session that started it.
//
// `clusterd start` (StartAgent) saves the config and credentials it was
// given, then:
//   - when an agent with the same fingerprint (agent_state.h) already serves,
//     does nothing ("running"): starting twice is harmless;
//   - when one with another fingerprint serves (another version, new
//     certificates), stops it first ("replaced"); its units stop with it;
//   - fails at once when another program holds the agent's port (the
//     error names network.agent_port);
//   - starts `clusterd serve` as a systemd transient unit
//     (clusterd-CLUSTER.service, Restart=on-failure) when systemd manages this
//     machine, we are root, and we share PID 1's network and mount namespaces
//     (otherwise the unit would run elsewhere); with config.start_at_boot the
//     same unit as a file in /etc/systemd/system, enabled, so that the host
//     starts it at boot (removed again by a start without it, and by
//     `stop --purge`); else as a detached process (double fork, new
//     session, stdio to clusterd.log);
//   - waits until the new agent has bound its port (it writes clusterd.pid
//     then) or has died, in which case the error carries its log's tail.
//
// `clusterd stop` (StopAgent) ends the agent (SIGTERM, which stops its units
// gracefully; SIGKILL after a grace), then whatever a crashed agent left: the
// process groups in units.json and containers labelled
// clusterd.cluster=CLUSTER; then verifies that none is left.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "agent/agent_state.h"
#include "common/status.h"
#include "control/pki.h"

namespace cluster::agent {

struct StartOutcome {
  enum class What { kStarted, kAlreadyRunning, kReplaced } what = What::kStarted;
  long pid = 0;
  bool systemd = false;
};

// `self` is this clusterd binary (what the daemon will run).
StatusOr<StartOutcome> StartAgent(const std::filesystem::path& self, const AgentConfig& config,
                                  const control::Credentials& credentials);

struct StopOutcome {
  bool agent_was_running = false;
  std::vector<std::string> stopped;  // "agent pid 123", "rank 0 (group 456)", "container abc"
  std::vector<std::string> left;     // what is still there afterwards
};

// Stops the agent of `cluster` and everything it started. With `purge`, also
// removes the agent's state folder (and the installed agent binaries when no
// other cluster's agent remains on this host).
StatusOr<StopOutcome> StopAgent(const std::string& cluster, bool purge);

// Names of the containers of `cluster` (by label); empty when Docker is absent.
std::vector<std::string> ListClusterContainers(const std::string& cluster);

// The enabled systemd unit that starts the agent of `cluster` at boot:
// clusterd-CLUSTER.service (`clusterd start` with start_at_boot) or the
// package's clusterd@CLUSTER.service; "" when none is (or systemd does not
// manage this machine).
std::string BootUnitOf(const std::string& cluster);
// Process groups of units.json that still have a live process of their own
// (recorded_group.h: never a group id an unrelated program got later).
std::vector<UnitGroup> LiveUnitGroups(const std::filesystem::path& dir);

}  // namespace cluster::agent
