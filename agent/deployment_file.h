// deployment.json in the agent's folder (agent_state.h): the last `start`
// this agent was given and where the deployment stands with its restart
// policy, so that an agent that restarts (systemd's Restart=on-failure, a
// reboot where clusterd@CLUSTER is enabled, `clusterctl up` or `check`
// starting it again) knows the deployment it served and, with
// runtime.restart always, brings it back. The gang's restarts are counted
// across agent restarts, so the limit holds there too.
//
// Written 0600 and atomically: the ranks' environment holds the world's
// token. Removed when the deployment is stopped on purpose (`down`, a new
// `up`, `clusterd stop`), so a stopped deployment never comes back.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

struct DeploymentFile {
  control::StartRequest request;
  int generation = 0;                          // gang restarts so far
  std::vector<std::int64_t> restarts_unix_ms;  // when they began (the window's last ones)
  std::optional<control::GangFailure> last_failure;
};

Status SaveDeploymentFile(const std::filesystem::path& dir, const DeploymentFile& file);
// nullopt when absent; DataLoss naming the file when it does not parse.
StatusOr<std::optional<DeploymentFile>> LoadDeploymentFile(const std::filesystem::path& dir);
void RemoveDeploymentFile(const std::filesystem::path& dir);

}  // namespace cluster::agent
