// ParallelLayout: where each rank of a tensor x pipeline parallel world sits.
//
//   rank = stage x tensor_parallel + tp_rank
//
// A tensor group is the tensor_parallel consecutive ranks of one stage (one
// host: they all-reduce after every row-parallel layer); a pipeline group is
// the pipeline_parallel ranks with the same tp_rank, one per stage, in stage
// order (they pass activations to the next stage). Group ranks are the
// position in these lists: tp_rank in the tensor group, stage in the
// pipeline group. The reference cluster, TP4 x PP4: stage 2's tensor group is
// ranks 8-11, tp rank 1's pipeline group is ranks 1, 5, 9, 13.
#pragma once

#include <vector>

#include "engine/status.h"

namespace engine {

class ParallelLayout {
 public:
  // InvalidArgument unless both factors are >= 1 and their product is world_size.
  static StatusOr<ParallelLayout> Create(int world_size, int tensor_parallel, int pipeline_parallel);

  int world_size() const { return tensor_parallel_ * pipeline_parallel_; }
  int tensor_parallel() const { return tensor_parallel_; }
  int pipeline_parallel() const { return pipeline_parallel_; }

  // REQUIRES: 0 <= rank < world_size() (and the same for stage, tp_rank).
  int StageOf(int rank) const { return rank / tensor_parallel_; }
  int TpRankOf(int rank) const { return rank % tensor_parallel_; }
  int RankAt(int stage, int tp_rank) const { return stage * tensor_parallel_ + tp_rank; }

  // World ranks of a group, in group-rank order.
  std::vector<int> TensorGroup(int stage) const;
  std::vector<int> PipelineGroup(int tp_rank) const;

 private:
  ParallelLayout(int tensor_parallel, int pipeline_parallel)
      : tensor_parallel_(tensor_parallel), pipeline_parallel_(pipeline_parallel) {}

  int tensor_parallel_;
  int pipeline_parallel_;
};

}  // namespace engine
