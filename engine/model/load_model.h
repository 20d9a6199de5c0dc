// Loading a model folder: the one call a program makes.
//
// Reads config.json, generation_config.json, tokenizer_config.json and the
// safetensors weights of an HF model folder and builds the model for the
// architecture config.json names (LlamaForCausalLM, Qwen2ForCausalLM).
#pragma once

#include <filesystem>
#include <memory>

#include "engine/comm/comm.h"
#include "engine/model/generation_config.h"
#include "engine/model/language_model.h"
#include "engine/model/model_shard.h"
#include "engine/model/tokenizer_config.h"
#include "engine/ops/backend.h"

namespace engine {

struct LoadedModel {
  std::unique_ptr<LanguageModel> model;
  GenerationConfig generation;  // defaults from generation_config.json
  TokenizerConfig tokenizer;    // bos/eos strings from tokenizer_config.json
  std::vector<std::int32_t> eos_token_ids;  // generation_config.json's, else config.json's
  // What loading changed in the weights, for the operator: "" or, e.g. for a
  // BF16 checkpoint served in FP16, how many weights were outside the FP16
  // range and clamped (WeightConversion::Summary).
  std::string weight_conversion;
};

// The whole model in this process. `backend` and `local` (a world of one)
// must outlive the model, which is prepared for steps within `limits`
// (LanguageModel::Prepare). Errors name the file.
StatusOr<LoadedModel> LoadModel(const std::filesystem::path& model_dir, Backend& backend, Comm& local,
                                const StepLimits& limits = {});

// This rank's shard of the model (model_shard.h); the communicators must
// outlive it.
StatusOr<LoadedModel> LoadModel(const std::filesystem::path& model_dir, Backend& backend,
                                const ModelParallelism& parallel, const StepLimits& limits = {});

}  // namespace engine
