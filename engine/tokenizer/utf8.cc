#include "engine/tokenizer/utf8.h"

#include <cstdint>
#include <cstring>

namespace engine::tokenizer::utf8 {
namespace {

// Well-formed sequences (Unicode Table 3-7): the lead byte fixes the length
// and the allowed range of the second byte; later bytes are 80..BF.
struct LeadInfo {
  uint8_t length;       // 0: not a lead byte
  uint8_t second_low;
  uint8_t second_high;
};

constexpr LeadInfo Lead(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b < 0xC2) return {0, 0, 0};  // continuation bytes and overlong C0/C1
  if (b < 0xE0) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};  // no overlongs
  if (b == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (b < 0xF0) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};  // no overlongs
  if (b < 0xF4) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};  // <= U+10FFFF
  return {0, 0, 0};
}

}  // namespace

StepResult ReadChar(std::string_view text, size_t pos) {
  const auto b = static_cast<uint8_t>(text[pos]);
  if (b < 0x80) return {Step::kValid, 1};
  const LeadInfo info = Lead(b);
  if (info.length == 0) return {Step::kInvalid, 1};
  for (size_t k = 1; k < info.length; ++k) {
    if (pos + k >= text.size()) return {Step::kTruncated, k};
    const auto c = static_cast<uint8_t>(text[pos + k]);
    const uint8_t low = k == 1 ? info.second_low : 0x80;
    const uint8_t high = k == 1 ? info.second_high : 0xBF;
    if (c < low || c > high) return {Step::kInvalid, k};
  }
  return {Step::kValid, info.length};
}

bool IsValid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs dominate real text: skip them eight bytes at a time.
    while (pos + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, text.data() + pos, 8);
      if (word & 0x8080808080808080ULL) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    const StepResult r = ReadChar(text, pos);
    if (r.step != Step::kValid) return false;
    pos += r.length;
  }
  return true;
}

void AppendLossy(std::string_view text, std::string* out) {
  size_t pos = 0;
  size_t run_start = 0;  // start of the pending run of valid bytes
  while (pos < text.size()) {
    const StepResult r = ReadChar(text, pos);
    if (r.step == Step::kValid) {
      pos += r.length;
      continue;
    }
    out->append(text.substr(run_start, pos - run_start));
    out->append(kReplacementCharacter);
    pos += r.length;
    run_start = pos;
  }
  out->append(text.substr(run_start));
}

size_t TruncatedTailLength(std::string_view text) {
  // A truncated character is at most 3 bytes long; find its lead byte.
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const size_t pos = n - back;
    const auto b = static_cast<uint8_t>(text[pos]);
    if (b >= 0x80 && b < 0xC0) continue;  // continuation byte: keep looking
    const StepResult r = ReadChar(text, pos);
    return r.step == Step::kTruncated ? back : 0;
  }
  return 0;
}

void AppendCodePoint(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

char32_t DecodeValid(std::string_view text, size_t pos, size_t* length) {
  const auto b0 = static_cast<uint8_t>(text[pos]);
  auto cont = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(text[pos + k]) & 0x3F); };
  if (b0 < 0x80) {
    *length = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *length = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
  }
  if (b0 < 0xF0) {
    *length = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  *length = 4;
  return (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

}  // namespace engine::tokenizer::utf8
