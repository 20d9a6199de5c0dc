#include "engine/tokenizer/byte_level.h"

#include <array>

#include "engine/tokenizer/utf8.h"

namespace engine::tokenizer::byte_level {
namespace {

// Bytes that stand for themselves: '!'..'~', 0xA1..0xAC, 0xAE..0xFF.
constexpr bool IsSelfMapped(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> byte_to_cp{};
  std::array<int16_t, 0x144> cp_to_byte{};  // every alphabet code point is < U+0144
};

constexpr Tables MakeTables() {
  Tables t;
  for (auto& v : t.cp_to_byte) v = -1;
  char32_t next = 0x100;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = IsSelfMapped(b) ? static_cast<char32_t>(b) : next++;
    t.byte_to_cp[b] = cp;
    t.cp_to_byte[cp] = static_cast<int16_t>(b);
  }
  return t;
}

constexpr Tables kTables = MakeTables();

}  // namespace

char32_t ByteToCodePoint(uint8_t b) { return kTables.byte_to_cp[b]; }

int CodePointToByte(char32_t cp) {
  return cp < kTables.cp_to_byte.size() ? kTables.cp_to_byte[cp] : -1;
}

bool TokenToBytes(std::string_view token, std::string* bytes) {
  size_t pos = 0;
  while (pos < token.size()) {
    const utf8::StepResult r = utf8::ReadChar(token, pos);
    if (r.step != utf8::Step::kValid) return false;
    size_t length = 0;
    const int b = CodePointToByte(utf8::DecodeValid(token, pos, &length));
    if (b < 0) return false;
    bytes->push_back(static_cast<char>(b));
    pos += length;
  }
  return true;
}

void BytesToToken(std::string_view bytes, std::string* token) {
  for (char c : bytes) utf8::AppendCodePoint(ByteToCodePoint(static_cast<uint8_t>(c)), token);
}

}  // namespace engine::tokenizer::byte_level
