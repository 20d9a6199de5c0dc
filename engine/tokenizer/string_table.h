// StringTable: an insert-only hash map from byte strings to uint32 values,
// laid out for lookups that miss the CPU caches as little as possible.
//
// The tokenizer looks up every pre-token (in the vocabulary, in the cache).
// A node-based std::unordered_map costs three or four cache misses per lookup
// on a 128k-entry vocabulary; here a lookup touches one 16-byte slot (which
// holds a hash fingerprint, so mismatches rarely go further) and then the key
// bytes in one contiguous arena.
//
// Not synchronised: callers that share one across threads must lock.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace engine::tokenizer {

class StringTable {
 public:
  // The hash Find and Insert take: compute it once per key and reuse it.
  static uint64_t Hash(std::string_view key);

  // Prepares room for `count` keys without rehashing.
  void Reserve(size_t count);

  // The value stored for `key`, or nullptr. `hash` must be Hash(key).
  const uint32_t* Find(std::string_view key, uint64_t hash) const {
    if (slots_.empty()) return nullptr;
    const auto fingerprint = static_cast<uint32_t>(hash >> 32) | 1u;  // never 0 (= empty)
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.fingerprint == 0) return nullptr;
      if (slot.fingerprint == fingerprint && slot.length == key.size() &&
          std::memcmp(arena_.data() + slot.offset, key.data(), key.size()) == 0) {
        return &slot.value;
      }
    }
  }

  // Adds `key` -> `value`, or replaces the value if `key` is present.
  // REQUIRES: the arena stays under 4 GiB.
  void Insert(std::string_view key, uint64_t hash, uint32_t value);

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t fingerprint;  // high hash bits | 1; 0 marks an empty slot
    uint32_t offset;       // of the key in arena_
    uint32_t length;
    uint32_t value;
  };
  void Rehash(size_t capacity);

  std::vector<Slot> slots_;
  std::string arena_;  // all keys, back to back
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace engine::tokenizer
