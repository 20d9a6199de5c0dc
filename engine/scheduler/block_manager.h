// KvBlockManager: reference-counted KV blocks and the prefix cache.
//
// Blocks come from, and go back to, the KvCache's free list (KvCache::Reserve
// / Release), so `cache.num_free_blocks()` stays the number of blocks nobody
// holds. On top of that this class adds what sharing needs:
//
//  - a reference count per block: a block may be in the block tables of
//    several sequences;
//  - a prefix cache: a FULL block whose positions are all computed (so it
//    is never written again) is registered under the hash of (its parent
//    block's hash, its block_size token ids). A later sequence whose tokens
//    start with the same full blocks takes references to them instead of
//    recomputing them. Lookups compare the stored token ids and parent hash,
//    so a hash collision can never hand out the wrong block;
//  - eviction: a registered block whose last reference goes away stays
//    cached ("cached" blocks: unreferenced, still holding their keys and
//    values) until free blocks run out; then the least recently released is
//    evicted and reused.
//
// Only full blocks are ever shared, and only blocks before a sequence's last
// token (see ContinuousBatch), so no shared block is ever written: no
// copy-on-write is needed. Every block is in exactly one state:
//   used (refs > 0) | cached (refs == 0, registered) | free (in the KvCache)
// and used + cached + free == total.
//
// Thread safety: none; owned by the scheduler's loop thread.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/status.h"

namespace engine {

// The hash of a full block: its parent's hash (nullopt for the first block
// of a sequence) and its token ids. Stable within a process.
std::uint64_t HashKvBlock(std::optional<std::uint64_t> parent, std::span<const std::int32_t> tokens);

class KvBlockManager {
 public:
  // `cache` must outlive this object. With prefix caching off, nothing is
  // registered and released blocks go straight back to the free list.
  KvBlockManager(KvCache& cache, bool enable_prefix_caching);
  // Gives cached blocks back to the cache. REQUIRES: num_used() == 0.
  ~KvBlockManager();
  KvBlockManager(const KvBlockManager&) = delete;
  KvBlockManager& operator=(const KvBlockManager&) = delete;

  KvCache& cache() { return cache_; }
  int block_size() const { return cache_.block_size(); }
  std::int64_t num_total() const { return cache_.shape().num_blocks; }
  std::int64_t num_used() const { return num_used_; }
  std::int64_t num_cached() const { return static_cast<std::int64_t>(evictable_.size()); }
  std::int64_t num_free() const { return cache_.num_free_blocks(); }
  // Blocks AllocateBlocks can hand out now: free + cached.
  std::int64_t num_available() const { return num_free() + num_cached(); }

  // The longest run of registered blocks equal to the first full blocks of
  // `tokens`, at most `max_blocks`: their ids, without taking references.
  std::vector<std::int32_t> MatchCachedPrefix(std::span<const std::int32_t> tokens, std::int64_t max_blocks) const;

  // How many of `blocks` have no reference (acquiring them lowers
  // num_available() by that much).
  std::int64_t CountUnreferenced(std::span<const std::int32_t> blocks) const;

  // Takes a reference on each of `blocks` (from MatchCachedPrefix, in
  // order) and returns their hashes.
  std::vector<std::uint64_t> AcquireCached(std::span<const std::int32_t> blocks);

  // Appends `count` fresh blocks (one reference each) to `blocks`, evicting
  // the least recently released cached blocks when free ones run out.
  // ResourceExhausted, and nothing taken, if num_available() < count.
  Status AllocateBlocks(std::int64_t count, std::vector<std::int32_t>& blocks);

  // Registers `block`, now full and never to be written again, as holding
  // `tokens` (block_size ids) after the block with hash `parent`. Returns
  // the hash for its successor. If equal content is already registered in
  // another block, this one stays unregistered (it is freed, not cached,
  // when released). No-op registration with prefix caching off.
  std::uint64_t RegisterFullBlock(std::int32_t block, std::optional<std::uint64_t> parent,
                                  std::span<const std::int32_t> tokens);

  // Drops one reference from each of `blocks`, last first (so a sequence's
  // tail is evicted before its head), and clears the vector. A block left
  // without references becomes cached if registered, else free.
  void ReleaseBlocks(std::vector<std::int32_t>& blocks);

 private:
  struct CachedBlock {
    std::int32_t block = 0;
    std::optional<std::uint64_t> parent;
    std::vector<std::int32_t> tokens;
  };

  void Evict(std::int64_t count);  // the `count` least recently released cached blocks -> free list

  KvCache& cache_;
  bool prefix_caching_;
  std::int64_t num_used_ = 0;
  std::vector<std::int32_t> refs_;                        // per block
  std::vector<std::optional<std::uint64_t>> registered_;  // per block: its hash if registered
  std::unordered_map<std::uint64_t, CachedBlock> by_hash_;
  std::list<std::int32_t> evictable_;                     // cached blocks, least recently released first
  std::vector<std::list<std::int32_t>::iterator> lru_pos_;  // per block, valid while cached
};

}  // namespace engine
