// UTF-8 helpers for the tokenizer: validation, lossy repair and the
// "is this tail an unfinished character?" question the streaming decoder asks.
//
// Ill-formed input is repaired the way the Unicode Standard recommends
// ("substitution of maximal subparts", Unicode 15, section 3.9) and the way
// the WHATWG TextDecoder, Rust's String::from_utf8_lossy and therefore the
// Hugging Face tokenizers do it: every maximal subpart of an ill-formed
// sequence becomes one U+FFFD. Matching that rule exactly is what makes our
// Decode() agree byte for byte with HF on token sequences that split a
// character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace engine::tokenizer::utf8 {

// The outcome of reading one character at a position.
enum class Step {
  kValid,      // a well-formed character of `length` bytes
  kInvalid,    // a maximal ill-formed subpart of `length` bytes (one U+FFFD)
  kTruncated,  // the input ends inside a character that could still be valid
};

struct StepResult {
  Step step;
  size_t length;  // bytes consumed; >= 1
};

// Reads the character starting at text[pos]. REQUIRES: pos < text.size().
StepResult ReadChar(std::string_view text, size_t pos);

// True if `text` is well-formed UTF-8 (no surrogates, no overlongs, <= U+10FFFF).
bool IsValid(std::string_view text);

// Appends `text` to `out`, replacing every maximal ill-formed subpart (a
// truncated final character included) with U+FFFD.
void AppendLossy(std::string_view text, std::string* out);

// Number of bytes at the end of `text` that start a character which is not
// complete yet but may become valid when more bytes come (0 to 3).
size_t TruncatedTailLength(std::string_view text);

// Appends the UTF-8 encoding of `code_point` (REQUIRES: a scalar value).
void AppendCodePoint(char32_t code_point, std::string* out);

// Decodes the well-formed character at text[pos]; sets *length to its size.
// REQUIRES: text is valid UTF-8 and pos is at a character boundary.
char32_t DecodeValid(std::string_view text, size_t pos, size_t* length);

inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace engine::tokenizer::utf8
