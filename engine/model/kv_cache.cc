#include "engine/model/kv_cache.h"

#include <string>

namespace engine {

StatusOr<KvCache> KvCache::Allocate(Backend& backend, const KvCacheShape& shape) {
  if (shape.num_layers <= 0 || shape.num_blocks <= 0 || shape.block_size <= 0 || shape.num_kv_heads <= 0 ||
      shape.head_dim <= 0) {
    return cluster::InvalidArgumentError("kv cache: layers, blocks, block size, kv heads and head_dim must all be "
                                         "positive");
  }
  if (shape.num_blocks * shape.block_size > std::int64_t{1} << 31) {
    return cluster::InvalidArgumentError("kv cache: " + std::to_string(shape.num_blocks) + " blocks of " +
                                         std::to_string(shape.block_size) +
                                         " slots exceed the 2^31 slots a step can address");
  }
  KvCache cache;
  cache.shape_ = shape;
  const Shape pool = {shape.num_blocks, shape.block_size, shape.num_kv_heads, shape.head_dim};
  for (std::int64_t l = 0; l < shape.num_layers; ++l) {
    CLUSTER_ASSIGN_OR_RETURN(Tensor k, backend.Allocate(pool, backend.compute_dtype()));
    CLUSTER_ASSIGN_OR_RETURN(Tensor v, backend.Allocate(pool, backend.compute_dtype()));
    cache.num_bytes_ += k.num_bytes() + v.num_bytes();
    cache.keys_.push_back(std::move(k));
    cache.values_.push_back(std::move(v));
  }
  for (std::int64_t b = shape.num_blocks - 1; b >= 0; --b) cache.free_.push_back(static_cast<std::int32_t>(b));
  return cache;
}

std::size_t KvCache::BlockBytes(const KvCacheShape& shape, DType dtype) {
  return static_cast<std::size_t>(2 * shape.num_layers * shape.block_size * shape.num_kv_heads * shape.head_dim) *
         DTypeSize(dtype);
}

Status KvCache::Reserve(KvBlockTable& table, std::int64_t num_tokens) {
  const std::int64_t needed = (num_tokens + shape_.block_size - 1) / shape_.block_size;
  const std::int64_t missing = needed - static_cast<std::int64_t>(table.blocks.size());
  if (missing <= 0) return Status::Ok();
  if (missing > num_free_blocks()) {
    return cluster::ResourceExhaustedError("kv cache: " + std::to_string(num_tokens) + " tokens need " +
                                           std::to_string(missing) + " more blocks of " +
                                           std::to_string(shape_.block_size) + " but only " +
                                           std::to_string(num_free_blocks()) + " are free");
  }
  for (std::int64_t i = 0; i < missing; ++i) {
    table.blocks.push_back(free_.back());
    free_.pop_back();
  }
  return Status::Ok();
}

void KvCache::Release(KvBlockTable& table) {
  for (auto it = table.blocks.rbegin(); it != table.blocks.rend(); ++it) free_.push_back(*it);
  table.blocks.clear();
}

}  // namespace engine
