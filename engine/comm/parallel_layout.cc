#include "engine/comm/parallel_layout.h"

#include <string>

namespace engine {

StatusOr<ParallelLayout> ParallelLayout::Create(int world_size, int tensor_parallel, int pipeline_parallel) {
  if (tensor_parallel < 1 || pipeline_parallel < 1) {
    return cluster::InvalidArgumentError("tensor_parallel and pipeline_parallel must be >= 1; got " +
                                         std::to_string(tensor_parallel) + " and " +
                                         std::to_string(pipeline_parallel));
  }
  if (static_cast<long long>(tensor_parallel) * pipeline_parallel != world_size) {
    return cluster::InvalidArgumentError("the world size must equal tensor_parallel x pipeline_parallel; got " +
                                         std::to_string(world_size) + " ranks for " +
                                         std::to_string(tensor_parallel) + " x " + std::to_string(pipeline_parallel));
  }
  return ParallelLayout(tensor_parallel, pipeline_parallel);
}

std::vector<int> ParallelLayout::TensorGroup(int stage) const {
  std::vector<int> ranks;
  for (int t = 0; t < tensor_parallel_; ++t) ranks.push_back(RankAt(stage, t));
  return ranks;
}

std::vector<int> ParallelLayout::PipelineGroup(int tp_rank) const {
  std::vector<int> ranks;
  for (int s = 0; s < pipeline_parallel_; ++s) ranks.push_back(RankAt(s, tp_rank));
  return ranks;
}

}  // namespace engine
