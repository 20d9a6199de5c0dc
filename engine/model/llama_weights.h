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
// On the backend the projections that read the same input are fused, so one
// GEMM does the work of two or three (and the fused ops that follow read one
// output, engine/ops/backend.h):
//   qkv_proj     [(H + 2K) * h, d]  rows: q's, then k's, then v's   (+ qkv_bias)
//   gate_up_proj [2F, d]            rows: gate's, then up's         (+ gate_up_bias)
// Weights are stored in the backend's compute dtype, copied from the
// memory-mapped checkpoint in their stored dtype (no float32 copy of the
// model in host memory unless the backend computes in float32).
//
// Shard math lives here, and only here (Megatron layout; model_shard.h):
// tensor-parallel rank r of W takes
//   - column-parallel q/k/v/gate/up: rows for its heads (H/W query heads;
//     K/W kv heads when W divides K, else the one kv head its query heads
//     read, r / (W/K), replicated over W/K ranks) or its F/W intermediate
//     features, and those bias rows;
//   - row-parallel o/down: the matching input columns; their bias is loaded
//     on rank 0 only, so the all-reduce that sums the partial outputs adds it
//     exactly once;
//   - norms whole; the LM head's vocabulary rows [r V/W, (r+1) V/W) on the
//     last stage (vocab-parallel), the embedding whole on the first stage.
// A stage loads only its layers (as local layers 0, 1, ...). With W = 1 and
// one stage every "slice" is the whole tensor.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/checkpoint.h"
#include "engine/model/model_config.h"
#include "engine/model/model_shard.h"
#include "engine/ops/backend.h"
#include "engine/status.h"

namespace engine {

struct LlamaLayerWeights {
  Tensor input_layernorm;              // [d]
  Tensor qkv_proj, qkv_bias;           // bias empty unless qkv_bias
  Tensor o_proj, o_bias;               // [d, H*h]; o_bias empty unless o_bias (and rank 0)
  Tensor post_attention_layernorm;     // [d]
  Tensor gate_up_proj, gate_up_bias;   // bias empty unless mlp_bias
  Tensor down_proj, down_bias;         // [d, F]; down_bias empty unless mlp_bias (and rank 0)
};

// What loading converted: the weights that did not fit the compute dtype
// (e.g. a BF16 checkpoint served in FP16), per tensor, and their total.
struct WeightConversion {
  ConversionReport total;
  std::vector<std::pair<std::string, ConversionReport>> tensors;  // only tensors with values out of range

  // "" when nothing was out of range, else e.g. "12 weights of 2 tensors are outside
  // the float16 range and were clamped to +-65504 (largest |w| 7.1e+05 in
  // model.layers.3.mlp.down_proj.weight)".
  std::string Summary(DType dtype) const;
};

struct LlamaWeights {
  Tensor embed_tokens;  // [V, d]; first stage only
  std::vector<LlamaLayerWeights> layers;  // the stage's layers
  Tensor norm;     // [d]; last stage only
  Tensor lm_head;  // [V / W, d]: this rank's vocabulary rows; last stage only (a view of embed_tokens when tied)
  std::int64_t local_heads = 0;     // H / W
  std::int64_t local_kv_heads = 0;  // K / W, or 1 when W is a multiple of K
  std::int64_t local_intermediate = 0;  // F / W
  std::size_t num_bytes = 0;        // backend memory held by the weights
  WeightConversion conversion;
};

// Loads this shard's weights onto `backend`, in its compute dtype.
// InvalidArgument if the heads, F or (with W > 1) the vocabulary do not
// divide by W, or W and K divide neither way; the checkpoint's errors
// (missing tensor, wrong shape, corrupt file) otherwise, naming file and
// tensor; ResourceExhausted if the device is full.
StatusOr<LlamaWeights> LoadLlamaWeights(const ModelConfig& config, const Checkpoint& checkpoint, Backend& backend,
                                        const ModelShard& shard);

}  // namespace engine
