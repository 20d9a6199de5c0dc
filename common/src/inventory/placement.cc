// Rank placement; the rules are in placement.h.
#include "common/inventory/placement.h"

#include <cassert>

namespace cluster::inventory {

const HostPlacement& Placement::StageHost(int stage) const {
  for (const HostPlacement& h : hosts)
    if (h.stage == stage) return h;
  assert(false && "no host runs this stage");
  return hosts.front();
}

std::vector<RankPlacement> Placement::Ranks() const {
  std::vector<RankPlacement> ranks(static_cast<size_t>(world_size()));
  for (const HostPlacement& h : hosts)
    for (const RankPlacement& r : h.ranks) ranks[static_cast<size_t>(r.rank)] = r;
  return ranks;
}

StatusOr<Placement> PlaceRanks(const Inventory& inventory, std::optional<int> num_layers) {
  const Runtime& runtime = inventory.runtime;
  const int tp = runtime.tensor_parallel;
  const int pp = runtime.pipeline_parallel;
  if (tp < 1 || pp < 1)
    return InvalidArgumentError("runtime: tensor_parallel and pipeline_parallel must be at least 1, found " +
                                std::to_string(tp) + " and " + std::to_string(pp));
  if (pp > static_cast<int>(inventory.hosts.size()))
    return InvalidArgumentError(
        "runtime.pipeline_parallel is " + std::to_string(pp) + " but the inventory has " +
        std::to_string(inventory.hosts.size()) +
        (inventory.hosts.size() == 1 ? " host" : " hosts") +
        ": each pipeline stage runs on its own host; add hosts or lower pipeline_parallel");

  std::optional<std::vector<LayerRange>> layers;
  if (num_layers) {
    CLUSTER_ASSIGN_OR_RETURN(layers, SplitLayers(*num_layers, pp));
  }

  // Stage order: the head, then the other hosts in inventory order.
  const Host* head = inventory.Head();
  std::vector<const Host*> order = {head};
  for (const Host& h : inventory.hosts)
    if (&h != head) order.push_back(&h);

  const bool on_cpu = runtime.RanksOnCpu();
  Placement placement;
  placement.tensor_parallel = tp;
  placement.pipeline_parallel = pp;
  for (const Host& h : inventory.hosts) placement.hosts.push_back({h.name, std::nullopt, {}});

  for (int stage = 0; stage < pp; ++stage) {
    const Host& host = *order[static_cast<size_t>(stage)];
    if (!on_cpu && host.gpus && *host.gpus < tp)
      return InvalidArgumentError(
          "host " + host.name + " runs pipeline stage " + std::to_string(stage) + " but has " +
          std::to_string(*host.gpus) + (*host.gpus == 1 ? " GPU" : " GPUs") +
          " for tensor_parallel " + std::to_string(tp) +
          ": every stage's host needs tensor_parallel GPUs; lower tensor_parallel or use hosts with more GPUs");
    HostPlacement& placed = placement.hosts[static_cast<size_t>(&host - inventory.hosts.data())];
    placed.stage = stage;
    for (int tp_rank = 0; tp_rank < tp; ++tp_rank) {
      RankPlacement r;
      r.rank = stage * tp + tp_rank;
      r.stage = stage;
      r.tp_rank = tp_rank;
      if (!on_cpu) r.gpu = tp_rank;
      if (layers) r.layers = (*layers)[static_cast<size_t>(stage)];
      placed.ranks.push_back(r);
    }
  }
  return placement;
}

}  // namespace cluster::inventory
