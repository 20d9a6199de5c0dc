// Normalizers: Unicode normalization through ICU.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/normalizer.h"
#include "tests/engine/tokenizer/tiny_tokenizer.h"

using nlohmann::json;

namespace {

std::string Normalize(const json& config, std::string_view text) {
  auto normalizer = engine::tokenizer::Normalizer::FromJson(config, "normalizer");
  REQUIRE(normalizer.ok());
  std::string buffer;
  return std::string(normalizer->Normalize(text, &buffer));
}

}  // namespace

TEST_CASE("Given NFC, decomposed characters should be composed", "[tokenizer][normalizer]") {
  const json nfc = {{"type", "NFC"}};
  CHECK(Normalize(nfc, "cafe\u0301") == "caf\u00e9");
  CHECK(Normalize(nfc, "\u1100\u1161\u11A8") == "\uAC01");  // Hangul jamo -> 각
  CHECK(Normalize(nfc, "\u212B") == "\u00C5");              // Angstrom sign -> Å
  CHECK(Normalize(nfc, "\uFB01") == "\uFB01");              // ﬁ is not a canonical equivalent of "fi"
}

TEST_CASE("Given NFKC, compatibility characters should be folded too", "[tokenizer][normalizer]") {
  CHECK(Normalize({{"type", "NFKC"}}, "\uFB01 \uFF21\u2460") == "fi A1");
}

TEST_CASE("Given a Sequence, the normalizers should run in order, and an empty Sequence should do nothing",
          "[tokenizer][normalizer]") {
  const json nfd_then_nfc = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFD"}}, {{"type", "NFC"}}})}};
  CHECK(Normalize(nfd_then_nfc, "e\u0301") == "\u00e9");
  CHECK(Normalize({{"type", "NFD"}}, "\u00e9") == "e\u0301");
  const json empty = {{"type", "Sequence"}, {"normalizers", json::array()}};
  CHECK(Normalize(empty, "e\u0301") == "e\u0301");
}

TEST_CASE("Given text that is already normalized, Normalize should return it without copying",
          "[tokenizer][normalizer]") {
  auto normalizer = engine::tokenizer::Normalizer::FromJson({{"type", "NFC"}}, "normalizer");
  REQUIRE(normalizer.ok());
  std::string buffer;
  const std::string text = "plain ASCII and caf\u00e9 and 日本語";
  CHECK(normalizer->Normalize(text, &buffer).data() == text.data());
}

TEST_CASE("Given an NFC tokenizer (as Qwen's), decomposed and composed text should get the same ids",
          "[tokenizer][normalizer]") {
  tiny::json config = tiny::TinyTokenizerJson({{"\xC3", "\xA9"}});
  config["normalizer"] = {{"type", "NFC"}};
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->Encode("cafe\u0301") == tokenizer->Encode("caf\u00e9"));
  CHECK(tokenizer->Encode("caf\u00e9").back() == 256);  // "é" as one token
}
