// Fuzzes tokenizer.json loading (engine/tokenizer/tokenizer.h): any text is
// a tokenizer or an error, and a tokenizer that loads encodes and decodes
// what the rest of the input holds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // "JSON\0TEXT": the tokenizer, then text to run through it.
  const auto split = input.find('\0');
  const std::string_view json = input.substr(0, split);
  const std::string_view text = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  auto tokenizer = engine::Tokenizer::FromJsonText(json, "fuzz/tokenizer.json");
  if (!tokenizer.ok()) return 0;
  const auto ids = (*tokenizer)->Encode(text, /*add_special_tokens=*/true);
  (void)(*tokenizer)->Decode(ids);
  return 0;
}
