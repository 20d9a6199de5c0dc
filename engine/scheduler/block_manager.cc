#include "engine/scheduler/block_manager.h"

#include <algorithm>
#include <string>

namespace engine {
namespace {

// splitmix64's finaliser: spreads every input bit over the output.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t HashKvBlock(std::optional<std::uint64_t> parent, std::span<const std::int32_t> tokens) {
  std::uint64_t h = parent ? Mix(*parent ^ 0x1ULL) : Mix(0x2ULL);
  for (std::int32_t t : tokens) h = Mix(h ^ static_cast<std::uint32_t>(t));
  return Mix(h ^ tokens.size());
}

KvBlockManager::KvBlockManager(KvCache& cache, bool enable_prefix_caching)
    : cache_(cache),
      prefix_caching_(enable_prefix_caching),
      refs_(static_cast<std::size_t>(cache.shape().num_blocks), 0),
      registered_(static_cast<std::size_t>(cache.shape().num_blocks)),
      lru_pos_(static_cast<std::size_t>(cache.shape().num_blocks)) {}

KvBlockManager::~KvBlockManager() { Evict(num_cached()); }

std::vector<std::int32_t> KvBlockManager::MatchCachedPrefix(std::span<const std::int32_t> tokens,
                                                            std::int64_t max_blocks) const {
  std::vector<std::int32_t> found;
  if (!prefix_caching_) return found;
  const auto bs = static_cast<std::size_t>(block_size());
  std::optional<std::uint64_t> parent;
  for (std::size_t b = 0; static_cast<std::int64_t>(b) < max_blocks && (b + 1) * bs <= tokens.size(); ++b) {
    const auto block_tokens = tokens.subspan(b * bs, bs);
    const std::uint64_t h = HashKvBlock(parent, block_tokens);
    const auto it = by_hash_.find(h);
    if (it == by_hash_.end() || it->second.parent != parent ||
        !std::equal(block_tokens.begin(), block_tokens.end(), it->second.tokens.begin(), it->second.tokens.end())) {
      break;
    }
    found.push_back(it->second.block);
    parent = h;
  }
  return found;
}

std::int64_t KvBlockManager::CountUnreferenced(std::span<const std::int32_t> blocks) const {
  return std::count_if(blocks.begin(), blocks.end(),
                       [&](std::int32_t b) { return refs_[static_cast<std::size_t>(b)] == 0; });
}

std::vector<std::uint64_t> KvBlockManager::AcquireCached(std::span<const std::int32_t> blocks) {
  std::vector<std::uint64_t> hashes;
  hashes.reserve(blocks.size());
  for (std::int32_t b : blocks) {
    const auto i = static_cast<std::size_t>(b);
    if (refs_[i] == 0) {
      evictable_.erase(lru_pos_[i]);
      ++num_used_;
    }
    ++refs_[i];
    hashes.push_back(*registered_[i]);
  }
  return hashes;
}

void KvBlockManager::Evict(std::int64_t count) {
  KvBlockTable freed;
  for (std::int64_t i = 0; i < count && !evictable_.empty(); ++i) {
    const std::int32_t b = evictable_.front();
    evictable_.pop_front();
    by_hash_.erase(*registered_[static_cast<std::size_t>(b)]);
    registered_[static_cast<std::size_t>(b)].reset();
    freed.blocks.push_back(b);
  }
  // KvCache::Release pushes in reverse, so the first evicted is handed out first.
  std::reverse(freed.blocks.begin(), freed.blocks.end());
  cache_.Release(freed);
}

Status KvBlockManager::AllocateBlocks(std::int64_t count, std::vector<std::int32_t>& blocks) {
  if (count <= 0) return Status::Ok();
  if (count > num_available()) {
    return cluster::ResourceExhaustedError("kv cache: " + std::to_string(count) + " blocks needed but only " +
                                           std::to_string(num_available()) + " are free or evictable");
  }
  if (count > num_free()) Evict(count - num_free());
  KvBlockTable taken;
  CLUSTER_RETURN_IF_ERROR(cache_.Reserve(taken, count * block_size()));
  for (std::int32_t b : taken.blocks) {
    refs_[static_cast<std::size_t>(b)] = 1;
    blocks.push_back(b);
  }
  num_used_ += count;
  return Status::Ok();
}

std::uint64_t KvBlockManager::RegisterFullBlock(std::int32_t block, std::optional<std::uint64_t> parent,
                                                std::span<const std::int32_t> tokens) {
  const std::uint64_t h = HashKvBlock(parent, tokens);
  if (!prefix_caching_) return h;
  const auto i = static_cast<std::size_t>(block);
  if (registered_[i] || by_hash_.contains(h)) return h;  // already cached (here or elsewhere): keep this one private
  by_hash_.emplace(h, CachedBlock{block, parent, std::vector<std::int32_t>(tokens.begin(), tokens.end())});
  registered_[i] = h;
  return h;
}

void KvBlockManager::ReleaseBlocks(std::vector<std::int32_t>& blocks) {
  KvBlockTable freed;
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) {
    const auto i = static_cast<std::size_t>(*it);
    if (--refs_[i] > 0) continue;
    --num_used_;
    if (registered_[i]) {
      lru_pos_[i] = evictable_.insert(evictable_.end(), *it);
    } else {
      freed.blocks.push_back(*it);
    }
  }
  std::reverse(freed.blocks.begin(), freed.blocks.end());
  cache_.Release(freed);
  blocks.clear();
}

}  // namespace engine
