// LlamaModel: the decoder of Llama and Qwen2 (and the DeepSeek-R1 distills of
// both), written against Backend and Comm only.
//
// One step, for n tokens (d = hidden, H/K = this rank's query/kv heads,
// h = head_dim, F = this rank's intermediate features):
//   residual = embed_tokens[token_ids]                              [n, d] F32
//   per layer:
//     x      = rms_norm(residual += mlp of the layer before, input_layernorm)
//     qkv    = x.Wqkv^T                                              [n, (H+2K)h]
//     q      = rope(q + bq); cache[slot(token)] = rope(k + bk), v + bv   (fused: qkv_rope)
//     attn   = paged_attention(q, cache, 1/sqrt(h))                  [n, H, h]
//     o      = all_reduce(attn.Wo^T (+bo))                           [n, d]   (row-parallel)
//     x      = rms_norm(residual += o, post_attention_layernorm)
//     mlp    = all_reduce(silu_mul(x.Wgate_up^T).Wd^T)               [n, d]   (row-parallel)
//   norm     = rms_norm(residual += mlp, norm)[logit_rows]
//   logits   = norm . lm_head^T                                      [rows, V] F32, and their argmax
//
// In a tensor x pipeline parallel world (model_shard.h) a rank runs its
// stage: the first stage starts from the embedding, a later one receives
// (residual, the last MLP output) from the stage before; a stage that is not
// the last sends them on and returns no logits. The last stage's ranks each
// compute their vocabulary slice of the logits; their argmax ids and winning
// values are all-gathered over the tensor group and the best taken (lowest
// id among ties, as one rank would), and rows asked for in full are
// all-gathered whole.
// The only differences between the architectures are config flags (biases,
// rope scaling, tied embeddings), so there is one implementation.
//
// Memory: Prepare allocates a workspace for the largest step (every
// activation above, [max_tokens, ...], plus the step's index inputs); a step
// runs on the first n rows of each buffer and allocates nothing. Logits stay
// on the backend: the argmax of every row comes back, and the values of the
// rows the caller asks for.
//
// Recorded steps: on a backend that can record (CUDA graphs), a world of one
// runs each decode step of up to kMaxRecordedTokens tokens from a recording
// of its ops, made the first time a step of its host-side sizes comes (its
// tokens, one per sequence; its logit rows; the block tables' padded row
// length: StepBuffers::Upload's for_replay) and kept for the next such steps, the
// least recently used kMaxRecordings at most. A replay runs the same kernels
// on the same buffers, so it computes what running the ops one by one would
// with that step's padding. Recording stops for good, with the step run op by
// op, if it ever fails.
//
// Debugging: SetObserver receives every named intermediate (the names in
// the comment above, prefixed "layers.<i>." inside a layer: input_layernorm,
// qkv, q_rope, attn, o_proj, post_attention_layernorm, mlp; then norm and
// logits) as it is computed, as a backend tensor, so a dump can be compared
// with a PyTorch run layer by layer.
//
// Thread safety: one thread at a time (it drives one Backend and one Comm).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <string_view>

#include "engine/comm/comm.h"
#include "engine/model/checkpoint.h"
#include "engine/model/language_model.h"
#include "engine/model/llama_weights.h"
#include "engine/ops/backend.h"

namespace engine {

class LlamaModel final : public LanguageModel {
 public:
  // Loads the shard's weights. `backend` and the communicators must outlive the model.
  static StatusOr<std::unique_ptr<LlamaModel>> Load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                    Backend& backend, const ModelParallelism& parallel);

  const ModelConfig& config() const override { return config_; }
  KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const override;
  Status Prepare(const StepLimits& limits) override;
  ModelMemory memory() const override;
  StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) override;

  // What loading converted (values outside the compute dtype's range).
  const WeightConversion& conversion() const { return weights_.conversion; }

  // Steps run from a recording so far (see "Recorded steps" above).
  std::int64_t replayed_steps() const { return replayed_steps_; }

  using Observer = std::function<void(std::string_view name, const Tensor& value)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

 private:
  LlamaModel(ModelConfig config, LlamaWeights weights, Tensor inv_freq, Backend& backend,
             const ModelParallelism& parallel);

  // The activations of the largest step; a step uses their first n rows.
  struct Workspace {
    std::optional<StepBuffers> step;
    Tensor residual;  // [N, d] F32
    Tensor x;         // [N, d] T: norm outputs
    Tensor qkv;       // [N, (H + 2K) h] T
    Tensor q;         // [N, H, h] T: q after bias and rope
    Tensor attn;      // [N, H, h] T
    Tensor attention_scratch;  // F32, as the backend asks (Backend::AttentionScratchElements)
    Tensor delta;     // [N, d] T: o_proj and down_proj outputs, added to the residual by the next norm
    Tensor gate_up;   // [N, 2F] T
    Tensor act;       // [N, F] T
    Tensor last;      // [R, d] T: the normed rows whose logits are wanted
    Tensor logits;    // [R, V / T] F32: this rank's vocabulary slice
    Tensor argmax;    // [R] I32, in the slice
    Tensor winners;   // [R] F32: the argmax's logits
    // T > 1: the tensor group's argmax ids and winners, and the slices of full rows.
    Tensor gathered_ids, gathered_winners;  // [T R]
    Tensor gathered_logits;                 // [T R, V / T] F32
    std::size_t bytes = 0;
  };

  // One decoder layer on the step's first n rows: `pending` (the previous
  // layer's MLP output, or empty) joins the residual in the first norm; the
  // layer leaves its MLP output in ws.delta.
  Status Layer(std::int64_t index, std::int64_t n, const Tensor& pending, const StepTensors& step, KvCache& cache);
  // Every layer of the stage on the step's first n rows. `pending` (the MLP
  // output not yet in the residual: the stage before's, or empty) joins the
  // residual in the first layer; on return it is the last layer's MLP output
  // (ws.delta's first n rows), unless the stage has no layers.
  Status Layers(std::int64_t n, Tensor& pending, const StepTensors& step, KvCache& cache);
  // A world of one: the whole step's device work, from the embedding to the
  // argmax, with nothing read back.
  Status EnqueueSingleStage(const StepTensors& step, KvCache& cache);
  // The last stage's device work on the residual stream: the final norm, the
  // LM head and the argmax of the step's logit rows.
  Status EnqueueLastStage(const StepTensors& step, Tensor& residual, const Tensor& pending);
  // After EnqueueLastStage: the logits for the step's rows, as the caller
  // wants them (gathered over the tensor group, read back).
  StatusOr<Logits> CollectLastStage(const ForwardBatch& batch, const StepTensors& step);
  // Whether `batch` runs from a recording (see the file comment).
  bool Recordable(const ForwardBatch& batch) const;
  // EnqueueSingleStage from the step's recording, made now if there is none.
  Status ReplaySingleStage(const StepTensors& step, KvCache& cache);
  // Copies the rows asked for in full from `rows_by_slice` ([T][R, V/T] in one tensor) to `logits`.
  Status FetchFullRows(const ForwardBatch& batch, const Tensor& rows_by_slice, Logits& logits);
  void Observe(std::string_view name, const Tensor& value, std::int64_t layer = -1);

  ModelConfig config_;
  LlamaWeights weights_;
  Tensor inv_freq_;  // [head_dim / 2] F32
  Backend& backend_;
  ModelParallelism parallel_;
  Observer observer_;
  std::optional<Workspace> ws_;

  // Recorded steps, by (tokens, logit rows, block table row length); a
  // recorded step has one sequence per token.
  static constexpr std::int64_t kMaxRecordedTokens = 16;
  static constexpr std::size_t kMaxRecordings = 48;
  using RecordingKey = std::tuple<std::int64_t, std::int64_t, std::int64_t>;
  struct RecordedStep {
    std::unique_ptr<Recording> recording;
    std::uint64_t last_used = 0;
  };
  std::map<RecordingKey, RecordedStep> recordings_;
  const void* recorded_cache_ = nullptr;  // the KV cache the recordings write (keys of layer 0)
  std::uint64_t steps_ = 0;
  std::int64_t replayed_steps_ = 0;
  bool recording_failed_ = false;
};

}  // namespace engine
