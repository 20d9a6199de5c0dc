// What `up` asks each agent to start: the placement of `plan` turned into
// one StartRequest per host, for the engine runtime (ranks) or vllm-docker
// (a container per host; the head also runs `vllm serve`), with the network
// environment `check` chose (NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME,
// VLLM_HOST_IP) baked in. An engine world of several ranks gets rank 0's
// rendezvous on the head's cluster address, the hosts' addresses as the only
// ones it admits, and a fresh token (NewWorldToken).
#pragma once

#include <map>
#include <string>

#include "cli/lifecycle/check_report.h"
#include "common/inventory/inventory.h"
#include "common/inventory/placement.h"
#include "control/messages.h"

namespace cluster::cli {

// A new deployment id: "YYYYMMDD-HHMMSS-XXXX" (UTC, random suffix).
std::string NewDeploymentId();

// The secret a world of engine ranks shares to meet at rank 0's rendezvous:
// 256 random bits in hex, new for every deployment, given to each rank in
// its environment as kWorldTokenVariable (never in argv, where `ps` shows it).
inline constexpr char kWorldTokenVariable[] = "INFER_ENGINE_RENDEZVOUS_TOKEN";
std::string NewWorldToken();

// The container name of vllm-docker on every host.
std::string ContainerName(const inventory::Inventory& inventory);

// Host name -> its StartRequest, for every host of the inventory (hosts
// without ranks get an empty one, so that they also forget older units).
// With runtime.api_key_file, the requests only say that rank 0 (or vLLM in
// the head's container) requires the key: the agents have their own copy,
// given to `clusterd start` over SSH; the key never travels in a request.
std::map<std::string, control::StartRequest> BuildStartRequests(const inventory::Inventory& inventory,
                                                                 const inventory::Placement& placement,
                                                                 const CheckReport& report,
                                                                 const std::string& deployment);

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
