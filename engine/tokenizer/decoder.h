// The tokenizer.json "decoder" of type ByteLevel: ids -> text.
//
// Each vocabulary token stands for the bytes its byte-level characters spell
// (byte_level.h); added tokens stand for their content, verbatim. The bytes
// of consecutive vocabulary tokens are joined and read as UTF-8; every
// ill-formed part (e.g. half a character at the end) becomes U+FFFD, exactly
// as Hugging Face's from_utf8_lossy / TextDecoder do.
//
// Ids outside the vocabulary are skipped (as Hugging Face does). A vocabulary
// token written outside the byte alphabet decodes to its own UTF-8 bytes (the
// Rust tokenizers rule).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "engine/tokenizer/added_vocabulary.h"
#include "engine/tokenizer/bpe_model.h"

namespace engine::tokenizer {

class Decoder {
 public:
  enum class Kind : uint8_t {
    kNone,      // no token has this id
    kBytes,     // a vocabulary token: raw bytes, joined with its neighbours
    kVerbatim,  // an added token: its content, never joined
  };

  // `config` is tokenizer.json's "decoder"; it must be ByteLevel.
  static cluster::StatusOr<Decoder> FromJson(const nlohmann::json& config, const BpeModel& model,
                                             const AddedVocabulary& added, std::string_view where);

  Kind kind(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < kinds_.size() ? kinds_[static_cast<size_t>(id)] : Kind::kNone;
  }
  bool special(int32_t id) const { return kind(id) != Kind::kNone && special_[static_cast<size_t>(id)]; }

  // The bytes `id` stands for. REQUIRES: kind(id) != kNone.
  std::string_view bytes(int32_t id) const {
    const auto i = static_cast<size_t>(id);
    return std::string_view(arena_).substr(offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  size_t id_limit() const { return kinds_.size(); }

  // Appends the text of `ids` to `out`.
  void Decode(std::span<const int32_t> ids, bool skip_special_tokens, std::string* out) const;

 private:
  std::string arena_;              // the bytes of every id, back to back
  std::vector<uint32_t> offsets_;  // id -> start in arena_; one extra at the end
  std::vector<Kind> kinds_;
  std::vector<bool> special_;
};

}  // namespace engine::tokenizer
