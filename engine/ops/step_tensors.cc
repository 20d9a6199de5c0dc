#include "engine/ops/step_tensors.h"

#include <algorithm>
#include <bit>
#include <string>

#include "engine/ops/backend.h"

namespace engine {
namespace {

using cluster::InvalidArgumentError;

// Offsets (in I32 elements) of each field in the packed buffer.
struct Layout {
  std::int64_t token_ids, positions, slots, token_seq, query_start, context_len, block_tables, logit_rows, total;
};

Layout LayoutFor(const StepLimits& l) {
  Layout o{};
  std::int64_t at = 0;
  auto take = [&at](std::int64_t count) {
    const std::int64_t start = at;
    at += count;
    return start;
  };
  o.token_ids = take(l.max_tokens);
  o.positions = take(l.max_tokens);
  o.slots = take(l.max_tokens);
  o.token_seq = take(l.max_tokens);
  o.query_start = take(l.max_seqs + 1);
  o.context_len = take(l.max_seqs);
  o.logit_rows = take(l.max_logit_rows);
  o.block_tables = take(l.max_seqs * l.max_blocks_per_seq);  // last: only S * B of it is sent
  o.total = at;
  return o;
}

Status CheckLimit(std::int64_t value, std::int64_t limit, const char* what, const char* flag) {
  if (value > limit) {
    return InvalidArgumentError("step: " + std::to_string(value) + " " + what + " exceed the " +
                                std::to_string(limit) + " the model was prepared for (" + flag + ")");
  }
  return Status::Ok();
}

}  // namespace

StepBuffers::StepBuffers(Backend& backend, StepLimits limits, Tensor buffer)
    : backend_(&backend), limits_(limits), buffer_(std::move(buffer)) {}

StatusOr<StepBuffers> StepBuffers::Create(Backend& backend, const StepLimits& limits) {
  if (limits.max_tokens < 1 || limits.max_seqs < 1 || limits.max_blocks_per_seq < 1 || limits.max_logit_rows < 1) {
    return InvalidArgumentError("step limits: tokens, sequences, blocks per sequence and logit rows must be >= 1");
  }
  const Layout layout = LayoutFor(limits);
  CLUSTER_ASSIGN_OR_RETURN(Tensor buffer, backend.Allocate({layout.total}, DType::kI32));
  StepBuffers buffers(backend, limits, std::move(buffer));
  buffers.host_.assign(static_cast<std::size_t>(layout.total), 0);
  return buffers;
}

StatusOr<StepTensors> StepBuffers::Upload(std::span<const std::int32_t> token_ids, const AttentionBatch& batch,
                                          std::span<const std::int32_t> logit_rows, std::int64_t num_blocks,
                                          bool for_replay) {
  const auto n = static_cast<std::int64_t>(token_ids.size());
  const std::int64_t S = batch.num_seqs();
  const auto R = static_cast<std::int64_t>(logit_rows.size());
  if (n == 0) return InvalidArgumentError("step: the batch has no tokens");
  if (batch.num_tokens() != n) {
    return InvalidArgumentError("step: " + std::to_string(n) + " token ids but " +
                                std::to_string(batch.num_tokens()) + " positions");
  }
  CLUSTER_RETURN_IF_ERROR(CheckLimit(n, limits_.max_tokens, "tokens", "--max-batch-tokens"));
  CLUSTER_RETURN_IF_ERROR(CheckLimit(S, limits_.max_seqs, "sequences", "--max-running-sequences"));
  CLUSTER_RETURN_IF_ERROR(CheckLimit(R, limits_.max_logit_rows, "logit rows", "--max-running-sequences"));
  CLUSTER_RETURN_IF_ERROR(ValidateAttentionBatch(batch, num_blocks));
  for (const auto& table : batch.block_tables) {
    CLUSTER_RETURN_IF_ERROR(CheckLimit(static_cast<std::int64_t>(table.size()), limits_.max_blocks_per_seq,
                                       "blocks of one sequence", "--max-context"));
  }
  for (std::int32_t row : logit_rows) {
    if (row < 0 || row >= n) {
      return InvalidArgumentError("step: logit row " + std::to_string(row) + " is outside the " +
                                  std::to_string(n) + " tokens of the batch");
    }
  }

  const Layout o = LayoutFor(limits_);
  std::int32_t* h = host_.data();
  StepTensors step;
  step.block_size = batch.block_size;
  step.num_tokens = n;
  step.num_seqs = S;
  step.num_logit_rows = R;
  std::copy(token_ids.begin(), token_ids.end(), h + o.token_ids);
  std::copy(batch.positions.begin(), batch.positions.end(), h + o.positions);
  std::copy(batch.token_seq.begin(), batch.token_seq.end(), h + o.token_seq);
  const std::vector<std::int64_t> slots = KvSlots(batch);
  for (std::int64_t i = 0; i < n; ++i) h[o.slots + i] = static_cast<std::int32_t>(slots[static_cast<std::size_t>(i)]);
  // A sequence's tokens are contiguous at increasing positions (validated):
  // its first token sets query_start, its last one context_len.
  std::int32_t* query_start = h + o.query_start;
  std::int32_t* context_len = h + o.context_len;
  for (std::int64_t i = n - 1; i >= 0; --i) {
    query_start[batch.token_seq[static_cast<std::size_t>(i)]] = static_cast<std::int32_t>(i);
  }
  query_start[S] = static_cast<std::int32_t>(n);
  for (std::int64_t i = 0; i < n; ++i) {
    context_len[batch.token_seq[static_cast<std::size_t>(i)]] = batch.positions[static_cast<std::size_t>(i)] + 1;
  }
  std::int64_t blocks = 1;  // the block tables' row length this step
  for (std::int64_t s = 0; s < S; ++s) {
    step.max_query_len = std::max<std::int64_t>(step.max_query_len, query_start[s + 1] - query_start[s]);
    step.max_context_len = std::max<std::int64_t>(step.max_context_len, context_len[s]);
    blocks = std::max<std::int64_t>(blocks, static_cast<std::int64_t>(batch.block_tables[static_cast<std::size_t>(s)].size()));
  }
  if (for_replay) {
    blocks = std::min<std::int64_t>(static_cast<std::int64_t>(std::bit_ceil(static_cast<std::uint64_t>(blocks))),
                                    limits_.max_blocks_per_seq);
    step.max_context_len = blocks * batch.block_size;
  }
  for (std::int64_t s = 0; s < S; ++s) {
    const auto& table = batch.block_tables[static_cast<std::size_t>(s)];
    std::int32_t* row = h + o.block_tables + s * blocks;
    std::copy(table.begin(), table.end(), row);
    std::fill(row + table.size(), row + blocks, 0);
  }
  std::copy(logit_rows.begin(), logit_rows.end(), h + o.logit_rows);

  // One transfer: the fixed fields and this step's block tables.
  const std::int64_t used = o.block_tables + S * blocks;
  CLUSTER_ASSIGN_OR_RETURN(Tensor target, buffer_.Rows(0, used));
  CLUSTER_RETURN_IF_ERROR(backend_->CopyFromHost(target, HostMatrix{h, DType::kI32, 1, used, used}).status());

  auto view = [this](std::int64_t offset, Shape shape) { return *buffer_.View(offset, std::move(shape)); };
  step.token_ids = view(o.token_ids, {n});
  step.positions = view(o.positions, {n});
  step.slots = view(o.slots, {n});
  step.token_seq = view(o.token_seq, {n});
  step.query_start = view(o.query_start, {S + 1});
  step.context_len = view(o.context_len, {S});
  step.block_tables = view(o.block_tables, {S, blocks});
  step.logit_rows = view(o.logit_rows, {R});
  return step;
}

}  // namespace engine
