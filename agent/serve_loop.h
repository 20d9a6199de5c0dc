// `clusterd serve --state DIR`: the agent in the foreground. Loads DIR's
// config and credentials, ends what an earlier agent of DIR left behind,
// listens on the configured address, writes the pid file once listening
// (that is what `clusterd start` waits for), takes up the deployment it
// served before a restart (deployment_file.h) and serves until SIGTERM/SIGINT
// or a `shutdown` request; then stops every unit and exits 0.
#pragma once

#include <filesystem>

#include "agent/launcher.h"

namespace cluster::agent {

// `launchers`: the runtimes this agent can start.
int ServeAgent(const std::filesystem::path& state_dir, const std::filesystem::path& self, Launchers launchers);

}  // namespace cluster::agent
