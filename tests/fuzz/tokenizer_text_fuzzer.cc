// Fuzzes the demo model's tokenizer (models/demo/tokenizer.json, byte-level
// BPE) on arbitrary bytes: ill-formed UTF-8, added-token text, long runs.
// Decoding the ids of valid UTF-8 gives the text back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "common/untrusted_text.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

const engine::Tokenizer& Demo() {
  static const std::unique_ptr<engine::Tokenizer> tokenizer = [] {
    auto loaded = engine::Tokenizer::FromFile(std::string(CLUSTER_SOURCE_DIR) + "/models/demo");
    if (!loaded.ok()) std::abort();
    return std::move(*loaded);
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto ids = Demo().Encode(text, /*add_special_tokens=*/false);
  const std::string back = Demo().Decode(ids);
  // Text without controls or bad bytes (printable as it is) round-trips.
  if (cluster::PrintableText(text) == text && back != text) __builtin_trap();
  return 0;
}
