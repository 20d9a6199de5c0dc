#include "engine/tokenizer/added_vocabulary.h"

#include <unicode/uchar.h>

#include <algorithm>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/json_fields.h"
#include "engine/tokenizer/utf8.h"

namespace engine::tokenizer {
namespace {

using json_fields::Json;

constexpr int64_t kMaxId = int64_t{1} << 24;

// \w of the Rust regex crate (what HF's single_word uses): Alphabetic, marks,
// decimal numbers, connector punctuation, join controls.
bool IsWordChar(char32_t c) {
  const auto cp = static_cast<UChar32>(c);
  return u_hasBinaryProperty(cp, UCHAR_ALPHABETIC) || u_hasBinaryProperty(cp, UCHAR_JOIN_CONTROL) ||
         (U_GET_GC_MASK(cp) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

bool IsWhiteSpace(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE); }

// Start of the character that ends text[..end]. REQUIRES: end > 0, valid UTF-8.
size_t PreviousCharStart(std::string_view text, size_t end) {
  size_t pos = end - 1;
  while (pos > 0 && (static_cast<uint8_t>(text[pos]) & 0xC0) == 0x80) --pos;
  return pos;
}

char32_t CharAt(std::string_view text, size_t pos) {
  size_t length = 0;
  return utf8::DecodeValid(text, pos, &length);
}

// Length of the whitespace run that ends at text[end].
size_t WhitespaceBefore(std::string_view text, size_t end) {
  size_t begin = end;
  while (begin > 0) {
    const size_t pos = PreviousCharStart(text, begin);
    if (!IsWhiteSpace(CharAt(text, pos))) break;
    begin = pos;
  }
  return end - begin;
}

// Length of the whitespace run that starts at text[begin].
size_t WhitespaceAfter(std::string_view text, size_t begin) {
  size_t end = begin;
  while (end < text.size()) {
    size_t length = 0;
    if (!IsWhiteSpace(utf8::DecodeValid(text, end, &length))) break;
    end += length;
  }
  return end - begin;
}

cluster::StatusOr<AddedToken> ParseToken(const Json& item, std::string_view where) {
  if (!item.is_object()) return json_fields::TypeError(where, "an object", item);
  AddedToken token;
  const Json* id = json_fields::Find(item, "id");
  if (id == nullptr || !id->is_number_integer() || id->get<int64_t>() < 0 || id->get<int64_t>() >= kMaxId) {
    return cluster::InvalidArgumentError(
        fmt::format("{}.id: expected an integer from 0 to {}", where, kMaxId - 1));
  }
  token.id = static_cast<int32_t>(id->get<int64_t>());
  CLUSTER_ASSIGN_OR_RETURN(token.content, json_fields::GetString(item, "content", where));
  if (token.content.empty()) return cluster::InvalidArgumentError(fmt::format("{}.content: empty", where));
  if (!utf8::IsValid(token.content)) {
    return cluster::InvalidArgumentError(fmt::format("{}.content: not valid UTF-8", where));
  }
  CLUSTER_ASSIGN_OR_RETURN(token.special, json_fields::GetBool(item, "special", false, where));
  CLUSTER_ASSIGN_OR_RETURN(token.single_word, json_fields::GetBool(item, "single_word", false, where));
  CLUSTER_ASSIGN_OR_RETURN(token.lstrip, json_fields::GetBool(item, "lstrip", false, where));
  CLUSTER_ASSIGN_OR_RETURN(token.rstrip, json_fields::GetBool(item, "rstrip", false, where));
  // HF's default: special tokens are matched verbatim, others after normalization.
  CLUSTER_ASSIGN_OR_RETURN(token.normalized, json_fields::GetBool(item, "normalized", !token.special, where));
  return token;
}

}  // namespace

cluster::StatusOr<AddedVocabulary> AddedVocabulary::FromJson(const Json& tokens, const Normalizer& normalizer,
                                                             std::string_view where) {
  AddedVocabulary result;
  if (tokens.is_null()) return result;
  if (!tokens.is_array()) return json_fields::TypeError(where, "an array", tokens);
  std::string spelled;
  for (size_t i = 0; i < tokens.size(); ++i) {
    CLUSTER_ASSIGN_OR_RETURN(AddedToken token, ParseToken(tokens[i], json_fields::Path(where, i)));
    const size_t index = result.tokens_.size();
    const auto value = static_cast<int32_t>(index);
    if (token.normalized) {
      result.normalized_.Add(normalizer.Normalize(token.content, &spelled), value);
    } else {
      result.raw_.Add(token.content, value);
    }
    result.index_by_id_[token.id] = index;
    result.index_by_content_[token.content] = index;
    result.tokens_.push_back(std::move(token));
  }
  return result;
}

const AddedToken* AddedVocabulary::FindById(int32_t id) const {
  auto it = index_by_id_.find(id);
  return it == index_by_id_.end() ? nullptr : &tokens_[it->second];
}

std::optional<int32_t> AddedVocabulary::FindByContent(std::string_view content) const {
  auto it = index_by_content_.find(std::string(content));
  if (it == index_by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

void AddedVocabulary::Split(const LiteralMatcher& matcher, std::string_view text,
                            std::vector<TextSegment>* out) const {
  size_t done = 0;  // text[..done] is already in `out`
  size_t from = 0;  // where to look for the next match
  LiteralMatcher::Match match;
  while (matcher.FindNext(text, from, &match)) {
    const AddedToken& token = tokens_[static_cast<size_t>(match.value)];
    size_t begin = match.begin;
    size_t end = match.end;
    from = end;
    if (token.single_word) {
      const bool word_before = begin > 0 && IsWordChar(CharAt(text, PreviousCharStart(text, begin)));
      const bool word_after = end < text.size() && IsWordChar(CharAt(text, end));
      if (word_before || word_after) continue;
    }
    if (token.lstrip) begin = std::max(done, begin - WhitespaceBefore(text, begin));
    if (token.rstrip) {
      end += WhitespaceAfter(text, end);
      from = end;
    }
    if (begin > done) out->push_back({text.substr(done, begin - done), -1});
    out->push_back({text.substr(begin, end - begin), token.id});
    done = end;
  }
  if (done < text.size()) out->push_back({text.substr(done), -1});
}

}  // namespace engine::tokenizer
