// AttentionBatch: which tokens a step computes and where their keys and
// values live in the paged KV cache.
//
// The KV cache of one layer is a pool of fixed-size blocks, shape
//   [num_blocks, block_size, num_kv_heads, head_dim]
// and a sequence owns an ordered list of blocks, its block table: block
// block_tables[s][b] holds the keys/values of positions
// [b * block_size, (b + 1) * block_size) of sequence s. A position therefore
// lives in one "slot" of the pool:
//   slot(s, p) = block_tables[s][p / block_size] * block_size + p % block_size
// (the cache seen as [num_blocks * block_size, num_kv_heads, head_dim]).
//
// One step runs n tokens from any number of sequences, concatenated: a
// prefill chunk of one sequence, a single decode token of another, ... Token
// i belongs to sequence token_seq[i] at position positions[i] and attends,
// causally, to positions [0, positions[i]] of its own sequence, all read from
// the cache. So the step first writes its own keys/values (WriteKv at
// KvSlots(batch)), then attends; earlier positions must already be in the
// cache from earlier steps. This is what lets a continuous-batching scheduler
// mix sequences of different lengths in one step.
//
// A sequence's tokens in a step are contiguous and at consecutive positions
// (a prefill chunk, or one decode token): kernels tile queries by sequence.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/status.h"

namespace engine {

struct AttentionBatch {
  int block_size = 16;
  std::vector<std::int32_t> token_seq;  // [n]: index into block_tables
  std::vector<std::int32_t> positions;  // [n]: position of the token in its sequence
  std::vector<std::vector<std::int32_t>> block_tables;  // [num_seqs][blocks]

  int num_tokens() const { return static_cast<int>(positions.size()); }
  int num_seqs() const { return static_cast<int>(block_tables.size()); }
};

// Checks the batch against a cache of `num_blocks` blocks: equal token
// counts, sequence indices in range, non-negative positions, every position
// covered by its sequence's block table, block ids in [0, num_blocks), each
// sequence's tokens contiguous at consecutive positions, every sequence with
// at least one token.
// InvalidArgument naming the first offending token or block otherwise.
Status ValidateAttentionBatch(const AttentionBatch& batch, std::int64_t num_blocks);

// slot(token_seq[i], positions[i]) for every token i (see the file comment).
// REQUIRES: ValidateAttentionBatch(batch, ...) is OK.
std::vector<std::int64_t> KvSlots(const AttentionBatch& batch);

// The slot of position `position` of a sequence with block table `table`.
// REQUIRES: position / block_size < table.size().
inline std::int64_t KvSlot(const std::vector<std::int32_t>& table, int block_size, std::int32_t position) {
  return static_cast<std::int64_t>(table[static_cast<std::size_t>(position / block_size)]) * block_size +
         position % block_size;
}

}  // namespace engine
