#include "runtimes/vllm_docker/deployment.h"

#include "runtimes/vllm_docker/inventory.h"
#include "runtimes/vllm_docker/name.h"

namespace cluster::cli {
namespace {

using inventory::Host;

class VllmDocker final : public Runtime {
 public:
  explicit VllmDocker(const inventory::Inventory& inventory) : inv_(inventory) {}

  HostNeeds Needs() const override {
    const inventory::VllmDockerOptions& options = inventory::VllmDockerOptionsOf(inv_.runtime);
    HostNeeds needs;
    needs.image = ImageName();
    // With ipc: host the container uses the host's own /dev/shm, whatever its size.
    if (!options.ipc_host) {
      needs.shm = HostNeeds::Shm{options.shm_size_bytes, "runtime.vllm_docker.shm_size", options.shm_size};
    }
    needs.head_ports = {inv_.runtime.port, inventory::kRayPort};
    return needs;
  }

  std::optional<CheckRow> CommCheckUnsupported() const override {
    return CheckRow{"", "comm", "bench-comm", CheckRow::Verdict::kWarn,
                    "not run: --comm measures the bundled engine's collectives, and runtime vllm-docker runs its own",
                    "use the vLLM image's NCCL tests inside the containers, or drop --comm"};
  }

  void AddUnits(const StartPlan& plan, std::vector<control::StartRequest>& requests) const override {
    const auto& r = inv_.runtime;
    const inventory::VllmDockerOptions& vllm = inventory::VllmDockerOptionsOf(r);
    const inventory::Placement& placement = *plan.placement;
    const Host* head = inv_.Head();
    const inventory::Model* model = inv_.FindModel(r.model);
    int total_gpus = 0;
    for (const auto& hp : placement.hosts) total_gpus += static_cast<int>(hp.ranks.size());
    for (std::size_t i = 0; i < inv_.hosts.size(); ++i) {
      const Host& host = inv_.hosts[i];
      control::StartRequest& req = requests[i];
      req.runtime = runtimes::vllm_docker::kName;
      if (!placement.hosts[i].stage) continue;  // a host beyond pipeline_parallel runs nothing
      control::ContainerSpec c;
      c.name = ContainerName(inv_);
      c.image = ImageName();
      c.shm_size = vllm.shm_size;
      c.model_path = model ? inv_.ModelPathOn(host, *model).string() : "";
      c.env = plan.report->EnvFor(host.name);
      for (const auto& [k, v] : vllm.env) c.env[k] = v;
      c.gpus = true;
      if (host.gpus) {  // the GPUs the inventory gives the host; `auto`: all of them
        for (int g = 0; g < *host.gpus; ++g) c.gpu_devices.push_back(g);
      }
      c.volumes = vllm.volumes;
      c.devices = vllm.devices;
      for (const auto& [name, limit] : vllm.ulimits) c.ulimits.push_back(name + "=" + limit);
      c.ipc_host = vllm.ipc_host;
      c.head = &host == head;
      c.api_key = c.head && r.api_key_file.has_value();
      c.node_address = host.ClusterAddress();
      c.head_address = head ? head->ClusterAddress() : host.ClusterAddress();
      c.serve_address = r.bind.value_or(host.address);
      c.ray_port = inventory::kRayPort;
      c.expected_gpus = total_gpus;
      c.served_model_name = r.model;
      c.tensor_parallel = placement.tensor_parallel;
      c.pipeline_parallel = placement.pipeline_parallel;
      c.dtype = r.dtype == inventory::Dtype::kAuto ? "" : inventory::DtypeName(r.dtype);  // "": vLLM decides
      c.serve_port = r.port;
      c.vllm_args = vllm.args;
      req.container = std::move(c);
    }
  }

  void Describe(nlohmann::ordered_json& runtime) const override { runtime["image"] = inventory::VllmDockerOptionsOf(inv_.runtime).image; }

 private:
  // The image's name as Docker knows it: the artifacts.images entry's.
  std::string ImageName() const {
    const inventory::Image* image = inv_.FindImage(inventory::VllmDockerOptionsOf(inv_.runtime).image);
    return image ? image->name : inventory::VllmDockerOptionsOf(inv_.runtime).image;
  }

  const inventory::Inventory& inv_;
};

}  // namespace

std::string ContainerName(const inventory::Inventory& inventory) { return "clusterd-" + inventory.cluster_name; }

std::unique_ptr<Runtime> VllmDockerRuntime(const inventory::Inventory& inventory) {
  return std::make_unique<VllmDocker>(inventory);
}

}  // namespace cluster::cli
