// LlamaModel: the decoder of Llama and Qwen2 (and the DeepSeek-R1 distills of
// both), written against Backend and Comm only.
//
// One step, for n tokens (d = hidden, H/K = this rank's query/kv heads,
// h = head_dim, F = this rank's intermediate features):
//   hidden   = embed_tokens[token_ids]                              [n, d]
//   per layer:
//     x      = rms_norm(hidden, input_layernorm)                     [n, d]
//     q,k,v  = x.Wq^T (+bq), x.Wk^T (+bk), x.Wv^T (+bv)             [n, H, h], [n, K, h] x2
//     q,k    = rope(q, positions), rope(k, positions)
//     cache[slot(token)] = k, v                                      (paged KV cache)
//     attn   = paged_attention(q, cache, 1/sqrt(h))                  [n, H*h]
//     o      = all_reduce(attn.Wo^T (+bo))                           [n, d]   (row-parallel)
//     hidden = hidden + o
//     x      = rms_norm(hidden, post_attention_layernorm)
//     mlp    = all_reduce((silu(x.Wg^T) * x.Wu^T).Wd^T)              [n, d]   (row-parallel)
//     hidden = hidden + mlp
//   logits   = rms_norm(hidden[logit_rows], norm) . lm_head^T        [rows, V]
// The only differences between the architectures are config flags (biases,
// rope scaling, tied embeddings), so there is one implementation.
//
// Debugging: SetObserver receives every named intermediate (the names in
// the comment above, prefixed "layers.<i>." inside a layer) as it is
// computed, so a dump can be compared with a PyTorch run layer by layer.
//
// Thread safety: one thread at a time (it drives one Backend and one Comm).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "engine/comm/comm.h"
#include "engine/model/checkpoint.h"
#include "engine/model/language_model.h"
#include "engine/model/llama_weights.h"
#include "engine/ops/backend.h"

namespace engine {

class LlamaModel final : public LanguageModel {
 public:
  // Loads this rank's weights (rank and world size from `comm`). `backend`
  // and `comm` must outlive the model.
  static StatusOr<std::unique_ptr<LlamaModel>> Load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                    Backend& backend, Comm& comm);

  const ModelConfig& config() const override { return config_; }
  KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const override;
  StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) override;

  using Observer = std::function<void(std::string_view name, const Tensor& value)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

 private:
  LlamaModel(ModelConfig config, LlamaWeights weights, Tensor inv_freq, Backend& backend, Comm& comm);

  StatusOr<Tensor> Layer(std::int64_t index, const Tensor& hidden, const ForwardBatch& batch,
                         std::span<const std::int64_t> slots, KvCache& cache);
  void Observe(std::string_view name, const Tensor& value, std::int64_t layer = -1);

  ModelConfig config_;
  LlamaWeights weights_;
  Tensor inv_freq_;  // [head_dim / 2]
  Backend& backend_;
  Comm& comm_;
  Observer observer_;
};

}  // namespace engine
