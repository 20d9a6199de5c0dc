#include "engine/model/kv_cache.h"

#include <catch2/catch.hpp>

#include "engine/backends/cpu/cpu_backend.h"

using namespace engine;

TEST_CASE("The KV cache hands out blocks as sequences grow and takes them back when they end") {
  CpuBackend backend;
  auto cache = KvCache::Allocate(backend, KvCacheShape{2, 4, 16, 2, 8});
  REQUIRE(cache.ok());
  CHECK(cache->keys(1).shape() == Shape{4, 16, 2, 8});
  CHECK(cache->num_free_blocks() == 4);

  KvBlockTable a, b;
  REQUIRE(cache->Reserve(a, 17).ok());  // 17 tokens need 2 blocks of 16
  CHECK(a.blocks == std::vector<std::int32_t>{0, 1});
  REQUIRE(cache->Reserve(a, 32).ok());  // still 2
  CHECK(a.blocks.size() == 2);
  REQUIRE(cache->Reserve(b, 1).ok());
  CHECK(b.blocks == std::vector<std::int32_t>{2});
  CHECK(cache->num_free_blocks() == 1);

  Status full = cache->Reserve(b, 48);  // needs 2 more, 1 free
  CHECK(full.code() == cluster::StatusCode::kResourceExhausted);
  CHECK(full.message() == "kv cache: 48 tokens need 2 more blocks of 16 but only 1 are free");
  CHECK(b.blocks.size() == 1);  // unchanged

  cache->Release(a);
  CHECK(a.blocks.empty());
  CHECK(cache->num_free_blocks() == 3);
  REQUIRE(cache->Reserve(b, 48).ok());
}
