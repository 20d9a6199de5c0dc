// A compiled Split pattern: a PCRE2 regex (JIT-compiled when the platform
// supports it) and the match iteration rule Hugging Face uses.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;

namespace engine::tokenizer {

// Per-thread match state for SplitPattern::Find. Not shareable between threads.
class MatchState {
 public:
  MatchState();
  ~MatchState();
  MatchState(const MatchState&) = delete;
  MatchState& operator=(const MatchState&) = delete;
  pcre2_real_match_data_8* get() const { return data_; }

 private:
  pcre2_real_match_data_8* data_;
};

// Immutable once built; Find() may run on many threads at once, each with its
// own MatchState.
class SplitPattern {
 public:
  // `regex` uses the tokenizer.json (Oniguruma) dialect; see regex_translate.h.
  static cluster::StatusOr<SplitPattern> FromRegex(std::string_view regex, std::string_view where);
  // Matches `literal` exactly.
  static cluster::StatusOr<SplitPattern> FromLiteral(std::string_view literal, std::string_view where);

  SplitPattern(SplitPattern&&) noexcept;
  SplitPattern& operator=(SplitPattern&&) noexcept;
  ~SplitPattern();

  // Finds the first match in text[from..]. Returns false when there is none.
  // REQUIRES: `text` is valid UTF-8 and `from` is a character boundary.
  // To iterate like Hugging Face (and JavaScript's matchAll), continue from
  // the end of a non-empty match, or one character after an empty one.
  bool Find(std::string_view text, size_t from, MatchState* state, size_t* begin, size_t* end) const;

  bool jit() const { return jit_; }

 private:
  SplitPattern() = default;
  static cluster::StatusOr<SplitPattern> Compile(const std::string& pcre2_pattern, std::string_view where);

  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace engine::tokenizer
