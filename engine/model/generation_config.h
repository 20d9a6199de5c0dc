// GenerationConfig: a model folder's generation_config.json, the defaults the
// model's authors chose for generating (the end-of-sequence tokens above all).
//
//   {"bos_token_id": 128000, "eos_token_id": 128001 | [128001, 128009],
//    "do_sample": true, "temperature": 0.6, "top_p": 0.95, "top_k": 50,
//    "repetition_penalty": 1.0}
//
// Every field is optional; an absent file gives an empty GenerationConfig, and
// callers fall back to config.json's ids (see EosTokenIds).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/model/model_config.h"
#include "engine/status.h"

namespace engine {

struct GenerationConfig {
  std::vector<std::int32_t> eos_token_ids;  // empty: not given
  std::optional<std::int32_t> bos_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<std::int64_t> top_k;
  std::optional<double> repetition_penalty;
};

// Parses generation_config.json text; `file` names it in errors.
StatusOr<GenerationConfig> ParseGenerationConfig(std::string_view json_text, std::string_view file);

// Reads `model_dir`/generation_config.json; an empty config if the file does not exist.
StatusOr<GenerationConfig> LoadGenerationConfig(const std::filesystem::path& model_dir);

// The ids that end generation: generation_config.json's if it names any,
// else config.json's.
std::vector<std::int32_t> EosTokenIds(const ModelConfig& model, const GenerationConfig& generation);

}  // namespace engine
