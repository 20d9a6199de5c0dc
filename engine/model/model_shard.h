// ModelShard: which part of the model one rank of a tensor x pipeline
// parallel world holds, and ModelParallelism: the communicators it uses.
//
// A rank of stage s and tensor-parallel rank t (rank = s x T + t,
// engine/comm/parallel_layout.h) holds:
//   - the layers of stage s (common/layer_split.h: the split clusterctl plan
//     prints), and KV cache only for them;
//   - the embedding on the first stage; the final norm and its 1/T of the LM
//     head's vocabulary rows on the last stage (vocab-parallel: no rank holds
//     the whole head);
//   - inside each layer its 1/T of the heads and intermediate features
//     (Megatron layout, llama_weights.h), with KV heads split when T divides
//     them and replicated when T is a multiple of them (Qwen2-7B has 4 KV
//     heads: at TP8 each KV head serves two ranks).
#pragma once

#include "engine/comm/comm.h"
#include "engine/status.h"

namespace engine {

struct ModelShard {
  int tp_rank = 0;
  int tp_size = 1;
  int stage = 0;
  int stages = 1;
  int first_layer = 0;  // the stage's layers: [first_layer, end_layer)
  int end_layer = 0;

  bool first_stage() const { return stage == 0; }
  bool last_stage() const { return stage == stages - 1; }
  int num_layers() const { return end_layer - first_layer; }
};

// The shard of (stage, tp_rank) for a model of `num_layers` layers.
// InvalidArgument for a layout that cannot hold it (more stages than layers,
// a rank outside the layout).
StatusOr<ModelShard> MakeModelShard(int num_layers, int tp_size, int stages, int stage, int tp_rank);

// The communicators a shard's forward uses: the stage's T ranks (all-reduce
// after row-parallel layers, all-gather of the vocab-parallel logits) and
// this tp rank's P ranks, one per stage (activations to the next stage).
// Both outlive the model. A world of one uses one LocalComm for both.
struct ModelParallelism {
  ModelShard shard;
  Comm* tensor_group = nullptr;
  Comm* pipeline_group = nullptr;
};

// The whole model in this process: `local` (a LocalComm) as both groups.
ModelParallelism SingleProcess(Comm& local, int num_layers);

}  // namespace engine
