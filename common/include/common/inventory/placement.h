// Rank placement: which host, GPU and layers each engine rank gets.
//
// Tensor parallelism stays within a host (its all-reduces need the fast
// intra-host links); pipeline parallelism goes across hosts (it sends one
// activation per micro-batch between stages). So:
//   - stage s runs on the s-th host used: the head first, then the other
//     hosts in inventory order; hosts beyond pipeline_parallel are unused;
//   - each used host runs tensor_parallel ranks on GPU indices 0..TP-1
//     (no GPU index when runtime.engine.device is cpu);
//   - world rank = stage * tensor_parallel + tp_rank.
// The agent starts ranks from this, and `plan` prints it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/inventory/inventory.h"
#include "common/layer_split.h"
#include "common/status.h"

namespace cluster::inventory {

// An inclusive range of decoder layers, e.g. [20, 39].
// A stage's layers, [first, last]; the split is common/layer_split.h's.
using ::cluster::LayerRange;

struct RankPlacement {
  int rank = 0;                      // world rank
  int stage = 0;                     // pipeline stage
  int tp_rank = 0;                   // rank within the stage's tensor-parallel group
  std::optional<int> gpu;            // CUDA device index on the host; nullopt on cpu
  std::optional<LayerRange> layers;  // the stage's layers; nullopt when the layer count is unknown
};

struct HostPlacement {
  std::string host;                  // Host::name
  std::optional<int> stage;          // nullopt: the host runs no rank
  std::vector<RankPlacement> ranks;  // by tp_rank; empty when unused
};

struct Placement {
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  std::vector<HostPlacement> hosts;  // every inventory host, in inventory order

  int world_size() const { return tensor_parallel * pipeline_parallel; }
  // The host running `stage`. REQUIRES: 0 <= stage < pipeline_parallel.
  const HostPlacement& StageHost(int stage) const;
  // All ranks, ordered by world rank.
  std::vector<RankPlacement> Ranks() const;
};

// The layers of each stage: common/layer_split.h (also the default split of
// the engine that the vllm-docker runtime runs, so `plan` shows what it will
// do). E.g. 30 layers over 4 stages: 7, 8, 8, 7.
using ::cluster::SplitLayers;

// Places the ranks of `inventory.runtime`. `num_layers` is the model's layer
// count, or nullopt when the model's facts are unknown (ranks then carry no
// layers). InvalidArgument, with what to change, when the runtime cannot be
// placed: pipeline_parallel larger than the host count, tensor_parallel larger
// than a used host's GPU count (a host with `gpus: auto` is trusted here and
// checked by `check`), or either below 1.
StatusOr<Placement> PlaceRanks(const Inventory& inventory, std::optional<int> num_layers);

}  // namespace cluster::inventory
