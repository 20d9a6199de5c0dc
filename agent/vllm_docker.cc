// The argv builders and the `ray status` parser of vllm_docker.h.
//
// Why each `docker run` flag is there (and why others are not):
//   --name N          the handle for stop/rm/exec; unique per host per deployment.
//   --network host    Ray, NCCL/Gloo and vLLM bind to the host's cluster NIC and
//                     must see the other hosts' addresses as they are: no NAT, no
//                     port mapping (run_cluster.sh does the same).
//   --shm-size S      NCCL's shared-memory transport and Ray's object store live in
//                     /dev/shm; docker's default 64 MB is far too small. A sized
//                     private /dev/shm is what run_cluster.sh uses and keeps the
//                     container off host IPC; `ipc: host` (--ipc host) is the
//                     operator's choice instead.
//   --gpus "device=0,1,2,3"  the host's GPUs of the inventory (hosts[].gpus);
//                     `all` when the inventory leaves the count to check.
//   -v M:M:ro         the model at the same path on every host, as vLLM is told;
//                     read-only: serving never writes it.
//   -v, --device, --ulimit  the operator's volumes, devices (/dev/infiniband for
//                     RDMA) and limits (memlock for NCCL's pinned memory).
//   -e K=V            NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME, VLLM_HOST_IP... from
//                     clusterctl, in key order (std::map) so the argv is stable.
//   --label           clusterd.cluster / clusterd.deployment: how `down` and a
//                     restarted agent find leftovers (DockerListByLabelArgs).
//   --pull never      the image was loaded by `push`; on an air-gapped network a
//                     pull attempt can only hang or fail late, so fail at once.
//   --entrypoint ray  vLLM images start the API server by default; this container
//                     is a Ray node, `vllm serve` comes later through exec.
// Not used: -d (the agent supervises the foreground `docker run`, whose exit
// status is the container's), --rm (a failed container stays for `docker logs`
// until `down` removes it; the agent removes a stale one before `run`), -p
// (meaningless with host networking).
#include "agent/vllm_docker.h"

#include <cstdlib>
#include <sstream>

namespace cluster::agent {

std::vector<std::string> DockerRunArgs(const control::ContainerSpec& spec, const ContainerLabels& labels,
                                       const std::string& docker) {
  std::vector<std::string> argv = {docker, "run", "--name", spec.name, "--network", "host"};
  if (spec.ipc_host) {
    argv.insert(argv.end(), {"--ipc", "host"});
  } else {
    argv.insert(argv.end(), {"--shm-size", spec.shm_size});
  }
  if (spec.gpus) {
    // docker reads --gpus as CSV: a device list must be quoted to stay one field.
    std::string devices;
    for (int gpu : spec.gpu_devices) devices += (devices.empty() ? "" : ",") + std::to_string(gpu);
    argv.insert(argv.end(), {"--gpus", devices.empty() ? "all" : "\"device=" + devices + "\""});
  }
  argv.insert(argv.end(), {"-v", spec.model_path + ":" + spec.model_path + ":ro"});
  for (const std::string& volume : spec.volumes) argv.insert(argv.end(), {"-v", volume});
  for (const std::string& device : spec.devices) argv.insert(argv.end(), {"--device", device});
  for (const std::string& limit : spec.ulimits) argv.insert(argv.end(), {"--ulimit", limit});
  for (const auto& [key, value] : spec.env) argv.insert(argv.end(), {"-e", key + "=" + value});
  // The key is named only: docker takes its value from its own environment,
  // which the agent fills from its copy, so it never shows in an argv or log.
  if (spec.api_key) argv.insert(argv.end(), {"-e", kApiKeyVariable});
  argv.insert(argv.end(), {"--label", std::string(kClusterLabel) + "=" + labels.cluster, "--label",
                           std::string(kDeploymentLabel) + "=" + labels.deployment});
  argv.insert(argv.end(), {"--pull", "never", "--entrypoint", "ray", spec.image, "start", "--block"});
  const std::string port = std::to_string(spec.ray_port);
  if (spec.head) {
    // The dashboard (and its job API) on loopback only: Ray's API is
    // unauthenticated (CVE-2023-48022), so it must not face the network.
    argv.insert(argv.end(), {"--head", "--port", port, "--dashboard-host", "127.0.0.1"});
  } else {
    argv.insert(argv.end(), {"--address", spec.head_address + ":" + port});
  }
  argv.insert(argv.end(), {"--node-ip-address", spec.node_address});
  return argv;
}

std::vector<std::string> DockerStopArgs(const std::string& name, int grace_s, const std::string& docker) {
  // -t: both the 20.10 CLI (--time) and newer ones (--timeout) accept it.
  return {docker, "stop", "-t", std::to_string(grace_s), name};
}

std::vector<std::string> DockerRemoveArgs(const std::string& name, const std::string& docker) {
  return {docker, "rm", "-f", name};
}

std::vector<std::string> RayStatusArgs(const std::string& name, const std::string& docker) {
  return {docker, "exec", name, "ray", "status"};
}

std::vector<std::string> VllmServeArgs(const control::ContainerSpec& spec, const std::string& docker) {
  std::vector<std::string> argv = {docker, "exec", spec.name, "vllm", "serve", spec.model_path};
  if (!spec.served_model_name.empty()) {
    argv.insert(argv.end(), {"--served-model-name", spec.served_model_name});
  }
  argv.insert(argv.end(), {"--tensor-parallel-size", std::to_string(spec.tensor_parallel),
                           "--pipeline-parallel-size", std::to_string(spec.pipeline_parallel)});
  if (!spec.dtype.empty()) {
    argv.insert(argv.end(), {"--dtype", spec.dtype});
  }
  const std::string& host = spec.serve_address.empty() ? spec.node_address : spec.serve_address;
  argv.insert(argv.end(), {"--host", host, "--port", std::to_string(spec.serve_port),
                           "--distributed-executor-backend", "ray"});
  argv.insert(argv.end(), spec.vllm_args.begin(), spec.vllm_args.end());
  return argv;
}

std::vector<std::string> DockerListByLabelArgs(const std::string& cluster, const std::string& docker) {
  return {docker, "ps", "-a", "--filter", std::string("label=") + kClusterLabel + "=" + cluster,
          "--format", "{{.Names}}"};
}

namespace {

// "0.0/2.0 GPU" -> 2.0 when the resource is exactly `resource`.
std::optional<double> UsageTotal(std::string_view line, std::string_view resource) {
  const auto begin = line.find_first_not_of(' ');
  if (begin == std::string_view::npos) return std::nullopt;
  line.remove_prefix(begin);
  const auto space = line.find(' ');
  if (space == std::string_view::npos || line.substr(space + 1) != resource) return std::nullopt;
  const std::string_view amounts = line.substr(0, space);
  const auto slash = amounts.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string total(amounts.substr(slash + 1));
  char* end = nullptr;
  const double value = std::strtod(total.c_str(), &end);
  if (end == total.c_str() || *end != '\0') return std::nullopt;
  return value;
}

}  // namespace

std::optional<double> ParseRayStatusGpus(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string line;
  bool in_usage = false;
  std::optional<double> gpus;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!in_usage) {
      // Column 0 only: the cluster-wide block, not a node's indented " Usage:".
      if (line == "Usage:" || line == "Total Usage:") {
        in_usage = true;
        gpus = 0.0;
      }
      continue;
    }
    if (line.empty() || line.front() != ' ') break;  // the block ends at a blank line
    if (auto total = UsageTotal(line, "GPU")) gpus = *total;
  }
  return gpus;
}

}  // namespace cluster::agent
