#include "engine/ops/attention_batch.h"

#include <catch2/catch.hpp>

using namespace engine;
using Catch::Matchers::Contains;

TEST_CASE("A token's KV slot is its block's first slot plus its offset in the block") {
  // Block size 4. Sequence 0 owns blocks [7, 2]; sequence 1 owns [5].
  // Positions 4 and 5 of sequence 0 are in its second block (2), offsets 0 and 1: slots 8 and 9.
  AttentionBatch batch;
  batch.block_size = 4;
  batch.block_tables = {{7, 2}, {5}};
  batch.token_seq = {0, 0, 1};
  batch.positions = {4, 5, 3};
  REQUIRE(ValidateAttentionBatch(batch, 8).ok());
  CHECK(KvSlots(batch) == std::vector<std::int64_t>{8, 9, 23});
}

TEST_CASE("An attention batch whose positions outrun the block table is refused, naming the token") {
  AttentionBatch batch;
  batch.block_size = 4;
  batch.block_tables = {{0}};
  batch.token_seq = {0};
  batch.positions = {4};
  Status s = ValidateAttentionBatch(batch, 8);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message() ==
        "attention batch: token 0 at position 4 of sequence 0 needs block 1 but its block table has 1 blocks");
}

TEST_CASE("An attention batch with a block id outside the cache or a bad sequence index is refused") {
  AttentionBatch batch;
  batch.block_size = 4;
  batch.block_tables = {{9}};
  batch.token_seq = {0};
  batch.positions = {0};
  CHECK_THAT(ValidateAttentionBatch(batch, 8).message(), Contains("refers to block 9 but the cache has 8 blocks"));

  batch.block_tables = {{1}};
  batch.token_seq = {1};
  CHECK_THAT(ValidateAttentionBatch(batch, 8).message(),
             Contains("token 0 belongs to sequence 1 but the batch has 1 sequences"));

  batch.token_seq = {0, 0};
  CHECK_THAT(ValidateAttentionBatch(batch, 8).message(), Contains("2 sequence indices for 1 positions"));
}
