#include "engine/tokenizer/string_table.h"

namespace engine::tokenizer {
namespace {

uint64_t Mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ULL;
  x ^= x >> 32;
  return x;
}

}  // namespace

uint64_t StringTable::Hash(std::string_view key) {
  // Eight bytes per multiply; pre-tokens are short, so this is a few cycles.
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ (key.size() * 0xFF51AFD7ED558CCDULL);
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, key.data() + i, 8);
    h = Mix(h ^ chunk) * 0x9E3779B97F4A7C15ULL;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, key.data() + i, key.size() - i);
  return Mix(h ^ tail ^ (uint64_t{key.size() - i} << 56));
}

void StringTable::Reserve(size_t count) {
  size_t capacity = 16;
  while (capacity < count * 2) capacity *= 2;
  if (capacity > slots_.size()) Rehash(capacity);
}

void StringTable::Rehash(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{0, 0, 0, 0});
  mask_ = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.fingerprint == 0) continue;
    const uint64_t hash = Hash(std::string_view(arena_).substr(slot.offset, slot.length));
    size_t i = hash & mask_;
    while (slots_[i].fingerprint != 0) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

void StringTable::Insert(std::string_view key, uint64_t hash, uint32_t value) {
  if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.empty() ? 16 : slots_.size() * 2);
  const auto fingerprint = static_cast<uint32_t>(hash >> 32) | 1u;
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    Slot& slot = slots_[i];
    if (slot.fingerprint == 0) {
      slot = Slot{fingerprint, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value};
      arena_.append(key);
      ++size_;
      return;
    }
    if (slot.fingerprint == fingerprint && slot.length == key.size() &&
        std::memcmp(arena_.data() + slot.offset, key.data(), key.size()) == 0) {
      slot.value = value;
      return;
    }
  }
}

}  // namespace engine::tokenizer
