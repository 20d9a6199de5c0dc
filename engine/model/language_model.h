// LanguageModel: a causal LM that runs one step over a batch of sequences.
//
// A step takes n tokens from any number of sequences (prefill chunks and
// single decode tokens mixed), writes their keys/values into the paged KV
// cache, attends over each sequence's cached context, and returns float32
// logits for the tokens the caller asks for (typically the last token of
// each sequence). Callers own the block tables (KvCache::Reserve before the
// step); see engine/ops/attention_batch.h for the batch layout.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/model/model_config.h"
#include "engine/ops/attention_batch.h"
#include "engine/status.h"

namespace engine {

struct ForwardBatch {
  std::vector<std::int32_t> token_ids;  // [n]
  AttentionBatch attention;             // positions, sequences and block tables of the n tokens
  std::vector<std::int32_t> logit_rows; // indices into [0, n) whose logits are returned, in this order
};

// Row-major [rows, vocab] float32 logits.
struct Logits {
  std::int64_t rows = 0;
  std::int64_t vocab = 0;
  std::vector<float> values;

  std::span<const float> row(std::int64_t i) const {
    return std::span<const float>(values).subspan(static_cast<std::size_t>(i * vocab),
                                                  static_cast<std::size_t>(vocab));
  }
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;

  virtual const ModelConfig& config() const = 0;

  // The shape of a KV cache of `num_blocks` blocks for this model (and this
  // rank's share of the kv heads).
  virtual KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const = 0;

  // Runs one step. InvalidArgument for an inconsistent batch (token count,
  // positions outside the block tables, a logit row outside [0, n), a token
  // id outside the vocabulary).
  virtual StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) = 0;
};

}  // namespace engine
