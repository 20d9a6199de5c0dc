// The tokenizer.json "normalizer": Unicode normalization applied to the text
// between added tokens before pre-tokenization.
//
// Supported: null (none), "NFC", "NFD", "NFKC", "NFKD" (through ICU) and
// "Sequence" of those (an empty Sequence, as DeepSeek V3 ships, does
// nothing). Any other type is refused at load time with a message naming it,
// because silently skipping a normalizer would change token ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace engine::tokenizer {

// Immutable after construction; Normalize() is safe to call from many threads.
class Normalizer {
 public:
  // `config` is the value of tokenizer.json's "normalizer" (null: none).
  // `where` names it in error messages.
  static cluster::StatusOr<Normalizer> FromJson(const nlohmann::json& config, std::string_view where);

  // True if Normalize() returns its input unchanged for every input.
  bool is_identity() const { return forms_.empty(); }

  // The normalized form of `text`: `text` itself when it is already
  // normalized (the common case, checked without copying), otherwise a view
  // of *buffer, which receives the normalized text.
  // REQUIRES: `text` is valid UTF-8 and does not point into *buffer.
  std::string_view Normalize(std::string_view text, std::string* buffer) const;

  enum class Form : uint8_t { kNfc, kNfd, kNfkc, kNfkd };

 private:
  std::vector<Form> forms_;  // applied in order
};

}  // namespace engine::tokenizer
