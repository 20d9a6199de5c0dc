// Byte-pair encoding on a handmade vocabulary: which merges apply, in which
// order, and the two ways tokenizer.json writes merges.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/engine/tokenizer/tiny_tokenizer.h"

using tiny::json;
using Pieces = std::vector<std::string>;

TEST_CASE("Given merges written as \"a b\" strings or as [\"a\", \"b\"] pairs, the ids should be the same",
          "[tokenizer][bpe]") {
  const json strings = tiny::TinyTokenizerJson({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"}});
  json pairs = strings;
  for (json& merge : pairs["model"]["merges"]) {
    const std::string text = merge.get<std::string>();
    merge = json::array({text.substr(0, text.find(' ')), text.substr(text.find(' ') + 1)});
  }
  const auto a = tiny::Load(strings);
  const auto b = tiny::Load(pairs);
  CHECK(a->Encode("hello world") == b->Encode("hello world"));
  CHECK(tiny::Pieces(*a, a->Encode("hello world")) == Pieces{"hello", " w", "o", "r", "l", "d"});
}

TEST_CASE("Given several applicable merges, BPE should apply the lowest-ranked first", "[tokenizer][bpe]") {
  // "abc": with (b c) ranked before (a b), b and c join and a stays alone.
  const auto bc_first = tiny::Load(tiny::TinyTokenizerJson({{"b", "c"}, {"a", "b"}}));
  CHECK(tiny::Pieces(*bc_first, bc_first->Encode("abc")) == Pieces{"a", "bc"});
  const auto ab_first = tiny::Load(tiny::TinyTokenizerJson({{"a", "b"}, {"b", "c"}}));
  CHECK(tiny::Pieces(*ab_first, ab_first->Encode("abc")) == Pieces{"ab", "c"});
}

TEST_CASE("Given the same merge at overlapping places, BPE should apply the leftmost first", "[tokenizer][bpe]") {
  const auto tokenizer = tiny::Load(tiny::TinyTokenizerJson({{"a", "a"}}));
  CHECK(tiny::Pieces(*tokenizer, tokenizer->Encode("aaa")) == Pieces{"aa", "a"});
  CHECK(tiny::Pieces(*tokenizer, tokenizer->Encode("aaaaa")) == Pieces{"aa", "aa", "a"});
}

TEST_CASE("Given merges that build on each other, BPE should keep merging until no rule applies",
          "[tokenizer][bpe]") {
  const auto tokenizer = tiny::Load(tiny::TinyTokenizerJson({{"a", "a"}, {"aa", "aa"}, {"aaaa", "aaaa"}}));
  CHECK(tiny::Pieces(*tokenizer, tokenizer->Encode(std::string(19, 'a'))) ==
        Pieces{"aaaaaaaa", "aaaaaaaa", "aa", "a"});
}

TEST_CASE("Given ignore_merges, a pre-token that is in the vocabulary should be one id even without merges to it",
          "[tokenizer][bpe]") {
  json config = tiny::TinyTokenizerJson({{"h", "e"}});
  config["model"]["vocab"][tiny::Spell(" hello")] = 300;  // no merges lead to it
  const auto plain = tiny::Load(config);
  CHECK(tiny::Pieces(*plain, plain->Encode("say hello")) == Pieces{"s", "a", "y", " ", "he", "l", "l", "o"});
  config["model"]["ignore_merges"] = true;
  const auto ignoring = tiny::Load(config);
  CHECK(ignoring->Encode("say hello") == std::vector<int32_t>{'s', 'a', 'y', 300});
}

TEST_CASE("Given any bytes, byte-level BPE should encode every one of them and decode them back",
          "[tokenizer][bpe]") {
  const auto tokenizer = tiny::Load(tiny::TinyTokenizerJson());
  std::string all_ascii;
  for (int b = 0; b < 128; ++b) all_ascii.push_back(static_cast<char>(b));
  const std::vector<int32_t> ids = tokenizer->Encode(all_ascii);
  CHECK(ids.size() == 128);  // no merges: one id per byte, id = byte value
  CHECK(ids.front() == 0);
  CHECK(ids.back() == 127);
  CHECK(tokenizer->Decode(ids) == all_ascii);
  CHECK(tokenizer->Decode(tokenizer->Encode("naïve 日本 👍🏽")) == "naïve 日本 👍🏽");
}

TEST_CASE("Given text encoded twice, the second (cached) encoding should give the same ids", "[tokenizer][bpe]") {
  const auto tokenizer = tiny::Load(tiny::TinyTokenizerJson({{"h", "e"}, {"l", "l"}, {"he", "ll"}}));
  const std::string text = "hell hello shell " + std::string(300, 'l');  // the last pre-token is too long to cache
  const std::vector<int32_t> first = tokenizer->Encode(text);
  CHECK(tokenizer->Encode(text) == first);
  CHECK(tokenizer->Decode(first) == text);
}

TEST_CASE("Given the vocabulary, TokenToId, IdToToken and vocab_size should describe it", "[tokenizer][bpe]") {
  json config = tiny::TinyTokenizerJson({{"h", "i"}});
  tiny::AddToken(&config, 400, "<|eot|>", true);
  const auto tokenizer = tiny::Load(config);
  CHECK(tokenizer->TokenToId("hi") == 256);
  CHECK(tokenizer->TokenToId("Ġ") == 32);  // the space byte, as the vocabulary spells it
  CHECK(tokenizer->TokenToId("<|eot|>") == 400);
  CHECK(tokenizer->TokenToId("nope") == std::nullopt);
  CHECK(tokenizer->IdToToken(256) == "hi");
  CHECK(tokenizer->IdToToken(400) == "<|eot|>");
  CHECK(tokenizer->IdToToken(399).empty());
  CHECK(tokenizer->IdToToken(-1).empty());
  CHECK(tokenizer->vocab_size() == 401);
}

TEST_CASE("Given several threads encoding at once, each should get the ids it would get alone", "[tokenizer][bpe]") {
  const auto tokenizer = tiny::Load(tiny::TinyTokenizerJson({{"h", "e"}, {"l", "l"}, {"he", "ll"}, {" ", "w"}}));
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) texts.push_back("hello world " + std::to_string(i * 7919) + " shell" + std::string(i % 5, 'l'));
  std::vector<std::vector<int32_t>> alone;
  for (const std::string& text : texts) alone.push_back(tokenizer->Encode(text));

  std::vector<std::thread> threads;
  std::atomic<int> differences{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round) {
        for (size_t i = t; i < texts.size(); i += 3) {
          if (tokenizer->Encode(texts[i]) != alone[i]) ++differences;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(differences == 0);
}
