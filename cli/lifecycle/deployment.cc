#include "cli/lifecycle/deployment.h"

#include <chrono>
#include <ctime>
#include <random>

#include <fmt/format.h>

#include "cli/lifecycle/agent_calls.h"

namespace cluster::cli {
using inventory::Host;
using inventory::RuntimeKind;

namespace {

std::string DtypeFor(const inventory::Inventory& inv) {
  if (inv.runtime.dtype != inventory::Dtype::kAuto) return inventory::DtypeName(inv.runtime.dtype);
  // The CPU engine computes in float32; on GPUs the engine decides (the checkpoint's dtype, or float16 where
  // the GPU has no bfloat16: docs/engine-cuda.md).
  if (inv.runtime.kind == RuntimeKind::kEngine)
    return inv.runtime.engine.device == inventory::EngineDevice::kCpu ? "float32" : "auto";
  return "";  // vLLM decides
}

std::vector<control::PeerAgent> PeersOf(const inventory::Inventory& inv, const Host& host) {
  std::vector<control::PeerAgent> peers;
  for (const Host& h : inv.hosts) {
    if (&h != &host) peers.push_back({h.name, h.address, inv.network.agent_port});
  }
  return peers;
}

}  // namespace

std::string NewDeploymentId() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);
  std::random_device random;
  return fmt::format("{}-{:04x}", stamp, random() & 0xffff);
}

std::string NewWorldToken() {
  std::random_device random;
  std::string token;
  for (int i = 0; i < 8; ++i) token += fmt::format("{:08x}", random());
  return token;
}

std::string ContainerName(const inventory::Inventory& inv) { return "clusterd-" + inv.cluster_name; }

Endpoint EndpointOf(const inventory::Inventory& inv) {
  Endpoint e;
  const Host* head = inv.Head();
  e.address = head ? head->address : "";
  // A specific bind address is where the API is; a wildcard one is on every address, the head's too.
  if (inv.runtime.bind && *inv.runtime.bind != "0.0.0.0") e.address = *inv.runtime.bind;
  e.port = inv.runtime.port;
  e.model = inv.runtime.model;
  return e;
}

control::RestartPolicy RestartPolicyOf(const inventory::RestartPolicy& p) {
  control::RestartPolicy out;
  out.policy = p.policy == inventory::RestartPolicyKind::kAlways      ? control::RestartPolicyKind::kAlways
               : p.policy == inventory::RestartPolicyKind::kOnFailure ? control::RestartPolicyKind::kOnFailure
                                                                        : control::RestartPolicyKind::kNever;
  out.max_restarts = p.max_restarts;
  out.window_s = p.window_s;
  out.backoff_s = p.backoff_s;
  return out;
}

std::map<std::string, control::StartRequest> BuildStartRequests(const inventory::Inventory& inv,
                                                                 const inventory::Placement& placement,
                                                                 const CheckReport& report,
                                                                 const std::string& deployment) {
  std::map<std::string, control::StartRequest> requests;
  const Host* head = inv.Head();
  const inventory::Model* model = inv.FindModel(inv.runtime.model);
  const std::string dtype = DtypeFor(inv);
  int total_gpus = 0;
  for (const auto& hp : placement.hosts) total_gpus += static_cast<int>(hp.ranks.size());
  // The engine's ranks meet at rank 0's rendezvous: only from the hosts' addresses, only with this token.
  const std::string world_token = placement.world_size() > 1 ? NewWorldToken() : "";
  std::vector<std::string> peers;
  for (const Host& h : inv.hosts) peers.push_back(h.ClusterAddress());

  for (std::size_t i = 0; i < inv.hosts.size(); ++i) {
    const Host& host = inv.hosts[i];
    const inventory::HostPlacement& placed = placement.hosts[i];
    control::StartRequest req;
    req.deployment = deployment;
    req.peers = PeersOf(inv, host);
    req.restart = RestartPolicyOf(inv.runtime.restart);
    const std::string model_path = model ? inv.ModelPathOn(host, *model).string() : "";
    const auto env = report.EnvFor(host.name);
    if (inv.runtime.kind == RuntimeKind::kEngine) {
      req.runtime = control::RuntimeKind::kEngine;
      for (const auto& r : placed.ranks) {
        control::RankSpec spec;
        spec.rank = r.rank;
        spec.world_size = placement.world_size();
        spec.tensor_parallel = placement.tensor_parallel;
        spec.pipeline_parallel = placement.pipeline_parallel;
        spec.stage = r.stage;
        spec.tp_rank = r.tp_rank;
        spec.gpu = r.gpu;
        spec.device = inventory::EngineDeviceName(inv.runtime.engine.device);
        spec.dtype = dtype;
        spec.model_path = model_path;
        spec.served_model_name = inv.runtime.model;
        spec.rendezvous = head ? fmt::format("{}:{}", head->ClusterAddress(), RendezvousPort(inv)) : "";
        if (r.rank == 0) {
          spec.serve_address = inv.runtime.bind.value_or(host.address);
          spec.serve_port = inv.runtime.port;
          spec.api_key = inv.runtime.api_key_file.has_value();
        }
        spec.max_context = inv.runtime.engine.max_context;
        if (spec.device == "cuda") spec.gpu_memory_fraction = inv.runtime.engine.gpu_memory_fraction;
        spec.env = env;
        if (!world_token.empty()) {
          spec.env[kWorldTokenVariable] = world_token;
          spec.rendezvous_peers = peers;
          spec.local_address = host.ClusterAddress();
        }
        req.ranks.push_back(std::move(spec));
      }
    } else {
      req.runtime = control::RuntimeKind::kVllmDocker;
      if (!placed.stage) {
        requests[host.name] = std::move(req);  // a host beyond pipeline_parallel runs nothing
        continue;
      }
      control::ContainerSpec c;
      c.name = ContainerName(inv);
      const inventory::Image* image = inv.FindImage(inv.runtime.vllm_docker.image);
      c.image = image ? image->name : inv.runtime.vllm_docker.image;
      c.shm_size = inv.runtime.vllm_docker.shm_size;
      c.model_path = model_path;
      c.env = env;
      for (const auto& [k, v] : inv.runtime.vllm_docker.env) c.env[k] = v;
      c.gpus = true;
      if (host.gpus) {  // the GPUs the inventory gives the host; `auto`: all of them
        for (int g = 0; g < *host.gpus; ++g) c.gpu_devices.push_back(g);
      }
      c.volumes = inv.runtime.vllm_docker.volumes;
      c.devices = inv.runtime.vllm_docker.devices;
      for (const auto& [name, limit] : inv.runtime.vllm_docker.ulimits) c.ulimits.push_back(name + "=" + limit);
      c.ipc_host = inv.runtime.vllm_docker.ipc_host;
      c.head = &host == head;
      c.api_key = c.head && inv.runtime.api_key_file.has_value();
      c.node_address = host.ClusterAddress();
      c.head_address = head ? head->ClusterAddress() : host.ClusterAddress();
      c.serve_address = inv.runtime.bind.value_or(host.address);
      c.ray_port = kRayPort;
      c.expected_gpus = total_gpus;
      c.served_model_name = inv.runtime.model;
      c.tensor_parallel = placement.tensor_parallel;
      c.pipeline_parallel = placement.pipeline_parallel;
      c.dtype = dtype;
      c.serve_port = inv.runtime.port;
      c.vllm_args = inv.runtime.vllm_docker.args;
      req.container = std::move(c);
    }
    requests[host.name] = std::move(req);
  }
  return requests;
}

}  // namespace cluster::cli
