#include "runtimes/engine/deployment.h"

#include <random>

#include <fmt/format.h>

#include "cli/lifecycle/check_comm.h"
#include "runtimes/engine/inventory.h"
#include "runtimes/engine/name.h"

namespace cluster::cli {
namespace {

using inventory::EngineDevice;
using inventory::EngineOptionsOf;
using inventory::Host;

class Engine final : public Runtime {
 public:
  explicit Engine(const inventory::Inventory& inventory) : inv_(inventory) {}

  HostNeeds Needs() const override {
    HostNeeds needs;
    needs.engine = true;
    if (EngineOptionsOf(inv_.runtime).device == EngineDevice::kCuda) {
      needs.engine_device = "cuda";
      needs.engine_cuda_runtime = EngineCudaRuntime();
    }
    needs.without_gpus = "set runtime.engine.device: cpu";
    needs.head_ports = {inv_.runtime.port};
    if (World() > 1) needs.head_ports.push_back(RendezvousPort(inv_));
    return needs;
  }

  std::vector<CheckRow> SummaryRows() const override {
    const auto& r = inv_.runtime;
    return {{"", "runtime", "world size", CheckRow::Verdict::kPass,
             World() == 1 ? "1 rank"
                          : fmt::format("{} ranks (tensor_parallel {} x pipeline_parallel {})", World(),
                                        r.tensor_parallel, r.pipeline_parallel),
             ""}};
  }

  std::optional<CheckRow> CommCheckUnsupported() const override { return std::nullopt; }

  void AddUnits(const StartPlan& plan, std::vector<control::StartRequest>& requests) const override {
    const auto& r = inv_.runtime;
    const inventory::EngineOptions& engine = inventory::EngineOptionsOf(r);
    const inventory::Placement& placement = *plan.placement;
    const Host* head = inv_.Head();
    const inventory::Model* model = inv_.FindModel(r.model);
    // The CPU engine computes in float32; on GPUs the engine decides (the
    // checkpoint's dtype, or float16 where the GPU has no bfloat16:
    // docs/engine-cuda.md).
    const std::string dtype =
        r.dtype != inventory::Dtype::kAuto ? inventory::DtypeName(r.dtype) : r.RanksOnCpu() ? "float32" : "auto";
    // The ranks meet at rank 0's rendezvous: only from the hosts' addresses, only with this token.
    const std::string world_token = placement.world_size() > 1 ? NewWorldToken() : "";
    std::vector<std::string> peers;
    for (const Host& h : inv_.hosts) peers.push_back(h.ClusterAddress());
    for (std::size_t i = 0; i < inv_.hosts.size(); ++i) {
      const Host& host = inv_.hosts[i];
      control::StartRequest& req = requests[i];
      req.runtime = runtimes::engine::kName;
      for (const inventory::RankPlacement& placed : placement.hosts[i].ranks) {
        control::RankSpec spec;
        spec.rank = placed.rank;
        spec.world_size = placement.world_size();
        spec.tensor_parallel = placement.tensor_parallel;
        spec.pipeline_parallel = placement.pipeline_parallel;
        spec.stage = placed.stage;
        spec.tp_rank = placed.tp_rank;
        spec.gpu = placed.gpu;
        spec.device = inventory::EngineDeviceName(engine.device);
        spec.dtype = dtype;
        spec.model_path = model ? inv_.ModelPathOn(host, *model).string() : "";
        spec.served_model_name = r.model;
        spec.rendezvous = head ? fmt::format("{}:{}", head->ClusterAddress(), RendezvousPort(inv_)) : "";
        if (placed.rank == 0) {
          spec.serve_address = r.bind.value_or(host.address);
          spec.serve_port = r.port;
          spec.api_key = r.api_key_file.has_value();
        }
        spec.max_context = engine.max_context;
        if (engine.device == EngineDevice::kCuda) spec.gpu_memory_fraction = engine.gpu_memory_fraction;
        spec.batch_invariant = engine.batch_invariant;
        spec.env = plan.report->EnvFor(host.name);
        if (!world_token.empty()) {
          spec.env[kWorldTokenVariable] = world_token;
          spec.rendezvous_peers = peers;
          spec.local_address = host.ClusterAddress();
        }
        req.ranks.push_back(std::move(spec));
      }
    }
  }

  void Describe(nlohmann::ordered_json& runtime) const override {
    const inventory::EngineOptions& engine = inventory::EngineOptionsOf(inv_.runtime);
    runtime["device"] = inventory::EngineDeviceName(engine.device);
    runtime["batch_invariant"] = engine.batch_invariant;
  }

  std::vector<std::string> PlanNotes() const override {
    if (!inventory::EngineOptionsOf(inv_.runtime).batch_invariant) return {};
    return {"batch invariant (runtime.engine.batch_invariant): a token's result never depends on the other requests "
            "in its step; on GPUs the engine decodes slower than in the default mode the decode estimate assumes "
            "(docs/engine-cuda.md)"};
  }

 private:
  int World() const { return inv_.runtime.tensor_parallel * inv_.runtime.pipeline_parallel; }

  const inventory::Inventory& inv_;
};

}  // namespace

std::string NewWorldToken() {
  std::random_device random;
  std::string token;
  for (int i = 0; i < 8; ++i) token += fmt::format("{:08x}", random());
  return token;
}

std::string EngineCudaRuntime() { return CLUSTER_ENGINE_CUDA; }

std::unique_ptr<Runtime> EngineRuntime(const inventory::Inventory& inventory) {
  return std::make_unique<Engine>(inventory);
}

}  // namespace cluster::cli
