// What `up` asks each agent to start: the placement of `plan` turned into
// one StartRequest per host, whose units (engine ranks, a container) the
// runtime describes (runtime.h) with the network environment `check`
// chose (NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME, VLLM_HOST_IP) baked in.
#pragma once

#include <map>
#include <string>

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/runtime.h"
#include "common/inventory/inventory.h"
#include "common/inventory/placement.h"
#include "control/messages.h"

namespace cluster::cli {

// A new deployment id: "YYYYMMDD-HHMMSS-XXXX" (UTC, random suffix).
std::string NewDeploymentId();

// Host name -> its StartRequest, for every host of the inventory (hosts
// without ranks get an empty one, so that they also forget older units): the
// deployment, the peers and the restart policy, and the units `runtime`
// adds. With runtime.api_key_file, the requests only say that rank 0 (or
// vLLM in the head's container) requires the key: the agents have their own
// copy, given to `clusterd start` over SSH; the key never travels in a
// request.
std::map<std::string, control::StartRequest> BuildStartRequests(const Runtime& runtime, const StartPlan& plan);

// runtime.restart as every agent's start request carries it.
control::RestartPolicy RestartPolicyOf(const inventory::RestartPolicy& policy);

// The endpoint clients use: the head's cluster address and runtime.port.
struct Endpoint {
  std::string address;
  int port = 0;
  std::string model;  // served model name
};
Endpoint EndpointOf(const inventory::Inventory& inventory);

}  // namespace cluster::cli
