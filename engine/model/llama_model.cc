#include "engine/model/llama_model.h"

#include <cmath>
#include <string>

namespace engine {

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                       Backend& backend, Comm& comm) {
  CLUSTER_ASSIGN_OR_RETURN(
      LlamaWeights weights,
      LoadLlamaWeights(config, checkpoint, backend, TensorParallelShard{comm.rank(), comm.world_size()}));
  CLUSTER_ASSIGN_OR_RETURN(std::vector<float> inv_freq_host,
                           RopeInverseFrequencies(static_cast<int>(config.head_dim), config.rope));
  CLUSTER_ASSIGN_OR_RETURN(Tensor inv_freq,
                           backend.Upload(inv_freq_host, {static_cast<std::int64_t>(inv_freq_host.size())}));
  return std::unique_ptr<LlamaModel>(
      new LlamaModel(config, std::move(weights), std::move(inv_freq), backend, comm));
}

LlamaModel::LlamaModel(ModelConfig config, LlamaWeights weights, Tensor inv_freq, Backend& backend, Comm& comm)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      inv_freq_(std::move(inv_freq)),
      backend_(backend),
      comm_(comm) {}

KvCacheShape LlamaModel::CacheShape(std::int64_t num_blocks, std::int64_t block_size) const {
  return KvCacheShape{config_.num_hidden_layers, num_blocks, block_size, weights_.local_kv_heads, config_.head_dim};
}

void LlamaModel::Observe(std::string_view name, const Tensor& value, std::int64_t layer) {
  if (!observer_) return;
  if (layer < 0) {
    observer_(name, value);
  } else {
    observer_("layers." + std::to_string(layer) + "." + std::string(name), value);
  }
}

StatusOr<Logits> LlamaModel::Forward(const ForwardBatch& batch, KvCache& cache) {
  const auto n = static_cast<std::int64_t>(batch.token_ids.size());
  if (n == 0) return cluster::InvalidArgumentError("forward: the batch has no tokens");
  if (batch.attention.num_tokens() != n) {
    return cluster::InvalidArgumentError("forward: " + std::to_string(n) + " token ids but " +
                                         std::to_string(batch.attention.num_tokens()) + " positions");
  }
  if (batch.attention.block_size != cache.block_size()) {
    return cluster::InvalidArgumentError("forward: the batch uses block size " +
                                         std::to_string(batch.attention.block_size) + " but the cache has " +
                                         std::to_string(cache.block_size()));
  }
  CLUSTER_RETURN_IF_ERROR(ValidateAttentionBatch(batch.attention, cache.shape().num_blocks));
  for (std::int32_t row : batch.logit_rows) {
    if (row < 0 || row >= n) {
      return cluster::InvalidArgumentError("forward: logit row " + std::to_string(row) + " is outside the " +
                                           std::to_string(n) + " tokens of the batch");
    }
  }
  const std::vector<std::int64_t> slots = KvSlots(batch.attention);

  CLUSTER_ASSIGN_OR_RETURN(Tensor hidden, backend_.Embedding(weights_.embed_tokens, batch.token_ids));
  Observe("embed_tokens", hidden);
  for (std::int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    CLUSTER_ASSIGN_OR_RETURN(hidden, Layer(i, hidden, batch, slots, cache));
  }

  Logits logits;
  logits.rows = static_cast<std::int64_t>(batch.logit_rows.size());
  logits.vocab = config_.vocab_size;
  if (logits.rows == 0) return logits;
  CLUSTER_ASSIGN_OR_RETURN(Tensor last_hidden, backend_.GatherRows(hidden, batch.logit_rows));
  CLUSTER_ASSIGN_OR_RETURN(Tensor normed, backend_.RmsNorm(last_hidden, weights_.norm,
                                                           static_cast<float>(config_.rms_norm_eps)));
  Observe("norm", normed);
  CLUSTER_ASSIGN_OR_RETURN(Tensor logits_tensor, backend_.Linear(normed, weights_.lm_head, Tensor()));
  Observe("logits", logits_tensor);
  CLUSTER_ASSIGN_OR_RETURN(logits.values, backend_.Download(logits_tensor));
  return logits;
}

StatusOr<Tensor> LlamaModel::Layer(std::int64_t index, const Tensor& hidden, const ForwardBatch& batch,
                                   std::span<const std::int64_t> slots, KvCache& cache) {
  const LlamaLayerWeights& w = weights_.layers[static_cast<std::size_t>(index)];
  const std::int64_t n = hidden.dim(0);
  const std::int64_t heads = weights_.local_heads, kv_heads = weights_.local_kv_heads, h = config_.head_dim;
  const auto eps = static_cast<float>(config_.rms_norm_eps);

  // Attention block.
  CLUSTER_ASSIGN_OR_RETURN(Tensor x, backend_.RmsNorm(hidden, w.input_layernorm, eps));
  Observe("input_layernorm", x, index);
  CLUSTER_ASSIGN_OR_RETURN(Tensor q_flat, backend_.Linear(x, w.q_proj, w.q_bias));
  CLUSTER_ASSIGN_OR_RETURN(Tensor k_flat, backend_.Linear(x, w.k_proj, w.k_bias));
  CLUSTER_ASSIGN_OR_RETURN(Tensor v_flat, backend_.Linear(x, w.v_proj, w.v_bias));
  CLUSTER_ASSIGN_OR_RETURN(Tensor q, q_flat.Reshaped({n, heads, h}));
  CLUSTER_ASSIGN_OR_RETURN(Tensor k, k_flat.Reshaped({n, kv_heads, h}));
  CLUSTER_ASSIGN_OR_RETURN(Tensor v, v_flat.Reshaped({n, kv_heads, h}));
  CLUSTER_RETURN_IF_ERROR(backend_.Rope(q, batch.attention.positions, inv_freq_));
  CLUSTER_RETURN_IF_ERROR(backend_.Rope(k, batch.attention.positions, inv_freq_));
  Observe("q_rope", q, index);
  Observe("k_rope", k, index);
  CLUSTER_RETURN_IF_ERROR(backend_.WriteKv(k, v, slots, cache.keys(index), cache.values(index)));
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(h)));
  CLUSTER_ASSIGN_OR_RETURN(Tensor attn_heads, backend_.PagedAttention(q, cache.keys(index), cache.values(index),
                                                                      batch.attention, scale));
  CLUSTER_ASSIGN_OR_RETURN(Tensor attn, attn_heads.Reshaped({n, heads * h}));
  Observe("attn", attn, index);
  CLUSTER_ASSIGN_OR_RETURN(Tensor o, backend_.Linear(attn, w.o_proj, w.o_bias));
  CLUSTER_RETURN_IF_ERROR(comm_.AllReduceSum(o));  // o_proj is row-parallel: sum the ranks' partial outputs
  Observe("o_proj", o, index);
  CLUSTER_ASSIGN_OR_RETURN(Tensor after_attn, backend_.Add(hidden, o));

  // MLP block (SwiGLU).
  CLUSTER_ASSIGN_OR_RETURN(Tensor y, backend_.RmsNorm(after_attn, w.post_attention_layernorm, eps));
  Observe("post_attention_layernorm", y, index);
  CLUSTER_ASSIGN_OR_RETURN(Tensor gate, backend_.Linear(y, w.gate_proj, w.gate_bias));
  CLUSTER_ASSIGN_OR_RETURN(Tensor up, backend_.Linear(y, w.up_proj, w.up_bias));
  CLUSTER_ASSIGN_OR_RETURN(Tensor act, backend_.SiluMul(gate, up));
  CLUSTER_ASSIGN_OR_RETURN(Tensor down, backend_.Linear(act, w.down_proj, w.down_bias));
  CLUSTER_RETURN_IF_ERROR(comm_.AllReduceSum(down));  // down_proj is row-parallel
  Observe("mlp", down, index);
  CLUSTER_ASSIGN_OR_RETURN(Tensor out, backend_.Add(after_attn, down));
  Observe("output", out, index);
  return out;
}

}  // namespace engine
