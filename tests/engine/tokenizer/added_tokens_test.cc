// Added and special tokens: found in the text before BPE, with the flags
// Hugging Face gives them.
#include <catch2/catch.hpp>

#include "tests/engine/tokenizer/tiny_tokenizer.h"

using tiny::json;
using Ids = std::vector<int32_t>;

TEST_CASE("Given special-token text inside ordinary text, Encode should give the token's single id",
          "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, 300, "<|im_start|>", true);
  tiny::AddToken(&config, 301, "<|im_end|>", true);
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->Encode("a<|im_start|>b<|im_end|>") == Ids{'a', 300, 'b', 301});
  CHECK(tokenizer->Encode("<|im_start|><|im_start|>") == Ids{300, 300});
  // Almost a special token is ordinary text.
  CHECK(tokenizer->Encode("<|im_start").size() == 10);
  // add_special_tokens only concerns the post-processor: text is matched either way.
  CHECK(tokenizer->Encode("<|im_end|>", /*add_special_tokens=*/true) == Ids{301});
}

TEST_CASE("Given added tokens that overlap, the leftmost and then the longest should win", "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, 300, "<a>", false);
  tiny::AddToken(&config, 301, "<a><b>", false);
  tiny::AddToken(&config, 302, "a><b", false);
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->Encode("<a><b>") == Ids{301});
  CHECK(tokenizer->Encode("<a><c>") == Ids{300, '<', 'c', '>'});
  CHECK(tokenizer->Encode("x a><b>") == Ids{'x', ' ', 302, '>'});
}

TEST_CASE("Given lstrip and rstrip, an added token should swallow the whitespace beside it", "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, 300, "<mask>", true, {{"lstrip", true}});
  tiny::AddToken(&config, 301, "<sep>", true, {{"rstrip", true}});
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->Encode("a  <mask> b") == Ids{'a', 300, ' ', 'b'});
  CHECK(tokenizer->Encode("a <sep> \t b") == Ids{'a', ' ', 301, 'b'});
}

TEST_CASE("Given single_word, an added token inside a word should not match", "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, 300, "ok", false, {{"single_word", true}});
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->Encode("ok") == Ids{300});
  CHECK(tokenizer->Encode("is ok.") == Ids{'i', 's', ' ', 300, '.'});
  CHECK(tokenizer->Encode("okay") == Ids{'o', 'k', 'a', 'y'});
  CHECK(tokenizer->Encode("\u00e9ok") == Ids{0xC3, 0xA9, 'o', 'k'});  // é is a letter too
}

TEST_CASE("Given a normalized added token, it should be matched after the normalizer ran", "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  config["normalizer"] = {{"type", "NFC"}};
  tiny::AddToken(&config, 300, "caf\u00e9", false, {{"normalized", true}});
  tiny::AddToken(&config, 301, "e\u0301!", false, {{"normalized", false}});
  const auto tokenizer = tiny::Load(config);
  // Decomposed text is composed by NFC, then matches the token.
  CHECK(tokenizer->Encode("cafe\u0301") == Ids{300});
  // A token matched in the raw text is found before normalization changes it.
  CHECK(tokenizer->Encode("e\u0301!") == Ids{301});
}

TEST_CASE("Given special and non-special added tokens, IsSpecial should tell them apart", "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, 300, "<|eot|>", true);
  tiny::AddToken(&config, 301, "<tool>", false);
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->IsSpecial(300));
  CHECK_FALSE(tokenizer->IsSpecial(301));
  CHECK_FALSE(tokenizer->IsSpecial('a'));
  CHECK_FALSE(tokenizer->IsSpecial(100000));
}

TEST_CASE("Given a TemplateProcessing post-processor, the BOS should be added only when special tokens are asked for",
          "[tokenizer][added]") {
  json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, 300, "<|begin|>", true);
  tiny::AddToken(&config, 301, "<|end|>", true);
  const json bos = {{"SpecialToken", {{"id", "<|begin|>"}, {"type_id", 0}}}};
  const json eos = {{"SpecialToken", {{"id", "<|end|>"}, {"type_id", 0}}}};
  const json text = {{"Sequence", {{"id", "A"}, {"type_id", 0}}}};
  config["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}},
                    {{"type", "TemplateProcessing"},
                     {"single", json::array({bos, text, eos})},
                     {"pair", json::array()},
                     {"special_tokens",
                      {{"<|begin|>", {{"id", "<|begin|>"}, {"ids", {300}}, {"tokens", {"<|begin|>"}}}},
                       {"<|end|>", {{"id", "<|end|>"}, {"ids", {301}}, {"tokens", {"<|end|>"}}}}}}}})}};
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->Encode("hi") == Ids{'h', 'i'});
  CHECK(tokenizer->Encode("hi", /*add_special_tokens=*/true) == Ids{300, 'h', 'i', 301});
  CHECK(tokenizer->Encode("", /*add_special_tokens=*/true) == Ids{300, 301});
}
