// The agent's folder on a host and what `clusterd start` keeps in it:
//
//   ~/.local/state/clusterd/CLUSTER/      (0700)
//     agent.json    AgentConfig: cluster, host, listen address and port, peers
//     ca.crt        the cluster CA (peers and clusterctl must chain to it)
//     agent.crt     this agent's certificate
//     agent.key     its key (0600)
//     clusterd.pid  "PID FINGERPRINT\n", written by the serving agent once it listens
//     clusterd.log  the serving agent's own log
//     units.json    process groups of the units started (for cleanup after a crash)
//     deployment.json  the last start and its restart state (deployment_file.h, 0600)
//     logs/DEPLOYMENT/UNIT.log   the units' logs (rotated)
//
// One agent per cluster and host; the folder is named by the cluster so two
// clusters on one host (on different agent ports) do not meet.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/recorded_group.h"
#include "common/status.h"
#include "control/messages.h"
#include "control/pki.h"
#include "control/start_bundle.h"

namespace cluster::agent {

using control::AgentConfig;

// ~/.local/state/clusterd/CLUSTER ($HOME from the environment).
std::filesystem::path AgentStateDir(const std::string& cluster);

// Cluster names are the inventory's (a-z, 0-9, "-"); anything else is refused
// before it can name a folder.
Status CheckClusterName(const std::string& cluster);

// Reads agent.json and the credentials of `dir`.
StatusOr<AgentConfig> LoadConfig(const std::filesystem::path& dir);
StatusOr<control::Credentials> LoadCredentials(const std::filesystem::path& dir);
// Writes agent.json and the credentials atomically (key 0600, folder 0700).
Status SaveState(const std::filesystem::path& dir, const AgentConfig& config, const control::Credentials& credentials);

// A fingerprint of what a serving agent runs with: its binary's content hash,
// its config and its credentials. `start` replaces a running agent whose
// fingerprint differs (another version, new certificates, other peers).
StatusOr<std::string> Fingerprint(const std::filesystem::path& binary, const AgentConfig& config,
                                  const control::Credentials& credentials);

struct PidFile {
  long pid = 0;
  std::string fingerprint;
};
std::filesystem::path PidFilePath(const std::filesystem::path& dir);
StatusOr<PidFile> ReadPidFile(const std::filesystem::path& dir);  // NotFound when absent
Status WritePidFile(const std::filesystem::path& dir, const PidFile& pid);
// True when `pid` is a live clusterd process (not a zombie, not a recycled pid
// of another program).
bool IsAgentProcess(long pid);

}  // namespace cluster::agent

namespace cluster::agent {

// units.json: the process group of every unit the serving agent started, so
// that `clusterd stop` can end them even when the agent itself was killed.
// Each is recorded with what proves it is still the unit's
// (common/recorded_group.h): a group id that an unrelated program got later
// is never signalled.
struct UnitGroup {
  std::string unit;
  RecordedGroup group;
};
Status SaveUnitGroups(const std::filesystem::path& dir, const std::vector<UnitGroup>& groups);
// Empty when absent or unreadable; an entry without the proof (written by an
// older agent) is left out, so it is never signalled.
std::vector<UnitGroup> LoadUnitGroups(const std::filesystem::path& dir);

}  // namespace cluster::agent
