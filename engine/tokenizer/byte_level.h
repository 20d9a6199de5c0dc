// The GPT-2 byte-level alphabet: a fixed bijection between the 256 byte
// values and 256 printable code points, so that any byte string can be
// written as a vocabulary "word". Printable ASCII and most of Latin-1 map to
// themselves; the other bytes (controls, space, 0x7F-0xA0, 0xAD) map to
// U+0100 upwards in byte order, e.g. ' ' -> 'Ġ' (U+0120), '\n' -> 'Ċ' (U+010A).
//
// The tokenizer runs BPE directly on raw bytes and only uses this table to
// translate the vocabulary once at load time and to print tokens.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace engine::tokenizer::byte_level {

// The code point that stands for byte `b`.
char32_t ByteToCodePoint(uint8_t b);

// The byte that code point `cp` stands for, or -1 if `cp` is not in the alphabet.
int CodePointToByte(char32_t cp);

// Translates a vocabulary token written in the byte-level alphabet back to the
// bytes it stands for and appends them to `bytes`. Returns false (and leaves
// `bytes` unspecified) if the token holds a character outside the alphabet or
// is not valid UTF-8.
bool TokenToBytes(std::string_view token, std::string* bytes);

// Appends `bytes` written in the byte-level alphabet (UTF-8) to `token`.
void BytesToToken(std::string_view bytes, std::string* token);

}  // namespace engine::tokenizer::byte_level
