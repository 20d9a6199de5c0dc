// Pre-tokenization: where Split regexes and ByteLevel cut the text.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/regex_translate.h"

using nlohmann::json;
using Pieces = std::vector<std::string>;

namespace {

Pieces Split(const json& config, std::string_view text) {
  auto pre_tokenizer = engine::tokenizer::PreTokenizer::FromJson(config, "pre_tokenizer");
  INFO(pre_tokenizer.status().ToString());
  REQUIRE(pre_tokenizer.ok());
  engine::tokenizer::PreTokenizer::Scratch scratch;
  std::vector<std::string_view> views;
  pre_tokenizer->Split(text, &scratch, &views);
  return Pieces(views.begin(), views.end());
}

json SplitConfig(const json& pattern, const std::string& behavior, bool invert = false) {
  return {{"type", "Split"}, {"pattern", pattern}, {"behavior", behavior}, {"invert", invert}};
}

}  // namespace

TEST_CASE("Given each Split behavior, the delimiters should be kept the way Hugging Face documents",
          "[tokenizer][pre_tokenizer]") {
  const json dash = {{"String", "-"}};
  const std::string text = "the-final--countdown";
  CHECK(Split(SplitConfig(dash, "Removed"), text) == Pieces{"the", "final", "countdown"});
  CHECK(Split(SplitConfig(dash, "Isolated"), text) == Pieces{"the", "-", "final", "-", "-", "countdown"});
  CHECK(Split(SplitConfig(dash, "MergedWithPrevious"), text) == Pieces{"the-", "final-", "-", "countdown"});
  CHECK(Split(SplitConfig(dash, "MergedWithNext"), text) == Pieces{"the", "-final", "-", "-countdown"});
  CHECK(Split(SplitConfig(dash, "Contiguous"), text) == Pieces{"the", "-", "final", "--", "countdown"});
}

TEST_CASE("Given invert, a Split should treat the matches as the content and the rest as delimiters",
          "[tokenizer][pre_tokenizer]") {
  const json words = {{"Regex", "[a-z]+"}};
  CHECK(Split(SplitConfig(words, "Removed", /*invert=*/true), "the-final--countdown") ==
        Pieces{"the", "final", "countdown"});
  CHECK(Split(SplitConfig(words, "Removed", /*invert=*/false), "the-final--countdown") == Pieces{"-", "--"});
}

TEST_CASE("Given a String pattern, a Split should match it literally, not as a regex", "[tokenizer][pre_tokenizer]") {
  CHECK(Split(SplitConfig({{"String", "."}}, "Removed"), "a.b.c") == Pieces{"a", "b", "c"});
  CHECK(Split(SplitConfig({{"String", "(*)"}}, "Isolated"), "x(*)y") == Pieces{"x", "(*)", "y"});
}

TEST_CASE("Given the Llama 3 regex, text should be cut into words, 3-digit groups, punctuation and spaces",
          "[tokenizer][pre_tokenizer]") {
  const json config = SplitConfig(
      {{"Regex",
        R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}},
      "Isolated");
  CHECK(Split(config, "Hello world, I'M 12345 ok!\n\n  x") ==
        Pieces{"Hello", " world", ",", " I", "'M", " ", "123", "45", " ok", "!\n\n", " ", " x"});
  CHECK(Split(config, "we'Ve DON'T") == Pieces{"we", "'Ve", " DON", "'T"});
}

TEST_CASE("Given (?i:...) in a pattern, only ASCII letters should fold, as in the reference tokenizers",
          "[tokenizer][pre_tokenizer]") {
  const json config = SplitConfig({{"Regex", "(?i:'s)"}}, "Isolated");
  CHECK(Split(config, "x'Sy") == Pieces{"x", "'S", "y"});
  CHECK(Split(config, "x'\u017Fy") == Pieces{"x'\u017Fy"});  // ſ (long s) folds to s in Unicode, not here
  CHECK(engine::tokenizer::TranslateRegexToPcre2("(?i:a[b-c])d").value() == "(?:[aA][b-cB-C])d");
}

TEST_CASE("Given a whitespace class in a pattern, it should mean the Unicode White_Space property", "[tokenizer][pre_tokenizer]") {
  const json config = SplitConfig({{"Regex", "\\s+"}}, "Removed");
  // U+180E stopped being a space in Unicode 6.3; PCRE2's own \s still matches it.
  CHECK(Split(config, "a\u180Eb c\u3000d\u0085e") == Pieces{"a\u180Eb", "c", "d", "e"});
  CHECK(engine::tokenizer::TranslateRegexToPcre2("[^\\s\\p{L}]\\S").value() == "[^\\p{White_Space}\\p{L}]\\P{White_Space}");
}

TEST_CASE("Given regex syntax that cannot be translated faithfully, loading should refuse it",
          "[tokenizer][pre_tokenizer]") {
  auto inline_flag = engine::tokenizer::TranslateRegexToPcre2("(?i)abc");
  REQUIRE_FALSE(inline_flag.ok());
  CHECK(inline_flag.status().message() ==
        "the group flags \"(?i)\" (only (?i:...) is supported) at offset 0 of the pattern");
  auto intersection = engine::tokenizer::TranslateRegexToPcre2("[a-z&&[^aeiou]]");
  REQUIRE_FALSE(intersection.ok());
  CHECK(intersection.status().message() == "a character-class intersection (&&) at offset 4 of the pattern");
}

TEST_CASE("Given ByteLevel with use_regex, the GPT-2 pattern should cut the text", "[tokenizer][pre_tokenizer]") {
  const json config = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  CHECK(Split(config, "Hello world's 123  !!") == Pieces{"Hello", " world", "'s", " 123", " ", " !!"});
}

TEST_CASE("Given ByteLevel with add_prefix_space, each pre-token should start with a space",
          "[tokenizer][pre_tokenizer]") {
  const json config = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  CHECK(Split(config, "Hello world") == Pieces{" Hello", " world"});
  CHECK(Split(config, " already") == Pieces{" already"});
}

TEST_CASE("Given a Sequence of Splits, each should cut the pieces the previous one made",
          "[tokenizer][pre_tokenizer]") {
  // DeepSeek V3's first two steps: digit groups, then runs of CJK.
  const json config = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array({SplitConfig({{"Regex", "\\p{N}{1,3}"}}, "Isolated"),
                    SplitConfig({{"Regex", "[一-龥぀-ゟ゠-ヿ]+"}}, "Isolated"),
                    {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}};
  CHECK(Split(config, "ab12345漢字かなx") == Pieces{"ab", "123", "45", "漢字かな", "x"});
}
