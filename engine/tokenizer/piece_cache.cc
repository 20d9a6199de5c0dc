#include "engine/tokenizer/piece_cache.h"

namespace engine::tokenizer {

PieceCache::PieceCache(size_t capacity) : shard_capacity_((capacity + kShards - 1) / kShards) {}

bool PieceCache::Lookup(std::string_view piece, uint64_t hash, std::vector<int32_t>* ids) const {
  const Shard& shard = shards_[ShardOf(hash)];
  std::lock_guard<std::mutex> lock(shard.mutex);
  const uint32_t* offset = shard.entries.Find(piece, hash);
  if (offset == nullptr) return false;
  const int32_t* entry = shard.ids.data() + *offset;
  ids->insert(ids->end(), entry + 1, entry + 1 + entry[0]);
  return true;
}

void PieceCache::Insert(std::string_view piece, uint64_t hash, std::span<const int32_t> ids) {
  Shard& shard = shards_[ShardOf(hash)];
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.entries.size() >= shard_capacity_ || shard.entries.Find(piece, hash) != nullptr) return;
  shard.entries.Insert(piece, hash, static_cast<uint32_t>(shard.ids.size()));
  shard.ids.push_back(static_cast<int32_t>(ids.size()));
  shard.ids.insert(shard.ids.end(), ids.begin(), ids.end());
}

}  // namespace engine::tokenizer
