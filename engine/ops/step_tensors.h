// StepTensors: one step's index inputs (token ids, positions, KV slots,
// block tables, logit rows) on the backend, uploaded once per step and read
// there by every layer.
//
// A step is described on the host by an AttentionBatch plus token ids and
// logit rows (engine/ops/attention_batch.h). StepBuffers packs those into one
// host array and copies it to the backend in one transfer, into a buffer
// sized at start-up for the largest step (StepLimits). Every field is a view
// of that buffer at a fixed offset, so a step of n tokens uses the same
// addresses as any other: no allocation per step, and a captured CUDA graph
// stays valid.
//
// Layout (all I32), for n tokens of S sequences and R logit rows:
//   token_ids    [n]        the tokens to run
//   positions    [n]        position of each token in its sequence
//   slots        [n]        KV cache slot of each token (attention_batch.h)
//   token_seq    [n]        index of each token's sequence in [0, S)
//   query_start  [S + 1]    sequence s's tokens are [query_start[s], query_start[s + 1])
//   context_len  [S]        positions of s cached once this step wrote its keys
//                           (its last token's position + 1)
//   logit_rows   [R]        tokens whose logits are wanted
//   block_tables [S, B]     row s: s's block ids, then zeros; B = the most
//                           blocks of any sequence in the step
// Only the block tables' rows vary in size, so they come last and a step
// sends the fixed fields plus S * B ids.
// The host-side sizes that kernels need for their launch shapes ride along.
//
// Thread safety: like the Backend, one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/ops/attention_batch.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

class Backend;

// The largest step a model is prepared for, fixed at start-up.
struct StepLimits {
  std::int64_t max_tokens = 512;          // tokens in one step
  std::int64_t max_seqs = 64;             // sequences in one step
  std::int64_t max_blocks_per_seq = 4096;  // longest context / block size, rounded up
  std::int64_t max_logit_rows = 64;       // logits rows in one step
};

struct StepTensors {
  Tensor token_ids, positions, slots, token_seq;  // [n]
  Tensor query_start;                             // [S + 1]
  Tensor context_len;                             // [S]
  Tensor logit_rows;                              // [R]
  Tensor block_tables;                            // [S, B]

  int block_size = 16;
  std::int64_t num_tokens = 0;
  std::int64_t num_seqs = 0;
  std::int64_t num_logit_rows = 0;
  std::int64_t max_query_len = 0;    // most tokens of one sequence in this step
  std::int64_t max_context_len = 0;  // largest context_len
};

class StepBuffers {
 public:
  // Allocates the buffer on `backend` (which must outlive this).
  static StatusOr<StepBuffers> Create(Backend& backend, const StepLimits& limits);

  const StepLimits& limits() const { return limits_; }
  // Bytes of backend memory held.
  std::size_t num_bytes() const { return buffer_.num_bytes(); }

  // Validates the step against the limits and a cache of `num_blocks`
  // blocks (ValidateAttentionBatch plus: token ids given one per token,
  // logit rows inside [0, n)), then uploads it. InvalidArgument naming the
  // limit or the offending entry otherwise; nothing is uploaded then.
  // `for_replay`: the block tables' row length B is rounded up to a power of
  // two (at most max_blocks_per_seq) and max_context_len is B * block_size,
  // so that the step's host-side sizes, which a recorded step's launches
  // depend on (Backend::Replay), change only when a sequence outgrows B.
  StatusOr<StepTensors> Upload(std::span<const std::int32_t> token_ids, const AttentionBatch& batch,
                               std::span<const std::int32_t> logit_rows, std::int64_t num_blocks,
                               bool for_replay = false);

 private:
  StepBuffers(Backend& backend, StepLimits limits, Tensor buffer);

  Backend* backend_;
  StepLimits limits_;
  Tensor buffer_;                   // I32, every field at a fixed offset
  std::vector<std::int32_t> host_;  // the packed step, same layout
};

}  // namespace engine
