// PieceCache: a bounded, thread-safe memo of BPE results, pre-token -> ids.
//
// Text repeats its words; BPE on a word costs far more than a hash lookup,
// and even a vocabulary lookup misses the CPU caches more than this small
// table of the words actually seen. The cache is split into shards, each
// behind its own mutex, so that threads encoding at the same time rarely wait
// for each other. When a shard is full it stops taking new entries (the first
// words seen stay), which bounds memory without eviction bookkeeping on the
// hot path; the Rust tokenizers crate makes the same choice.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "engine/tokenizer/string_table.h"

namespace engine::tokenizer {

class PieceCache {
 public:
  // Holds at most about `capacity` entries in total.
  explicit PieceCache(size_t capacity);

  // If `piece` is cached, appends its ids to `ids` and returns true.
  // `hash` is StringTable::Hash(piece).
  bool Lookup(std::string_view piece, uint64_t hash, std::vector<int32_t>* ids) const;

  // Remembers `ids` for `piece` unless its shard is full.
  void Insert(std::string_view piece, uint64_t hash, std::span<const int32_t> ids);

 private:
  struct Shard {
    mutable std::mutex mutex;
    StringTable entries;       // piece -> offset in ids; guarded by mutex
    std::vector<int32_t> ids;  // per entry: count, then the ids; guarded by mutex
  };
  static constexpr size_t kShards = 16;

  // The top bits: StringTable uses the low ones for its slots.
  static size_t ShardOf(uint64_t hash) { return static_cast<size_t>(hash >> 60) % kShards; }

  size_t shard_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace engine::tokenizer
