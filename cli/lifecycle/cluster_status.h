// The state of a deployment across the cluster, as `up` waits on it and
// `status` prints it: every agent's status reply (or why it did not answer)
// and the endpoint's health, models and metrics.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/lifecycle/cluster_access.h"
#include "control/messages.h"

namespace cluster::cli {

struct HostStatus {
  std::string host;
  std::string error;                          // "" when the agent answered
  std::optional<control::StatusReply> reply;
};

// Asks every agent at once.
std::vector<HostStatus> GatherStatus(const ClusterAccess& access);

// The earliest failure any agent reports for `deployment`.
std::optional<control::GangFailure> FirstFailure(const std::vector<HostStatus>& hosts, const std::string& deployment);

// Where `deployment` stands with its restart policy: the state of the agent
// that knows the most (the most restarts; among those, the one that decided,
// i.e. says why not or when), or nullopt when no agent reports one.
std::optional<control::RestartState> GangRestartState(const std::vector<HostStatus>& hosts,
                                                      const std::string& deployment);

// True when every host answered for `deployment` and each unit it started is running.
bool AllUnitsRunning(const std::vector<HostStatus>& hosts, const std::string& deployment);

struct EndpointHealth {
  std::string url;                            // http://ADDRESS:PORT
  bool healthy = false;                       // /health answered 200
  bool models_ok = false;                     // /v1/models answered 200 with the model
  std::vector<std::string> models;
  std::string error;
  std::map<std::string, double> metrics;      // /metrics samples (empty when not served)
};

// `api_key` is sent as a Bearer token ("" for none).
EndpointHealth ProbeEndpoint(const inventory::Inventory& inventory, const std::string& api_key);

// The API key of the runtime (runtime.api_key_file), or "".
std::string ReadApiKey(const inventory::Inventory& inventory);

}  // namespace cluster::cli
