#include "engine/scheduler/step_builder.h"

namespace engine {

ForwardBatch BuildForwardBatch(const StepPlan& plan, int block_size) {
  ForwardBatch batch;
  batch.attention.block_size = block_size;
  const auto n = static_cast<std::size_t>(plan.num_tokens());
  batch.token_ids.reserve(n);
  batch.attention.token_seq.reserve(n);
  batch.attention.positions.reserve(n);
  for (const ScheduledChunk& chunk : plan.chunks) {
    const auto seq_index = static_cast<std::int32_t>(batch.attention.block_tables.size());
    batch.attention.block_tables.push_back(chunk.seq->blocks);
    const auto tokens = chunk.seq->tokens();
    for (std::int64_t p = chunk.start; p < chunk.start + chunk.count; ++p) {
      batch.token_ids.push_back(tokens[static_cast<std::size_t>(p)]);
      batch.attention.token_seq.push_back(seq_index);
      batch.attention.positions.push_back(static_cast<std::int32_t>(p));
    }
    if (chunk.samples) {
      batch.logit_rows.push_back(static_cast<std::int32_t>(batch.token_ids.size() - 1));
      batch.full_logits.push_back(NeedsLogitValues(chunk.seq->params()));
    }
  }
  return batch;
}

std::vector<const ScheduledChunk*> SampledChunks(const StepPlan& plan) {
  std::vector<const ScheduledChunk*> sampled;
  for (const ScheduledChunk& chunk : plan.chunks) {
    if (chunk.samples) sampled.push_back(&chunk);
  }
  return sampled;
}

}  // namespace engine
