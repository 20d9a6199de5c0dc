// The paged KV cache: per-layer key/value block pools and the allocator that
// hands their blocks to sequences.
//
// Memory: for each layer, K and V tensors of shape
//   [num_blocks, block_size, num_kv_heads, head_dim]
// (num_kv_heads is this rank's share under tensor parallelism), in the
// backend's compute dtype. A sequence
// holds a KvBlockTable, the ordered block ids holding its positions; see
// engine/ops/attention_batch.h for how positions map to slots.
//
// Ownership: the KvCache owns the tensors and the free list. Whoever runs
// sequences (the generator today, the continuous-batching scheduler next)
// owns their block tables, grows them with Reserve before a step, and gives
// the blocks back with Release when a sequence ends.
//
// Thread safety: none; one scheduler thread owns the cache.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/ops/backend.h"
#include "engine/status.h"

namespace engine {

struct KvCacheShape {
  std::int64_t num_layers = 0;
  std::int64_t num_blocks = 0;
  std::int64_t block_size = 16;
  std::int64_t num_kv_heads = 0;
  std::int64_t head_dim = 0;
};

// The blocks of one sequence, in position order.
struct KvBlockTable {
  std::vector<std::int32_t> blocks;
};

class KvCache {
 public:
  // Allocates 2 * num_layers tensors on `backend`, in its compute dtype.
  // InvalidArgument for a non-positive dimension or more than 2^31 slots;
  // ResourceExhausted if the device is too small.
  static StatusOr<KvCache> Allocate(Backend& backend, const KvCacheShape& shape);

  // Bytes one block takes over all layers, keys and values (num_blocks ignored).
  static std::size_t BlockBytes(const KvCacheShape& shape, DType dtype);

  const KvCacheShape& shape() const { return shape_; }
  int block_size() const { return static_cast<int>(shape_.block_size); }
  std::int64_t num_free_blocks() const { return static_cast<std::int64_t>(free_.size()); }
  std::size_t num_bytes() const { return num_bytes_; }

  Tensor& keys(std::int64_t layer) { return keys_[static_cast<std::size_t>(layer)]; }
  Tensor& values(std::int64_t layer) { return values_[static_cast<std::size_t>(layer)]; }

  // Grows `table` so it covers positions [0, num_tokens). ResourceExhausted
  // (and `table` unchanged) if too few blocks are free.
  Status Reserve(KvBlockTable& table, std::int64_t num_tokens);

  // Returns all of `table`'s blocks to the free list and clears it.
  void Release(KvBlockTable& table);

 private:
  KvCacheShape shape_;
  std::vector<Tensor> keys_, values_;
  std::vector<std::int32_t> free_;  // a stack: the lowest ids are handed out first
  std::size_t num_bytes_ = 0;
};

}  // namespace engine
