#include "engine/model/llama_weights.h"

#include <string>

namespace engine {
namespace {

// Reads slices of checkpoint tensors and uploads them to the backend.
class WeightLoader {
 public:
  WeightLoader(const Checkpoint& checkpoint, Backend& backend) : checkpoint_(checkpoint), backend_(backend) {}

  StatusOr<Tensor> Whole(const std::string& name, const Shape& shape) {
    CLUSTER_ASSIGN_OR_RETURN(std::vector<float> values, checkpoint_.Read(name, shape));
    return backend_.Upload(values, shape);
  }

  // Rows [begin, end) of a tensor of full shape `shape`.
  StatusOr<Tensor> Rows(const std::string& name, const Shape& shape, std::int64_t begin, std::int64_t end) {
    CLUSTER_ASSIGN_OR_RETURN(std::vector<float> values, checkpoint_.ReadRows(name, shape, begin, end));
    Shape local = shape;
    local[0] = end - begin;
    return backend_.Upload(values, local);
  }

  // Columns [begin, end) of a 2-D tensor of full shape `shape`.
  StatusOr<Tensor> Columns(const std::string& name, const Shape& shape, std::int64_t begin, std::int64_t end) {
    CLUSTER_ASSIGN_OR_RETURN(std::vector<float> values, checkpoint_.ReadColumns(name, shape, begin, end));
    return backend_.Upload(values, Shape{shape[0], end - begin});
  }

 private:
  const Checkpoint& checkpoint_;
  Backend& backend_;
};

Status CheckDivisible(std::int64_t value, const char* what, int world_size) {
  if (value % world_size != 0) {
    return cluster::InvalidArgumentError(std::string(what) + " (" + std::to_string(value) +
                                         ") does not divide by the tensor-parallel size " +
                                         std::to_string(world_size));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<LlamaWeights> LoadLlamaWeights(const ModelConfig& c, const Checkpoint& checkpoint, Backend& backend,
                                        TensorParallelShard shard) {
  const int world = shard.world_size;
  const int rank = shard.rank;
  if (world <= 0 || rank < 0 || rank >= world) {
    return cluster::InvalidArgumentError("tensor-parallel rank " + std::to_string(rank) + " of " +
                                         std::to_string(world) + " is not a valid rank");
  }
  CLUSTER_RETURN_IF_ERROR(CheckDivisible(c.num_attention_heads, "num_attention_heads", world));
  CLUSTER_RETURN_IF_ERROR(CheckDivisible(c.num_key_value_heads, "num_key_value_heads", world));
  CLUSTER_RETURN_IF_ERROR(CheckDivisible(c.intermediate_size, "intermediate_size", world));

  const std::int64_t d = c.hidden_size, h = c.head_dim, V = c.vocab_size;
  const std::int64_t H = c.num_attention_heads, K = c.num_key_value_heads, F = c.intermediate_size;
  // This rank's ranges: query features, kv features, intermediate features.
  const std::int64_t q0 = rank * (H / world) * h, q1 = (rank + 1) * (H / world) * h;
  const std::int64_t kv0 = rank * (K / world) * h, kv1 = (rank + 1) * (K / world) * h;
  const std::int64_t f0 = rank * (F / world), f1 = (rank + 1) * (F / world);
  const bool owns_row_parallel_bias = rank == 0;

  WeightLoader load(checkpoint, backend);
  LlamaWeights w;
  w.local_heads = H / world;
  w.local_kv_heads = K / world;
  CLUSTER_ASSIGN_OR_RETURN(w.embed_tokens, load.Whole("model.embed_tokens.weight", {V, d}));
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LlamaLayerWeights l;
    CLUSTER_ASSIGN_OR_RETURN(l.input_layernorm, load.Whole(p + "input_layernorm.weight", {d}));
    CLUSTER_ASSIGN_OR_RETURN(l.q_proj, load.Rows(p + "self_attn.q_proj.weight", {H * h, d}, q0, q1));
    CLUSTER_ASSIGN_OR_RETURN(l.k_proj, load.Rows(p + "self_attn.k_proj.weight", {K * h, d}, kv0, kv1));
    CLUSTER_ASSIGN_OR_RETURN(l.v_proj, load.Rows(p + "self_attn.v_proj.weight", {K * h, d}, kv0, kv1));
    if (c.qkv_bias) {
      CLUSTER_ASSIGN_OR_RETURN(l.q_bias, load.Rows(p + "self_attn.q_proj.bias", {H * h}, q0, q1));
      CLUSTER_ASSIGN_OR_RETURN(l.k_bias, load.Rows(p + "self_attn.k_proj.bias", {K * h}, kv0, kv1));
      CLUSTER_ASSIGN_OR_RETURN(l.v_bias, load.Rows(p + "self_attn.v_proj.bias", {K * h}, kv0, kv1));
    }
    CLUSTER_ASSIGN_OR_RETURN(l.o_proj, load.Columns(p + "self_attn.o_proj.weight", {d, H * h}, q0, q1));
    if (c.o_bias && owns_row_parallel_bias) {
      CLUSTER_ASSIGN_OR_RETURN(l.o_bias, load.Whole(p + "self_attn.o_proj.bias", {d}));
    }
    CLUSTER_ASSIGN_OR_RETURN(l.post_attention_layernorm, load.Whole(p + "post_attention_layernorm.weight", {d}));
    CLUSTER_ASSIGN_OR_RETURN(l.gate_proj, load.Rows(p + "mlp.gate_proj.weight", {F, d}, f0, f1));
    CLUSTER_ASSIGN_OR_RETURN(l.up_proj, load.Rows(p + "mlp.up_proj.weight", {F, d}, f0, f1));
    CLUSTER_ASSIGN_OR_RETURN(l.down_proj, load.Columns(p + "mlp.down_proj.weight", {d, F}, f0, f1));
    if (c.mlp_bias) {
      CLUSTER_ASSIGN_OR_RETURN(l.gate_bias, load.Rows(p + "mlp.gate_proj.bias", {F}, f0, f1));
      CLUSTER_ASSIGN_OR_RETURN(l.up_bias, load.Rows(p + "mlp.up_proj.bias", {F}, f0, f1));
      if (owns_row_parallel_bias) {
        CLUSTER_ASSIGN_OR_RETURN(l.down_bias, load.Whole(p + "mlp.down_proj.bias", {d}));
      }
    }
    w.layers.push_back(std::move(l));
  }
  CLUSTER_ASSIGN_OR_RETURN(w.norm, load.Whole("model.norm.weight", {d}));
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;  // HF ties the two parameters; any stored lm_head.weight is ignored
  } else {
    CLUSTER_ASSIGN_OR_RETURN(w.lm_head, load.Whole("lm_head.weight", {V, d}));
  }
  return w;
}

}  // namespace engine
