// LlamaWeights: the tensors of a Llama/Qwen2 checkpoint, loaded for one
// tensor-parallel rank.
//
// HF names and shapes (d = hidden_size, H = heads, K = kv heads, h = head_dim,
// F = intermediate_size, V = vocab_size):
//   model.embed_tokens.weight                      [V, d]
//   model.layers.{i}.input_layernorm.weight        [d]
//   model.layers.{i}.self_attn.q_proj.weight       [H*h, d]   (+ .bias [H*h] when qkv_bias)
//   model.layers.{i}.self_attn.k_proj.weight       [K*h, d]   (+ .bias [K*h])
//   model.layers.{i}.self_attn.v_proj.weight       [K*h, d]   (+ .bias [K*h])
//   model.layers.{i}.self_attn.o_proj.weight       [d, H*h]   (+ .bias [d] when o_bias)
//   model.layers.{i}.post_attention_layernorm.weight [d]
//   model.layers.{i}.mlp.gate_proj.weight          [F, d]     (+ .bias when mlp_bias)
//   model.layers.{i}.mlp.up_proj.weight            [F, d]
//   model.layers.{i}.mlp.down_proj.weight          [d, F]
//   model.norm.weight                              [d]
//   lm_head.weight                                 [V, d]     (absent or ignored when tied)
//
// Tensor-parallel shard math lives here, and only here (Megatron layout):
// rank r of W takes
//   - column-parallel q/k/v/gate/up: rows for its heads (H/W query heads,
//     K/W kv heads) or its F/W intermediate features, and those bias rows;
//   - row-parallel o/down: the matching input columns; their bias is loaded
//     on rank 0 only, so the all-reduce that sums the partial outputs adds it
//     exactly once;
//   - embeddings, norms and the LM head: whole (replicated).
// With W = 1 every "slice" is the whole tensor.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/checkpoint.h"
#include "engine/model/model_config.h"
#include "engine/ops/backend.h"
#include "engine/status.h"

namespace engine {

struct TensorParallelShard {
  int rank = 0;
  int world_size = 1;
};

struct LlamaLayerWeights {
  Tensor input_layernorm;
  Tensor q_proj, q_bias, k_proj, k_bias, v_proj, v_bias;  // biases empty unless qkv_bias
  Tensor o_proj, o_bias;                                  // o_bias empty unless o_bias (and rank 0)
  Tensor post_attention_layernorm;
  Tensor gate_proj, gate_bias, up_proj, up_bias, down_proj, down_bias;  // biases empty unless mlp_bias
};

struct LlamaWeights {
  Tensor embed_tokens;  // [V, d]
  std::vector<LlamaLayerWeights> layers;
  Tensor norm;     // [d]
  Tensor lm_head;  // [V, d]; the same tensor as embed_tokens when tied
  std::int64_t local_heads = 0;     // H / W
  std::int64_t local_kv_heads = 0;  // K / W
};

// Loads this rank's share of every weight onto `backend`. InvalidArgument if
// the heads or F do not divide by the world size; the checkpoint's errors
// (missing tensor, wrong shape, corrupt file) otherwise, naming file and tensor.
StatusOr<LlamaWeights> LoadLlamaWeights(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
                                        TensorParallelShard shard);

}  // namespace engine
