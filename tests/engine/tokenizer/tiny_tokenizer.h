// Small handmade tokenizer.json files for the tokenizer's unit tests.
//
// TinyTokenizerJson() is a complete byte-level BPE tokenizer in the shape
// Llama 3 uses (Split regex + ByteLevel, ByteLevel decoder): the 256 byte
// tokens have ids 0..255, id = byte value; each merge "a b" then adds the
// token "ab" with the next id (256, 257, ...). Tests change the fields they
// are about.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/tokenizer.h"

namespace tiny {

using nlohmann::json;

// The Llama 3 pre-tokenizer regex.
inline constexpr const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// A byte string spelled in the byte-level alphabet, as vocabularies write it ("Ġ" for " ").
inline std::string Spell(std::string_view bytes) {
  std::string token;
  engine::tokenizer::byte_level::BytesToToken(bytes, &token);
  return token;
}

// `merges` are pairs of raw byte strings, e.g. {"h", "e"}, {" ", "w"}.
inline json TinyTokenizerJson(const std::vector<std::pair<std::string, std::string>>& merges = {}) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[Spell(std::string(1, static_cast<char>(b)))] = b;
  json merge_list = json::array();
  int next_id = 256;
  for (const auto& [left, right] : merges) {
    const std::string merged = Spell(left + right);
    if (!vocab.contains(merged)) vocab[merged] = next_id++;
    merge_list.push_back(Spell(left) + " " + Spell(right));
  }
  return json{
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array()},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         json::array({{{"type", "Split"},
                       {"pattern", {{"Regex", kLlama3Pattern}}},
                       {"behavior", "Isolated"},
                       {"invert", false}},
                      {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                       {"use_regex", false}}})}}},
      {"post_processor", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merge_list}}}};
}

// Appends an added token to `config` ("added_tokens").
inline void AddToken(json* config, int id, const std::string& content, bool special, json flags = json::object()) {
  json token = {{"id", id},          {"content", content}, {"single_word", false}, {"lstrip", false},
                {"rstrip", false},   {"normalized", false}, {"special", special}};
  for (const auto& [key, value] : flags.items()) token[key] = value;
  (*config)["added_tokens"].push_back(token);
}

inline std::unique_ptr<engine::Tokenizer> Load(const json& config) {
  auto tokenizer = engine::Tokenizer::FromJsonText(config.dump(), "tiny.json");
  INFO(tokenizer.status().ToString());
  REQUIRE(tokenizer.ok());
  return std::move(tokenizer).value();
}

inline cluster::Status LoadError(const json& config) {
  auto tokenizer = engine::Tokenizer::FromJsonText(config.dump(), "tiny.json");
  REQUIRE_FALSE(tokenizer.ok());
  return tokenizer.status();
}

// The raw bytes each id stands for, for readable assertions: {"he", "llo"}.
inline std::vector<std::string> Pieces(const engine::Tokenizer& tokenizer, const std::vector<int32_t>& ids) {
  std::vector<std::string> pieces;
  for (int32_t id : ids) {
    std::string bytes;
    if (!engine::tokenizer::byte_level::TokenToBytes(tokenizer.IdToToken(id), &bytes)) bytes = tokenizer.IdToToken(id);
    pieces.push_back(bytes);
  }
  return pieces;
}

// A fresh empty folder under the system temp folder, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tokenizer_test.XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

  std::filesystem::path Write(const std::string& name, const std::string& contents) const {
    const auto file = path_ / name;
    std::ofstream(file, std::ios::binary) << contents;
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace tiny
