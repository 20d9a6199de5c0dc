// Decode and IncrementalDecoder: ids back to text, never broken UTF-8.
#include <random>

#include <catch2/catch.hpp>

#include "engine/tokenizer/utf8.h"
#include "tests/engine/tokenizer/tiny_tokenizer.h"

using Ids = std::vector<int32_t>;

namespace {

constexpr int32_t kEot = 300;      // special
constexpr int32_t kTool = 301;     // added, not special
constexpr const char* kFffd = "\uFFFD";

std::unique_ptr<engine::Tokenizer> Tokenizer() {
  tiny::json config = tiny::TinyTokenizerJson();
  tiny::AddToken(&config, kEot, "<|eot|>", true);
  tiny::AddToken(&config, kTool, "<tool>", false);
  return tiny::Load(config);
}

// Pushes every id; returns the pieces, then Flush()'s text as the last one.
std::vector<std::string> Stream(const engine::Tokenizer& tokenizer, const Ids& ids, bool skip_special = false) {
  engine::IncrementalDecoder stream(tokenizer, skip_special);
  std::vector<std::string> pieces;
  for (int32_t id : ids) pieces.push_back(stream.Push(id));
  pieces.push_back(stream.Flush());
  return pieces;
}

}  // namespace

TEST_CASE("Given byte tokens that together spell characters, Decode should join their bytes",
          "[tokenizer][decode]") {
  const auto tokenizer = Tokenizer();
  CHECK(tokenizer->Decode(Ids{'c', 'a', 'f', 0xC3, 0xA9}) == "caf\u00e9");
  CHECK(tokenizer->Decode(Ids{0xF0, 0x9F, 0x91, 0x8D}) == "\U0001F44D");
  CHECK(tokenizer->Decode(Ids{}).empty());
}

TEST_CASE("Given ill-formed bytes, Decode should put one U+FFFD per maximal ill-formed part",
          "[tokenizer][decode]") {
  const auto tokenizer = Tokenizer();
  CHECK(tokenizer->Decode(Ids{0xC3}) == kFffd);                                  // truncated at the end
  CHECK(tokenizer->Decode(Ids{0xF0, 0x9F, 0x91}) == kFffd);                      // one truncated character
  CHECK(tokenizer->Decode(Ids{0xF0, 0x9F, 0x91, 'a'}) == std::string(kFffd) + "a");
  CHECK(tokenizer->Decode(Ids{0xE0, 0x80}) == std::string(kFffd) + kFffd);       // E0 needs A0..BF next
  CHECK(tokenizer->Decode(Ids{0xFF, 'x', 0x80}) == std::string(kFffd) + "x" + kFffd);
}

TEST_CASE("Given added tokens among byte tokens, Decode should write them as they are and not join across them",
          "[tokenizer][decode]") {
  const auto tokenizer = Tokenizer();
  CHECK(tokenizer->Decode(Ids{'a', kEot, 'b', kTool}) == "a<|eot|>b<tool>");
  CHECK(tokenizer->Decode(Ids{0xC3, kTool, 0xA9}) == std::string(kFffd) + "<tool>" + kFffd);
}

TEST_CASE("Given skip_special_tokens, Decode should drop special tokens only, joining the bytes around them",
          "[tokenizer][decode]") {
  const auto tokenizer = Tokenizer();
  CHECK(tokenizer->Decode(Ids{'a', kEot, kTool, 'b'}, /*skip_special_tokens=*/true) == "a<tool>b");
  CHECK(tokenizer->Decode(Ids{0xC3, kEot, 0xA9}, /*skip_special_tokens=*/true) == "\u00e9");
}

TEST_CASE("Given ids outside the vocabulary, Decode should skip them", "[tokenizer][decode]") {
  const auto tokenizer = Tokenizer();
  CHECK(tokenizer->Decode(Ids{'a', 299, -1, 1000000, 'b'}) == "ab");
}

TEST_CASE("Given a character split across tokens, the stream should hold it back until it is complete",
          "[tokenizer][stream]") {
  const auto tokenizer = Tokenizer();
  CHECK(Stream(*tokenizer, Ids{'h', 0xC3, 0xA9, '!'}) == std::vector<std::string>{"h", "", "\u00e9", "!", ""});
  CHECK(Stream(*tokenizer, Ids{0xF0, 0x9F, 0x91, 0x8D}) == std::vector<std::string>{"", "", "", "\U0001F44D", ""});
}

TEST_CASE("Given bytes that can never become a character, the stream should emit U+FFFD as soon as that is known",
          "[tokenizer][stream]") {
  const auto tokenizer = Tokenizer();
  CHECK(Stream(*tokenizer, Ids{0xFF, 'a'}) == std::vector<std::string>{kFffd, "a", ""});
  CHECK(Stream(*tokenizer, Ids{0xC3, 'a'}) == std::vector<std::string>{"", std::string(kFffd) + "a", ""});
  // Still unfinished at the end: Flush says so with U+FFFD, as Decode would.
  CHECK(Stream(*tokenizer, Ids{'a', 0xF0, 0x9F}) == std::vector<std::string>{"a", "", "", kFffd});
}

TEST_CASE("Given added tokens in the stream, they should come out whole and end any unfinished character",
          "[tokenizer][stream]") {
  const auto tokenizer = Tokenizer();
  CHECK(Stream(*tokenizer, Ids{0xC3, kEot, 'x'}) ==
        std::vector<std::string>{"", std::string(kFffd) + "<|eot|>", "x", ""});
  CHECK(Stream(*tokenizer, Ids{0xC3, kEot, 0xA9}, /*skip_special=*/true) ==
        std::vector<std::string>{"", "", "\u00e9", ""});
}

TEST_CASE("Given any ids, the streamed pieces should be valid UTF-8 and add up to Decode's text",
          "[tokenizer][stream]") {
  // Random byte tokens (biased towards UTF-8 lead and continuation bytes) and added tokens.
  const auto tokenizer = Tokenizer();
  std::mt19937 random(12345);
  const Ids alphabet = {'a', ' ', 0x80, 0x8D, 0x9F, 0xA9, 0xBF, 0xC3, 0xE0, 0xE6, 0xED, 0xF0, 0xF4, 0xF5, 0xFF,
                        kEot, kTool};
  for (int round = 0; round < 2000; ++round) {
    Ids ids(random() % 12);
    for (int32_t& id : ids) id = alphabet[random() % alphabet.size()];
    for (bool skip : {false, true}) {
      std::string streamed;
      for (const std::string& piece : Stream(*tokenizer, ids, skip)) {
        REQUIRE(engine::tokenizer::utf8::IsValid(piece));
        streamed += piece;
      }
      REQUIRE(streamed == tokenizer->Decode(ids, skip));
    }
  }
}
