#include "engine/ops/attention_batch.h"

#include <string>

namespace engine {

Status ValidateAttentionBatch(const AttentionBatch& batch, std::int64_t num_blocks) {
  using cluster::InvalidArgumentError;
  if (batch.block_size <= 0) {
    return InvalidArgumentError("attention batch: block_size must be positive, got " +
                                std::to_string(batch.block_size));
  }
  if (batch.token_seq.size() != batch.positions.size()) {
    return InvalidArgumentError("attention batch: " + std::to_string(batch.token_seq.size()) +
                                " sequence indices for " + std::to_string(batch.positions.size()) +
                                " positions; need one per token");
  }
  for (std::size_t s = 0; s < batch.block_tables.size(); ++s) {
    for (std::int32_t block : batch.block_tables[s]) {
      if (block < 0 || block >= num_blocks) {
        return InvalidArgumentError("attention batch: sequence " + std::to_string(s) + " refers to block " +
                                    std::to_string(block) + " but the cache has " +
                                    std::to_string(num_blocks) + " blocks");
      }
    }
  }
  for (std::size_t i = 0; i < batch.positions.size(); ++i) {
    const std::int32_t seq = batch.token_seq[i];
    const std::int32_t pos = batch.positions[i];
    if (seq < 0 || seq >= batch.num_seqs()) {
      return InvalidArgumentError("attention batch: token " + std::to_string(i) + " belongs to sequence " +
                                  std::to_string(seq) + " but the batch has " +
                                  std::to_string(batch.num_seqs()) + " sequences");
    }
    if (pos < 0) {
      return InvalidArgumentError("attention batch: token " + std::to_string(i) + " has negative position " +
                                  std::to_string(pos));
    }
    const auto& table = batch.block_tables[static_cast<std::size_t>(seq)];
    if (static_cast<std::size_t>(pos / batch.block_size) >= table.size()) {
      return InvalidArgumentError("attention batch: token " + std::to_string(i) + " at position " +
                                  std::to_string(pos) + " of sequence " + std::to_string(seq) +
                                  " needs block " + std::to_string(pos / batch.block_size) +
                                  " but its block table has " + std::to_string(table.size()) + " blocks");
    }
  }
  // Each sequence's tokens: one contiguous run at consecutive positions.
  std::vector<bool> seen(batch.block_tables.size(), false);
  for (std::size_t i = 0; i < batch.positions.size(); ++i) {
    const std::int32_t seq = batch.token_seq[i];
    const bool continues = i > 0 && batch.token_seq[i - 1] == seq;
    if (continues && batch.positions[i] != batch.positions[i - 1] + 1) {
      return InvalidArgumentError("attention batch: token " + std::to_string(i) + " of sequence " +
                                  std::to_string(seq) + " is at position " + std::to_string(batch.positions[i]) +
                                  " after position " + std::to_string(batch.positions[i - 1]) +
                                  "; a sequence's tokens must be at consecutive positions");
    }
    if (!continues && seen[static_cast<std::size_t>(seq)]) {
      return InvalidArgumentError("attention batch: the tokens of sequence " + std::to_string(seq) +
                                  " are not contiguous (token " + std::to_string(i) + ")");
    }
    seen[static_cast<std::size_t>(seq)] = true;
  }
  for (std::size_t s = 0; s < seen.size(); ++s) {
    if (!seen[s]) {
      return InvalidArgumentError("attention batch: sequence " + std::to_string(s) + " has no tokens in the step");
    }
  }
  return Status::Ok();
}

std::vector<std::int64_t> KvSlots(const AttentionBatch& batch) {
  std::vector<std::int64_t> slots(batch.positions.size());
  for (std::size_t i = 0; i < slots.size(); ++i) {
    slots[i] = KvSlot(batch.block_tables[static_cast<std::size_t>(batch.token_seq[i])], batch.block_size,
                      batch.positions[i]);
  }
  return slots;
}

}  // namespace engine
