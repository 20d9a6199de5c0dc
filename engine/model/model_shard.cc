#include "engine/model/model_shard.h"

#include <string>

#include "common/layer_split.h"

namespace engine {

StatusOr<ModelShard> MakeModelShard(int num_layers, int tp_size, int stages, int stage, int tp_rank) {
  if (tp_size < 1 || tp_rank < 0 || tp_rank >= tp_size || stages < 1 || stage < 0 || stage >= stages) {
    return cluster::InvalidArgumentError("stage " + std::to_string(stage) + " and tensor-parallel rank " +
                                         std::to_string(tp_rank) + " are not in a layout of " +
                                         std::to_string(stages) + " stages x " + std::to_string(tp_size));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::vector<cluster::LayerRange> split, cluster::SplitLayers(num_layers, stages));
  const cluster::LayerRange& mine = split[static_cast<std::size_t>(stage)];
  return ModelShard{tp_rank, tp_size, stage, stages, mine.first, mine.last + 1};
}

ModelParallelism SingleProcess(Comm& local, int num_layers) {
  return ModelParallelism{ModelShard{0, 1, 0, 1, 0, num_layers}, &local, &local};
}

}  // namespace engine
