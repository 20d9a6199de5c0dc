// Fuzzes the demo model's tokenizer (models/demo/tokenizer.json, byte-level
// BPE) on arbitrary bytes: ill-formed UTF-8, added-token text, long runs.
// Decoding the ids of valid UTF-8 gives the text back, when the text is
// already in the tokenizer's normal form (NFC for the demo model: the
// tokenizer normalizes "\u0387" to "\u00b7", as Hugging Face's does, so such
// text comes back normalized, not byte for byte).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/untrusted_text.h"
#include "engine/tokenizer/normalizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

const std::string kDemo = std::string(CLUSTER_SOURCE_DIR) + "/models/demo";

const engine::Tokenizer& Demo() {
  static const std::unique_ptr<engine::Tokenizer> tokenizer = [] {
    auto loaded = engine::Tokenizer::FromFile(kDemo);
    if (!loaded.ok()) std::abort();
    return std::move(*loaded);
  }();
  return *tokenizer;
}

const engine::tokenizer::Normalizer& DemoNormalizer() {
  static const engine::tokenizer::Normalizer normalizer = [] {
    std::ifstream in(kDemo + "/tokenizer.json");
    const auto config = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) std::abort();
    auto loaded = engine::tokenizer::Normalizer::FromJson(config.value("normalizer", nlohmann::json()), "demo");
    if (!loaded.ok()) std::abort();
    return std::move(*loaded);
  }();
  return normalizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto ids = Demo().Encode(text, /*add_special_tokens=*/false);
  const std::string back = Demo().Decode(ids);
  // Text without controls or bad bytes (printable as it is), already
  // normalized, round-trips.
  if (cluster::PrintableText(text) != text) return 0;
  std::string buffer;
  if (DemoNormalizer().Normalize(text, &buffer) != text) return 0;
  if (back != text) __builtin_trap();
  return 0;
}
