#define PCRE2_CODE_UNIT_WIDTH 8
#include "engine/tokenizer/split_pattern.h"

#include <pcre2.h>

#include <fmt/format.h>

#include "engine/tokenizer/regex_translate.h"

namespace engine::tokenizer {

MatchState::MatchState() : data_(pcre2_match_data_create(1, nullptr)) {}
MatchState::~MatchState() { pcre2_match_data_free(data_); }

SplitPattern::SplitPattern(SplitPattern&& other) noexcept : code_(other.code_), jit_(other.jit_) {
  other.code_ = nullptr;
}

SplitPattern& SplitPattern::operator=(SplitPattern&& other) noexcept {
  if (this != &other) {
    pcre2_code_free(code_);
    code_ = other.code_;
    jit_ = other.jit_;
    other.code_ = nullptr;
  }
  return *this;
}

SplitPattern::~SplitPattern() { pcre2_code_free(code_); }

cluster::StatusOr<SplitPattern> SplitPattern::Compile(const std::string& pattern, std::string_view where) {
  // Oniguruma's defaults: '.' stops only at \n, ^ and $ are line anchors.
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &error, &offset, context);
  pcre2_compile_context_free(context);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof(message));
    return cluster::InvalidArgumentError(fmt::format("{}: the regex does not compile: {} at offset {}", where,
                                                     reinterpret_cast<const char*>(message), offset));
  }
  SplitPattern result;
  result.code_ = code;
  // The JIT makes matching several times faster; without it PCRE2's
  // interpreter gives the same results.
  result.jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return result;
}

cluster::StatusOr<SplitPattern> SplitPattern::FromRegex(std::string_view regex, std::string_view where) {
  auto translated = TranslateRegexToPcre2(regex);
  if (!translated.ok()) return translated.status().WithContext(where);
  return Compile(*translated, where);
}

cluster::StatusOr<SplitPattern> SplitPattern::FromLiteral(std::string_view literal, std::string_view where) {
  return Compile(EscapeLiteralForPcre2(literal), where);
}

bool SplitPattern::Find(std::string_view text, size_t from, MatchState* state, size_t* begin,
                        size_t* end) const {
  if (from > text.size()) return false;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  // The tokenizer validates UTF-8 once on entry, so PCRE2 need not re-check.
  int rc = jit_ ? pcre2_jit_match(code_, subject, text.size(), from, PCRE2_NO_UTF_CHECK, state->get(), nullptr)
                : PCRE2_ERROR_NOMATCH - 1;
  if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
    // No JIT, or the JIT ran out of stack on a pathological input: the
    // interpreter keeps its backtracking state on the heap.
    rc = pcre2_match(code_, subject, text.size(), from, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, state->get(), nullptr);
  }
  // Still failing means a resource limit (PCRE2's heap limit, 20 MB): the rest
  // of the text is then treated as unmatched rather than failing the encode.
  if (rc < 0) return false;
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state->get());
  *begin = ovector[0];
  *end = ovector[1];
  return true;
}

}  // namespace engine::tokenizer
