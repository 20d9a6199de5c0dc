// vLLM with Ray in Docker's part in clusterctl (what vLLM's run_cluster.sh does by
// hand): one container per host that runs a pipeline stage, the head's the
// Ray head, the others Ray workers; the head's agent runs `vllm serve` in its
// container once Ray sees every GPU. The image is an artifacts.images entry
// that `push` loads.
#pragma once

#include <memory>
#include <string>

#include "cli/lifecycle/runtime.h"

namespace cluster::cli {

// The container's name on every host: "clusterd-" + the cluster's name.
std::string ContainerName(const inventory::Inventory& inventory);

std::unique_ptr<Runtime> VllmDockerRuntime(const inventory::Inventory& inventory);

}  // namespace cluster::cli
