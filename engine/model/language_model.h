// LanguageModel: a causal LM that runs one step over a batch of sequences.
//
// A step takes n tokens from any number of sequences (prefill chunks and
// single decode tokens mixed), writes their keys/values into the paged KV
// cache, attends over each sequence's cached context, and returns, for the
// tokens the caller asks for (typically the last token of each sequence),
// the argmax of their logits and, where asked, the float32 logits themselves. Callers own the block tables (KvCache::Reserve before the
// step); see engine/ops/attention_batch.h for the batch layout.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/model/model_config.h"
#include "engine/ops/attention_batch.h"
#include "engine/ops/step_tensors.h"
#include "engine/status.h"

namespace engine {

struct ForwardBatch {
  std::vector<std::int32_t> token_ids;  // [n]
  AttentionBatch attention;             // positions, sequences and block tables of the n tokens
  std::vector<std::int32_t> logit_rows; // indices into [0, n) whose logits are returned, in this order
  // Per logit row: true if the caller needs the row's values (sampling,
  // penalties, log-probabilities), false if its argmax is enough (greedy).
  // Empty: every row's values. Rows not asked for stay on the device.
  std::vector<bool> full_logits;
};

// A step of one sequence: `ids` at positions [start, start + ids.size()) of
// the sequence whose KV blocks are `blocks`. No logit rows: the caller names
// those it needs.
inline ForwardBatch OneSequenceStep(std::span<const std::int32_t> ids, std::int64_t start,
                                    const std::vector<std::int32_t>& blocks, int block_size) {
  ForwardBatch batch;
  batch.token_ids.assign(ids.begin(), ids.end());
  batch.attention.block_size = block_size;
  batch.attention.block_tables = {blocks};
  batch.attention.token_seq.assign(ids.size(), 0);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    batch.attention.positions.push_back(static_cast<std::int32_t>(start + static_cast<std::int64_t>(i)));
  }
  return batch;
}

// Every token's row, [0, n).
inline std::vector<std::int32_t> AllRows(std::size_t n) {
  std::vector<std::int32_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = static_cast<std::int32_t>(i);
  return rows;
}

// The step's results for the requested logit rows: the argmax of every row
// (computed where the logits are), and the float32 values of the rows asked for.
struct Logits {
  std::int64_t rows = 0;
  std::int64_t vocab = 0;
  std::vector<std::int32_t> argmax;  // [rows]: lowest id among the largest logits; NaN never wins
  std::vector<float> values;         // the full rows, packed in row order
  std::vector<std::int64_t> value_row;  // [rows]: row r's place in `values`, or -1 if not fetched

  bool has_row(std::int64_t r) const { return value_row[static_cast<std::size_t>(r)] >= 0; }
  // REQUIRES: has_row(r).
  std::span<const float> row(std::int64_t r) const {
    return std::span<const float>(values).subspan(
        static_cast<std::size_t>(value_row[static_cast<std::size_t>(r)] * vocab), static_cast<std::size_t>(vocab));
  }
};

// Device memory a model holds besides its KV cache.
struct ModelMemory {
  std::size_t weights_bytes = 0;
  std::size_t workspace_bytes = 0;  // activations and step inputs for the largest step (Prepare)
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual const ModelConfig& config() const = 0;

  // The shape of a KV cache of `num_blocks` blocks for this model (and this
  // rank's share of the kv heads).
  virtual KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const = 0;

  // Allocates the workspace for steps up to `limits` (replacing an earlier
  // one). Forward needs it; no step allocates afterwards. ResourceExhausted
  // if the device is too small.
  virtual Status Prepare(const StepLimits& limits) = 0;

  virtual ModelMemory memory() const = 0;

  // Runs one step. InvalidArgument for an inconsistent batch (token count,
  // positions outside the block tables, a logit row outside [0, n), a token
  // id outside the vocabulary) or one beyond the prepared limits;
  // FailedPrecondition before Prepare.
  virtual StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) = 0;

  // Pipelined steps, for a model whose later stages run in other processes
  // (engine/scheduler/world_model.h): up to pipeline_depth() steps may be
  // submitted and not yet collected, so the stages work on different steps
  // at once; Collect returns their logits in submission order. Steps in
  // flight must touch disjoint sequences. A model of one process runs the
  // step in Submit (depth 1), which is what these defaults do.
  virtual int pipeline_depth() const { return 1; }
  virtual void Submit(const ForwardBatch& batch, KvCache& cache) { done_.push_back(Forward(batch, cache)); }
  // REQUIRES: a step was submitted and not collected.
  virtual StatusOr<Logits> Collect() {
    StatusOr<Logits> oldest = std::move(done_.front());
    done_.pop_front();
    return oldest;
  }

 private:
  std::deque<StatusOr<Logits>> done_;  // the default Submit's results, not yet collected
};

}  // namespace engine
