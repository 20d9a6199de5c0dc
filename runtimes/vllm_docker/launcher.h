// vLLM's part in clusterd: this host's container (Ray head or worker), and
// on the head, once Ray sees every GPU of the cluster, `vllm serve` inside it
// (agent/vllm_docker.h builds the docker and vllm command lines).
#pragma once

#include <memory>

#include "agent/launcher.h"

namespace cluster::agent {

std::unique_ptr<Launcher> NewVllmDockerLauncher();

}  // namespace cluster::agent
