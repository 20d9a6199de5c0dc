#include "engine/model/llama_model.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace engine {

StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const ModelConfig& config, const Checkpoint& checkpoint,
                                                       Backend& backend, const ModelParallelism& parallel) {
  if (parallel.tensor_group == nullptr || parallel.pipeline_group == nullptr) {
    return cluster::InvalidArgumentError("model: no tensor or pipeline group given");
  }
  CLUSTER_ASSIGN_OR_RETURN(LlamaWeights weights, LoadLlamaWeights(config, checkpoint, backend, parallel.shard));
  CLUSTER_ASSIGN_OR_RETURN(std::vector<float> inv_freq_host,
                           RopeInverseFrequencies(static_cast<int>(config.head_dim), config.rope));
  const auto half = static_cast<std::int64_t>(inv_freq_host.size());
  CLUSTER_ASSIGN_OR_RETURN(Tensor inv_freq, backend.Allocate({half}, DType::kF32));
  CLUSTER_RETURN_IF_ERROR(
      backend.CopyFromHost(inv_freq, HostMatrix{inv_freq_host.data(), DType::kF32, 1, half, half}).status());
  return std::unique_ptr<LlamaModel>(
      new LlamaModel(config, std::move(weights), std::move(inv_freq), backend, parallel));
}

LlamaModel::LlamaModel(ModelConfig config, LlamaWeights weights, Tensor inv_freq, Backend& backend,
                       const ModelParallelism& parallel)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      inv_freq_(std::move(inv_freq)),
      backend_(backend),
      parallel_(parallel) {}

KvCacheShape LlamaModel::CacheShape(std::int64_t num_blocks, std::int64_t block_size) const {
  return KvCacheShape{static_cast<std::int64_t>(weights_.layers.size()), num_blocks, block_size,
                      weights_.local_kv_heads, config_.head_dim};
}

Status LlamaModel::Prepare(const StepLimits& limits) {
  recordings_.clear();  // they name the old workspace
  ws_.reset();          // free the old workspace first: the device may not hold both
  Workspace ws;
  const DType t = backend_.compute_dtype();
  const std::int64_t N = limits.max_tokens, R = limits.max_logit_rows;
  const std::int64_t T = parallel_.shard.tp_size;
  const std::int64_t d = config_.hidden_size, h = config_.head_dim, V = config_.vocab_size / T;
  const std::int64_t H = weights_.local_heads, K = weights_.local_kv_heads, F = weights_.local_intermediate;
  CLUSTER_ASSIGN_OR_RETURN(StepBuffers step, StepBuffers::Create(backend_, limits));
  ws.bytes += step.num_bytes();
  ws.step.emplace(std::move(step));
  auto take = [&](Tensor& out, const Shape& shape, DType dtype) -> Status {
    CLUSTER_ASSIGN_OR_RETURN(out, backend_.Allocate(shape, dtype));
    ws.bytes += out.num_bytes();
    return Status::Ok();
  };
  CLUSTER_RETURN_IF_ERROR(take(ws.residual, {N, d}, DType::kF32));
  CLUSTER_RETURN_IF_ERROR(take(ws.x, {N, d}, t));
  CLUSTER_RETURN_IF_ERROR(take(ws.qkv, {N, (H + 2 * K) * h}, t));
  CLUSTER_RETURN_IF_ERROR(take(ws.q, {N, H, h}, t));
  CLUSTER_RETURN_IF_ERROR(take(ws.attn, {N, H, h}, t));
  CLUSTER_RETURN_IF_ERROR(
      take(ws.attention_scratch, {backend_.AttentionScratchElements(limits, H, h)}, DType::kF32));
  CLUSTER_RETURN_IF_ERROR(take(ws.delta, {N, d}, t));
  CLUSTER_RETURN_IF_ERROR(take(ws.gate_up, {N, 2 * F}, t));
  CLUSTER_RETURN_IF_ERROR(take(ws.act, {N, F}, t));
  CLUSTER_RETURN_IF_ERROR(take(ws.last, {R, d}, t));
  if (parallel_.shard.last_stage()) {
    CLUSTER_RETURN_IF_ERROR(take(ws.logits, {R, V}, DType::kF32));
    CLUSTER_RETURN_IF_ERROR(take(ws.argmax, {R}, DType::kI32));
    CLUSTER_RETURN_IF_ERROR(take(ws.winners, {R}, DType::kF32));
    if (T > 1) {
      CLUSTER_RETURN_IF_ERROR(take(ws.gathered_ids, {T * R}, DType::kI32));
      CLUSTER_RETURN_IF_ERROR(take(ws.gathered_winners, {T * R}, DType::kF32));
      CLUSTER_RETURN_IF_ERROR(take(ws.gathered_logits, {T * R, V}, DType::kF32));
    }
  }
  ws_.emplace(std::move(ws));
  return Status::Ok();
}

ModelMemory LlamaModel::memory() const {
  return ModelMemory{weights_.num_bytes, ws_ ? ws_->bytes : 0};
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
  if (!ws_) return cluster::FailedPreconditionError("forward: the model has no workspace; call Prepare first");
  if (batch.attention.block_size != cache.block_size()) {
    return cluster::InvalidArgumentError("forward: the batch uses block size " +
                                         std::to_string(batch.attention.block_size) + " but the cache has " +
                                         std::to_string(cache.block_size()));
  }
  if (!batch.full_logits.empty() && batch.full_logits.size() != batch.logit_rows.size()) {
    return cluster::InvalidArgumentError("forward: " + std::to_string(batch.full_logits.size()) +
                                         " full-logits flags for " + std::to_string(batch.logit_rows.size()) +
                                         " logit rows");
  }
  for (std::size_t i = 0; i < batch.token_ids.size(); ++i) {
    if (batch.token_ids[i] < 0 || batch.token_ids[i] >= config_.vocab_size) {
      return cluster::InvalidArgumentError("forward: token id " + std::to_string(batch.token_ids[i]) +
                                           " at index " + std::to_string(i) + " is outside the vocabulary [0, " +
                                           std::to_string(config_.vocab_size) + ")");
    }
  }
  Workspace& ws = *ws_;
  const ModelShard& shard = parallel_.shard;
  const bool record = Recordable(batch);
  CLUSTER_ASSIGN_OR_RETURN(StepTensors step, ws.step->Upload(batch.token_ids, batch.attention, batch.logit_rows,
                                                             cache.shape().num_blocks, record));
  if (shard.first_stage() && shard.last_stage()) {
    CLUSTER_RETURN_IF_ERROR(record ? ReplaySingleStage(step, cache) : EnqueueSingleStage(step, cache));
    return CollectLastStage(batch, step);
  }
  const std::int64_t n = step.num_tokens;

  // The stage's input: the embedding, or what the stage before sent.
  CLUSTER_ASSIGN_OR_RETURN(Tensor residual, ws.residual.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor delta, ws.delta.Rows(0, n));
  Tensor pending;  // the MLP output of the layer before, not yet in the residual
  if (shard.first_stage()) {
    CLUSTER_RETURN_IF_ERROR(backend_.Embedding(residual, weights_.embed_tokens, step.token_ids));
    Observe("embed_tokens", residual);
  } else {
    CLUSTER_RETURN_IF_ERROR(parallel_.pipeline_group->Recv(residual, shard.stage - 1));
    CLUSTER_RETURN_IF_ERROR(parallel_.pipeline_group->Recv(delta, shard.stage - 1));
    pending = delta;
  }
  CLUSTER_RETURN_IF_ERROR(Layers(n, pending, step, cache));
  if (!shard.last_stage()) {
    CLUSTER_RETURN_IF_ERROR(parallel_.pipeline_group->Send(residual, shard.stage + 1));
    CLUSTER_RETURN_IF_ERROR(parallel_.pipeline_group->Send(pending, shard.stage + 1));
    Logits none;  // the last stage has the logits
    none.vocab = config_.vocab_size;
    return none;
  }
  CLUSTER_RETURN_IF_ERROR(EnqueueLastStage(step, residual, pending));
  return CollectLastStage(batch, step);
}

Status LlamaModel::EnqueueSingleStage(const StepTensors& step, KvCache& cache) {
  Workspace& ws = *ws_;
  const std::int64_t n = step.num_tokens;
  CLUSTER_ASSIGN_OR_RETURN(Tensor residual, ws.residual.Rows(0, n));
  CLUSTER_RETURN_IF_ERROR(backend_.Embedding(residual, weights_.embed_tokens, step.token_ids));
  Observe("embed_tokens", residual);
  Tensor pending;
  CLUSTER_RETURN_IF_ERROR(Layers(n, pending, step, cache));
  return EnqueueLastStage(step, residual, pending);
}

Status LlamaModel::Layers(std::int64_t n, Tensor& pending, const StepTensors& step, KvCache& cache) {
  CLUSTER_ASSIGN_OR_RETURN(Tensor delta, ws_->delta.Rows(0, n));
  for (std::size_t i = 0; i < weights_.layers.size(); ++i) {
    CLUSTER_RETURN_IF_ERROR(Layer(static_cast<std::int64_t>(i), n, pending, step, cache));
    pending = delta;
  }
  return Status::Ok();
}

bool LlamaModel::Recordable(const ForwardBatch& batch) const {
  const ModelShard& shard = parallel_.shard;
  const auto n = static_cast<std::int64_t>(batch.token_ids.size());
  // Decode steps only (one token per sequence), in a world of one.
  return backend_.CanRecord() && !recording_failed_ && !observer_ && shard.tp_size == 1 && shard.first_stage() &&
         shard.last_stage() && n >= 1 && n <= kMaxRecordedTokens && batch.attention.num_seqs() == n &&
         !batch.logit_rows.empty();
}

Status LlamaModel::ReplaySingleStage(const StepTensors& step, KvCache& cache) {
  ++steps_;
  if (recorded_cache_ != cache.keys(0).data()) {  // another cache: the recordings write the old one
    recordings_.clear();
    recorded_cache_ = cache.keys(0).data();
  }
  const RecordingKey key{step.num_tokens, step.num_logit_rows, step.block_tables.dim(1)};
  auto it = recordings_.find(key);
  if (it == recordings_.end()) {
    if (recordings_.size() >= kMaxRecordings) {
      recordings_.erase(std::min_element(recordings_.begin(), recordings_.end(), [](const auto& a, const auto& b) {
        return a.second.last_used < b.second.last_used;
      }));
    }
    const Status began = backend_.BeginRecording();
    const Status enqueued = began.ok() ? EnqueueSingleStage(step, cache) : began;
    StatusOr<std::unique_ptr<Recording>> recording =
        began.ok() ? backend_.EndRecording() : StatusOr<std::unique_ptr<Recording>>(began);
    if (!enqueued.ok() || !recording.ok()) {
      // Nothing ran: run this step op by op, and every step from now on.
      recording_failed_ = true;
      recordings_.clear();
      return EnqueueSingleStage(step, cache);
    }
    it = recordings_.emplace(key, RecordedStep{std::move(*recording), 0}).first;
  }
  it->second.last_used = steps_;
  CLUSTER_RETURN_IF_ERROR(backend_.Replay(*it->second.recording));
  ++replayed_steps_;
  return Status::Ok();
}

Status LlamaModel::EnqueueLastStage(const StepTensors& step, Tensor& residual, const Tensor& pending) {
  Workspace& ws = *ws_;
  const std::int64_t n = step.num_tokens, rows = step.num_logit_rows;
  if (rows == 0) return Status::Ok();
  CLUSTER_ASSIGN_OR_RETURN(Tensor x, ws.x.Rows(0, n));
  CLUSTER_RETURN_IF_ERROR(backend_.RmsNorm(x, residual, pending, weights_.norm,
                                           static_cast<float>(config_.rms_norm_eps)));
  CLUSTER_ASSIGN_OR_RETURN(Tensor last, ws.last.Rows(0, rows));
  CLUSTER_RETURN_IF_ERROR(backend_.GatherRows(last, x, step.logit_rows));
  Observe("norm", last);
  CLUSTER_ASSIGN_OR_RETURN(Tensor values, ws.logits.Rows(0, rows));
  CLUSTER_RETURN_IF_ERROR(backend_.Linear(values, last, weights_.lm_head, Tensor()));
  Observe("logits", values);
  CLUSTER_ASSIGN_OR_RETURN(Tensor ids, ws.argmax.Rows(0, rows));
  CLUSTER_ASSIGN_OR_RETURN(Tensor winners, ws.winners.Rows(0, rows));
  return backend_.ArgMax(ids, winners, values);
}

StatusOr<Logits> LlamaModel::CollectLastStage(const ForwardBatch& batch, const StepTensors& step) {
  Workspace& ws = *ws_;
  const std::int64_t rows = step.num_logit_rows;
  const std::int64_t T = parallel_.shard.tp_size, V = config_.vocab_size, slice = V / T;
  Logits logits;
  logits.rows = rows;
  logits.vocab = V;
  if (rows == 0) return logits;
  CLUSTER_ASSIGN_OR_RETURN(Tensor values, ws.logits.Rows(0, rows));
  CLUSTER_ASSIGN_OR_RETURN(Tensor ids, ws.argmax.Rows(0, rows));
  CLUSTER_ASSIGN_OR_RETURN(Tensor winners, ws.winners.Rows(0, rows));

  // Every rank's argmax of its slice; the best wins, lower slices first among equals.
  std::vector<std::int32_t> slice_ids(static_cast<std::size_t>(T * rows));
  std::vector<float> slice_winners(static_cast<std::size_t>(T * rows));
  if (T > 1) {
    CLUSTER_ASSIGN_OR_RETURN(Tensor all_ids, ws.gathered_ids.Rows(0, T * rows));
    CLUSTER_ASSIGN_OR_RETURN(Tensor all_winners, ws.gathered_winners.Rows(0, T * rows));
    CLUSTER_RETURN_IF_ERROR(parallel_.tensor_group->AllGather(ids, all_ids));
    CLUSTER_RETURN_IF_ERROR(parallel_.tensor_group->AllGather(winners, all_winners));
    CLUSTER_RETURN_IF_ERROR(backend_.CopyToHost(slice_ids.data(), all_ids));
    CLUSTER_RETURN_IF_ERROR(backend_.CopyToHost(slice_winners.data(), all_winners));
  } else {
    CLUSTER_RETURN_IF_ERROR(backend_.CopyToHost(slice_ids.data(), ids));
    CLUSTER_RETURN_IF_ERROR(backend_.CopyToHost(slice_winners.data(), winners));
  }
  logits.argmax.resize(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    std::int64_t best = 0;
    for (std::int64_t t = 1; t < T; ++t) {
      const float a = slice_winners[static_cast<std::size_t>(t * rows + r)];
      const float b = slice_winners[static_cast<std::size_t>(best * rows + r)];
      if (a > b || (std::isnan(b) && !std::isnan(a))) best = t;  // the same rule as ArgMax
    }
    logits.argmax[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(
        best * slice + slice_ids[static_cast<std::size_t>(best * rows + r)]);
  }

  logits.value_row.assign(static_cast<std::size_t>(rows), -1);
  std::int64_t fetched = 0;
  for (std::int64_t r = 0; r < rows; ++r) {
    if (batch.full_logits.empty() || batch.full_logits[static_cast<std::size_t>(r)]) {
      logits.value_row[static_cast<std::size_t>(r)] = fetched++;
    }
  }
  if (fetched == 0) return logits;
  if (T == 1) {
    CLUSTER_RETURN_IF_ERROR(FetchFullRows(batch, values, logits));
  } else {
    CLUSTER_ASSIGN_OR_RETURN(Tensor all, ws.gathered_logits.Rows(0, T * rows));
    CLUSTER_RETURN_IF_ERROR(parallel_.tensor_group->AllGather(values, all));
    CLUSTER_RETURN_IF_ERROR(FetchFullRows(batch, all, logits));
  }
  return logits;
}

Status LlamaModel::FetchFullRows(const ForwardBatch&, const Tensor& rows_by_slice, Logits& logits) {
  const std::int64_t T = parallel_.shard.tp_size, rows = logits.rows, V = logits.vocab, slice = V / T;
  std::int64_t fetched = 0;
  for (std::int64_t v : logits.value_row) fetched += v >= 0 ? 1 : 0;
  logits.values.resize(static_cast<std::size_t>(fetched * V));
  // Runs of consecutive wanted rows come back in one copy per slice.
  std::vector<float> staging;
  for (std::int64_t r = 0; r < rows;) {
    const std::int64_t at = logits.value_row[static_cast<std::size_t>(r)];
    if (at < 0) {
      ++r;
      continue;
    }
    std::int64_t end = r + 1;
    while (end < rows && logits.value_row[static_cast<std::size_t>(end)] >= 0) ++end;
    for (std::int64_t t = 0; t < T; ++t) {
      CLUSTER_ASSIGN_OR_RETURN(Tensor part, rows_by_slice.Rows(t * rows + r, t * rows + end));
      if (T == 1) {
        CLUSTER_RETURN_IF_ERROR(backend_.CopyToHost(logits.values.data() + at * V, part));
        continue;
      }
      staging.resize(static_cast<std::size_t>((end - r) * slice));
      CLUSTER_RETURN_IF_ERROR(backend_.CopyToHost(staging.data(), part));
      for (std::int64_t k = 0; k < end - r; ++k) {
        std::copy(staging.begin() + k * slice, staging.begin() + (k + 1) * slice,
                  logits.values.begin() + (at + k) * V + t * slice);
      }
    }
    r = end;
  }
  return Status::Ok();
}

Status LlamaModel::Layer(std::int64_t index, std::int64_t n, const Tensor& pending, const StepTensors& step,
                         KvCache& cache) {
  const LlamaLayerWeights& w = weights_.layers[static_cast<std::size_t>(index)];
  const std::int64_t named = parallel_.shard.first_layer + index;  // the model's layer number, for observers
  Workspace& ws = *ws_;
  const std::int64_t heads = weights_.local_heads, h = config_.head_dim;
  const auto eps = static_cast<float>(config_.rms_norm_eps);
  CLUSTER_ASSIGN_OR_RETURN(Tensor residual, ws.residual.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor x, ws.x.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor qkv, ws.qkv.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor q, ws.q.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor attn, ws.attn.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor delta, ws.delta.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor gate_up, ws.gate_up.Rows(0, n));
  CLUSTER_ASSIGN_OR_RETURN(Tensor act, ws.act.Rows(0, n));

  // Attention block.
  CLUSTER_RETURN_IF_ERROR(backend_.RmsNorm(x, residual, pending, w.input_layernorm, eps));
  Observe("input_layernorm", x, named);
  CLUSTER_RETURN_IF_ERROR(backend_.Linear(qkv, x, w.qkv_proj, Tensor()));  // the bias joins in qkv_rope
  Observe("qkv", qkv, named);
  CLUSTER_RETURN_IF_ERROR(
      backend_.QkvRope(q, cache.keys(index), cache.values(index), qkv, w.qkv_bias, inv_freq_, step));
  Observe("q_rope", q, named);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(h)));
  CLUSTER_RETURN_IF_ERROR(backend_.PagedAttention(attn, q, cache.keys(index), cache.values(index), step, scale,
                                                  ws.attention_scratch));
  Observe("attn", attn, named);
  CLUSTER_ASSIGN_OR_RETURN(Tensor attn_flat, attn.Reshaped({n, heads * h}));
  CLUSTER_RETURN_IF_ERROR(backend_.Linear(delta, attn_flat, w.o_proj, w.o_bias));
  CLUSTER_RETURN_IF_ERROR(parallel_.tensor_group->AllReduceSum(delta));  // o_proj is row-parallel: sum the ranks' outputs
  Observe("o_proj", delta, named);

  // MLP block (SwiGLU).
  CLUSTER_RETURN_IF_ERROR(backend_.RmsNorm(x, residual, delta, w.post_attention_layernorm, eps));
  Observe("post_attention_layernorm", x, named);
  CLUSTER_RETURN_IF_ERROR(backend_.Linear(gate_up, x, w.gate_up_proj, w.gate_up_bias));
  CLUSTER_RETURN_IF_ERROR(backend_.SiluMul(act, gate_up));
  CLUSTER_RETURN_IF_ERROR(backend_.Linear(delta, act, w.down_proj, w.down_bias));
  CLUSTER_RETURN_IF_ERROR(parallel_.tensor_group->AllReduceSum(delta));  // down_proj is row-parallel
  Observe("mlp", delta, named);
  return Status::Ok();
}

}  // namespace engine
