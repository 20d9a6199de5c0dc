// KvBlockManager: reference counts, the prefix cache and LRU eviction, on a
// real KvCache. The invariant used + cached + free == total holds throughout.
#include "engine/scheduler/block_manager.h"

#include <catch2/catch.hpp>

#include "engine/backends/cpu/cpu_backend.h"

using namespace engine;

namespace {

KvCache NewCache(CpuBackend& backend, std::int64_t num_blocks, std::int64_t block_size = 4) {
  auto c = KvCache::Allocate(backend, KvCacheShape{1, num_blocks, block_size, 1, 2});
  REQUIRE(c.ok());
  return std::move(*c);
}

void CheckAccounting(const KvBlockManager& m) {
  CHECK(m.num_used() + m.num_cached() + m.num_free() == m.num_total());
}

// Registers every full block of `blocks` as holding `tokens`, in order.
void RegisterAll(KvBlockManager& m, const std::vector<std::int32_t>& blocks, const std::vector<std::int32_t>& tokens) {
  std::optional<std::uint64_t> parent;
  for (std::size_t b = 0; (b + 1) * 4 <= tokens.size(); ++b) {
    parent = m.RegisterFullBlock(blocks[b], parent, std::span<const std::int32_t>(tokens).subspan(b * 4, 4));
  }
}

}  // namespace

TEST_CASE("Allocated blocks come from the cache's free list and go back when released") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 8);
  {
    KvBlockManager m(cache, /*enable_prefix_caching=*/true);
    std::vector<std::int32_t> blocks;
    REQUIRE(m.AllocateBlocks(3, blocks).ok());
    CHECK(blocks.size() == 3);
    CHECK(m.num_used() == 3);
    CHECK(cache.num_free_blocks() == 5);
    CheckAccounting(m);
    m.ReleaseBlocks(blocks);
    CHECK(blocks.empty());
    CHECK(m.num_used() == 0);
    CHECK(cache.num_free_blocks() == 8);  // unregistered blocks are freed, not cached
  }
  CHECK(cache.num_free_blocks() == 8);
}

TEST_CASE("Asking for more blocks than are free or evictable fails and takes nothing") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 4);
  KvBlockManager m(cache, true);
  std::vector<std::int32_t> blocks;
  REQUIRE(m.AllocateBlocks(3, blocks).ok());
  const Status s = m.AllocateBlocks(2, blocks);
  CHECK(s.code() == StatusCode::kResourceExhausted);
  CHECK(blocks.size() == 3);
  CHECK(m.num_used() == 3);
  m.ReleaseBlocks(blocks);
}

TEST_CASE("A registered full block is found by a sequence with the same leading tokens, and shared") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 8);
  KvBlockManager m(cache, true);
  const std::vector<std::int32_t> tokens = {5, 6, 7, 8, 9, 10, 11, 12, 13, 14};  // two full blocks + 2
  std::vector<std::int32_t> a;
  REQUIRE(m.AllocateBlocks(3, a).ok());
  RegisterAll(m, a, tokens);

  // Same first block, different second block: one block matches.
  const std::vector<std::int32_t> other = {5, 6, 7, 8, 9, 10, 11, 99, 13};
  CHECK(m.MatchCachedPrefix(other, 10) == std::vector<std::int32_t>{a[0]});
  // Same two blocks: both match, at most max_blocks.
  CHECK(m.MatchCachedPrefix(tokens, 10) == std::vector<std::int32_t>{a[0], a[1]});
  CHECK(m.MatchCachedPrefix(tokens, 1) == std::vector<std::int32_t>{a[0]});
  // A different first block hides the (equal) second one: hashes chain.
  const std::vector<std::int32_t> shifted = {0, 6, 7, 8, 9, 10, 11, 12};
  CHECK(m.MatchCachedPrefix(shifted, 10).empty());

  std::vector<std::int32_t> b = m.MatchCachedPrefix(tokens, 2);
  const auto hashes = m.AcquireCached(b);
  CHECK(hashes.size() == 2);
  CHECK(m.num_used() == 3);  // shared, not copied
  m.ReleaseBlocks(a);
  CHECK(m.num_used() == 2);  // b still holds the two shared blocks
  CHECK(m.num_free() == 6);  // a's private partial block was freed
  m.ReleaseBlocks(b);
  CHECK(m.num_used() == 0);
  CHECK(m.num_cached() == 2);
  CheckAccounting(m);
}

TEST_CASE("Cached blocks stay until free blocks run out, then the least recently released is evicted first") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 4);
  KvBlockManager m(cache, true);
  const std::vector<std::int32_t> first = {1, 2, 3, 4}, second = {5, 6, 7, 8};
  std::vector<std::int32_t> a, b;
  REQUIRE(m.AllocateBlocks(1, a).ok());
  REQUIRE(m.AllocateBlocks(1, b).ok());
  RegisterAll(m, a, first);
  RegisterAll(m, b, second);
  m.ReleaseBlocks(a);  // released first: evicted first
  m.ReleaseBlocks(b);
  CHECK(m.num_cached() == 2);
  CHECK(m.num_available() == 4);

  std::vector<std::int32_t> c;
  REQUIRE(m.AllocateBlocks(2, c).ok());  // the two free ones: nothing evicted
  CHECK(m.MatchCachedPrefix(first, 1).size() == 1);
  CHECK(m.MatchCachedPrefix(second, 1).size() == 1);
  REQUIRE(m.AllocateBlocks(1, c).ok());  // evicts `first`
  CHECK(m.MatchCachedPrefix(first, 1).empty());
  CHECK(m.MatchCachedPrefix(second, 1).size() == 1);
  CheckAccounting(m);
  m.ReleaseBlocks(c);
}

TEST_CASE("A block acquired from the cache is no longer evictable") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 2);
  KvBlockManager m(cache, true);
  const std::vector<std::int32_t> tokens = {1, 2, 3, 4};
  std::vector<std::int32_t> a;
  REQUIRE(m.AllocateBlocks(1, a).ok());
  RegisterAll(m, a, tokens);
  m.ReleaseBlocks(a);
  std::vector<std::int32_t> held = m.MatchCachedPrefix(tokens, 1);
  CHECK(m.CountUnreferenced(held) == 1);
  m.AcquireCached(held);
  CHECK(m.num_available() == 1);
  std::vector<std::int32_t> more;
  CHECK(m.AllocateBlocks(2, more).code() == StatusCode::kResourceExhausted);
  m.ReleaseBlocks(held);
}

TEST_CASE("Equal content registered twice keeps one cached copy, and the other block is freed on release") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 4);
  KvBlockManager m(cache, true);
  const std::vector<std::int32_t> tokens = {1, 2, 3, 4};
  std::vector<std::int32_t> a, b;
  REQUIRE(m.AllocateBlocks(1, a).ok());
  REQUIRE(m.AllocateBlocks(1, b).ok());
  RegisterAll(m, a, tokens);
  RegisterAll(m, b, tokens);
  m.ReleaseBlocks(a);
  m.ReleaseBlocks(b);
  CHECK(m.num_cached() == 1);
  CHECK(m.num_free() == 3);
}

TEST_CASE("With prefix caching off nothing is ever cached") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 4);
  KvBlockManager m(cache, false);
  const std::vector<std::int32_t> tokens = {1, 2, 3, 4};
  std::vector<std::int32_t> a;
  REQUIRE(m.AllocateBlocks(1, a).ok());
  RegisterAll(m, a, tokens);
  m.ReleaseBlocks(a);
  CHECK(m.num_cached() == 0);
  CHECK(m.MatchCachedPrefix(tokens, 1).empty());
}

TEST_CASE("Destroying the manager gives cached blocks back to the cache") {
  CpuBackend backend;
  KvCache cache = NewCache(backend, 4);
  {
    KvBlockManager m(cache, true);
    std::vector<std::int32_t> a;
    REQUIRE(m.AllocateBlocks(2, a).ok());
    RegisterAll(m, a, {1, 2, 3, 4, 5, 6, 7, 8});
    m.ReleaseBlocks(a);
    CHECK(cache.num_free_blocks() == 2);
  }
  CHECK(cache.num_free_blocks() == 4);
}

TEST_CASE("Block hashes depend on the parent and on every token") {
  const std::vector<std::int32_t> t = {1, 2, 3, 4};
  const std::vector<std::int32_t> u = {1, 2, 3, 5};
  CHECK(HashKvBlock(std::nullopt, t) == HashKvBlock(std::nullopt, t));
  CHECK(HashKvBlock(std::nullopt, t) != HashKvBlock(std::nullopt, u));
  CHECK(HashKvBlock(std::nullopt, t) != HashKvBlock(7, t));
  CHECK(HashKvBlock(7, t) != HashKvBlock(8, t));
}
