// The tokenizer.json "added_tokens": tokens matched in the text as literals
// before any normalization or BPE (<|begin_of_text|>, <|im_start|>,
// <｜User｜>, ...), so that writing one in the text gives its single id.
//
// Matching follows Hugging Face (tokenizers' AddedVocabulary):
//   - Tokens with normalized=false are found in the raw text; tokens with
//     normalized=true are found in each normalized stretch of text between
//     them, spelled as the normalizer spells them.
//   - Leftmost-longest: the earliest match wins, the longest on a tie.
//   - single_word: a match touching a word character (\w in the Unicode
//     sense) on either side is not a match.
//   - lstrip / rstrip: the whitespace before / after a match is swallowed by it.
//   - special: skipped by Decode(skip_special_tokens=true). Both special and
//     non-special added tokens are matched when encoding (add_special_tokens
//     only controls the post-processor).
// Ids are those written in the file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"
#include "engine/tokenizer/literal_matcher.h"
#include "engine/tokenizer/normalizer.h"

namespace engine::tokenizer {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A stretch of input: an added token (token_id >= 0) or text for the model.
struct TextSegment {
  std::string_view text;
  int32_t token_id;  // -1 for text
};

// Immutable after construction; safe to use from many threads.
class AddedVocabulary {
 public:
  // `tokens` is tokenizer.json's "added_tokens" (null: none); `normalizer`
  // spells the normalized=true tokens.
  static cluster::StatusOr<AddedVocabulary> FromJson(const nlohmann::json& tokens, const Normalizer& normalizer,
                                                     std::string_view where);

  // Appends the segments of `text` cut at the tokens matched in raw text.
  void SplitRaw(std::string_view text, std::vector<TextSegment>* out) const { Split(raw_, text, out); }

  // Appends the segments of already-normalized `text` cut at the normalized tokens.
  void SplitNormalized(std::string_view text, std::vector<TextSegment>* out) const {
    Split(normalized_, text, out);
  }

  bool has_normalized_tokens() const { return !normalized_.empty(); }

  const AddedToken* FindById(int32_t id) const;
  std::optional<int32_t> FindByContent(std::string_view content) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  void Split(const LiteralMatcher& matcher, std::string_view text, std::vector<TextSegment>* out) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> index_by_id_;
  std::unordered_map<std::string, size_t> index_by_content_;
  LiteralMatcher raw_;         // value: index into tokens_
  LiteralMatcher normalized_;  // value: index into tokens_
};

}  // namespace engine::tokenizer
