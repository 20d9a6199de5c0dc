// MergeTable: the BPE merge rules as a flat hash table,
//   (left id, right id) -> (rank, merged id).
//
// BPE looks a pair up for every adjacent symbol pair it considers, so this is
// the innermost lookup of encoding: open addressing with linear probing over
// one array, keys packed into 64 bits, load factor <= 1/2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace engine::tokenizer {

class MergeTable {
 public:
  struct Merge {
    int32_t rank;       // position in the merges list: lower merges first
    int32_t merged_id;  // id of the concatenated token
  };

  // Prepares room for `count` merges without rehashing.
  void Reserve(size_t count);

  // Adds a rule; a later rule for the same pair replaces the earlier one (as
  // in Hugging Face, where the last duplicate wins).
  void Insert(int32_t left, int32_t right, Merge merge);

  // The rule for (left, right), or nullptr.
  const Merge* Find(int32_t left, int32_t right) const {
    if (slots_.empty()) return nullptr;
    const uint64_t key = Key(left, right);
    for (size_t i = Hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.key == key) return &slot.merge;
      if (slot.key == kEmpty) return nullptr;
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are >= 0, so never a real key

  static uint64_t Key(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  static size_t Hash(uint64_t key) {
    // Fibonacci hashing: multiply, keep the high bits well mixed into the low ones.
    const uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    return static_cast<size_t>(h ^ (h >> 29));
  }
  void Rehash(size_t capacity);

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace engine::tokenizer
