// StepBuffers: one step's index inputs packed, validated and uploaded once,
// at the same addresses every step.
#include "engine/ops/step_tensors.h"

#include <catch2/catch.hpp>

#include "engine/backends/cpu/cpu_backend.h"
#include "support/backend_test_util.h"

using namespace engine;
using engine::testing::Ids;

namespace {

StepBuffers Buffers(CpuBackend& b, StepLimits limits) {
  auto buffers = StepBuffers::Create(b, limits);
  REQUIRE(buffers.ok());
  return std::move(*buffers);
}

// Sequence 0: a prefill chunk at positions 3..5 (blocks 4, 1); sequence 1: one decode token at 8 (blocks 0, 2, 5).
AttentionBatch Mixed() {
  AttentionBatch batch;
  batch.block_size = 4;
  batch.block_tables = {{4, 1}, {0, 2, 5}};
  batch.token_seq = {0, 0, 0, 1};
  batch.positions = {3, 4, 5, 8};
  return batch;
}

}  // namespace

TEST_CASE("A step's index inputs arrive on the backend with each sequence's query range, context and block table") {
  CpuBackend b;
  StepBuffers buffers = Buffers(b, StepLimits{});
  auto step = buffers.Upload(std::vector<std::int32_t>{7, 8, 9, 10}, Mixed(), std::vector<std::int32_t>{2, 3}, 6);
  REQUIRE(step.ok());
  CHECK(step->num_tokens == 4);
  CHECK(step->num_seqs == 2);
  CHECK(step->max_query_len == 3);
  CHECK(step->max_context_len == 9);
  CHECK(Ids(b, step->token_ids) == std::vector<std::int32_t>{7, 8, 9, 10});
  CHECK(Ids(b, step->positions) == std::vector<std::int32_t>{3, 4, 5, 8});
  // slot = block * 4 + position % 4: position 3 in block 4 -> 19; 4, 5 in block 1 -> 4, 5; 8 in block 5 -> 20.
  CHECK(Ids(b, step->slots) == std::vector<std::int32_t>{19, 4, 5, 20});
  CHECK(Ids(b, step->token_seq) == std::vector<std::int32_t>{0, 0, 0, 1});
  CHECK(Ids(b, step->query_start) == std::vector<std::int32_t>{0, 3, 4});
  CHECK(Ids(b, step->context_len) == std::vector<std::int32_t>{6, 9});
  CHECK(step->block_tables.shape() == Shape{2, 3});  // rows as long as the longest table, padded with 0
  CHECK(Ids(b, step->block_tables) == std::vector<std::int32_t>{4, 1, 0, 0, 2, 5});
  CHECK(Ids(b, step->logit_rows) == std::vector<std::int32_t>{2, 3});
}

TEST_CASE("Every step uses the same addresses, whatever its size") {
  CpuBackend b;
  StepBuffers buffers = Buffers(b, StepLimits{});
  auto big = buffers.Upload(std::vector<std::int32_t>{1, 2, 3, 4}, Mixed(), std::vector<std::int32_t>{3}, 6);
  REQUIRE(big.ok());
  const void* token_ids = big->token_ids.data();
  const void* tables = big->block_tables.data();
  AttentionBatch one;
  one.block_size = 4;
  one.block_tables = {{2}};
  one.token_seq = {0};
  one.positions = {0};
  auto small = buffers.Upload(std::vector<std::int32_t>{5}, one, std::vector<std::int32_t>{0}, 6);
  REQUIRE(small.ok());
  CHECK(small->token_ids.data() == token_ids);
  CHECK(small->block_tables.data() == tables);
}

TEST_CASE("A step beyond the limits the model was prepared for is refused, naming the flag") {
  CpuBackend b;
  StepLimits limits;
  limits.max_tokens = 3;
  limits.max_seqs = 1;
  limits.max_blocks_per_seq = 2;
  limits.max_logit_rows = 1;
  StepBuffers buffers = Buffers(b, limits);
  CHECK(buffers.Upload(std::vector<std::int32_t>{1, 2, 3, 4}, Mixed(), {}, 6).status().message() ==
        "step: 4 tokens exceed the 3 the model was prepared for (--max-batch-tokens)");
  AttentionBatch two;
  two.block_size = 4;
  two.block_tables = {{0}, {1}};
  two.token_seq = {0, 1};
  two.positions = {0, 0};
  CHECK(buffers.Upload(std::vector<std::int32_t>{1, 2}, two, {}, 6).status().message() ==
        "step: 2 sequences exceed the 1 the model was prepared for (--max-running-sequences)");
  AttentionBatch long_table;
  long_table.block_size = 4;
  long_table.block_tables = {{0, 1, 2}};
  long_table.token_seq = {0};
  long_table.positions = {9};
  CHECK(buffers.Upload(std::vector<std::int32_t>{1}, long_table, {}, 6).status().message() ==
        "step: 3 blocks of one sequence exceed the 2 the model was prepared for (--max-context)");
}

TEST_CASE("A sequence's tokens must be contiguous and at consecutive positions") {
  CpuBackend b;
  StepBuffers buffers = Buffers(b, StepLimits{});
  AttentionBatch gap = Mixed();
  gap.positions = {3, 5, 6, 8};
  CHECK(buffers.Upload(std::vector<std::int32_t>{1, 2, 3, 4}, gap, {}, 6).status().message() ==
        "attention batch: token 1 of sequence 0 is at position 5 after position 3; a sequence's tokens must be at "
        "consecutive positions");
  AttentionBatch split = Mixed();
  split.token_seq = {0, 1, 0, 1};
  split.positions = {3, 8, 4, 9};
  split.block_tables = {{4, 1}, {0, 2, 5}};
  CHECK(buffers.Upload(std::vector<std::int32_t>{1, 2, 3, 4}, split, {}, 6).status().message() ==
        "attention batch: the tokens of sequence 0 are not contiguous (token 2)");
  AttentionBatch idle = Mixed();
  idle.block_tables.push_back({3});
  CHECK(buffers.Upload(std::vector<std::int32_t>{1, 2, 3, 4}, idle, {}, 6).status().message() ==
        "attention batch: sequence 2 has no tokens in the step");
}
