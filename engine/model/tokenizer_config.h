// TokenizerConfig: the prompt-building facts of tokenizer_config.json.
//
// Whoever builds a prompt (the chat template, or a raw prompt with special
// tokens) needs the BOS/EOS token strings and whether the tokenizer adds BOS
// itself. HF writes the tokens either as strings or as AddedToken objects:
//   "bos_token": "<|begin_of_text|>"   or   {"content": "<s>", ...}
// An absent file or field gives nullopt.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine {

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
};

StatusOr<TokenizerConfig> ParseTokenizerConfig(std::string_view json_text, std::string_view file);

// Reads `model_dir`/tokenizer_config.json; empty if the file does not exist.
StatusOr<TokenizerConfig> LoadTokenizerConfig(const std::filesystem::path& model_dir);

}  // namespace engine
