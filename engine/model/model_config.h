// ModelConfig: what config.json says about the math of a Llama or Qwen2 model.
//
// Read from an HF model folder's config.json. Only fields that change the
// computation are kept; anything that would change it in a way this engine
// does not implement (another architecture, another rope type, an activation
// other than SiLU, Qwen2's sliding window) is refused with Unimplemented
// rather than silently computed wrong.
//
// Both spellings of the rotary settings are accepted:
//   transformers 4 (what the DeepSeek-R1 distills ship):
//     "rope_theta": 500000.0,
//     "rope_scaling": null | {"rope_type" or "type": "llama3" | "default",
//                              "factor", "low_freq_factor", "high_freq_factor",
//                              "original_max_position_embeddings"}
//   transformers 5:
//     "rope_parameters": {"rope_type": "default" | "llama3", "rope_theta": ..., ...}
// and the dtype as "torch_dtype" (4) or "dtype" (5).
//
// Architecture differences are data, not code: Qwen2 is Llama with a bias on
// q/k/v (always on), so both set the three *_bias flags below and one model
// implementation reads them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ops/rope_frequencies.h"
#include "engine/status.h"

namespace engine {

enum class Architecture { kLlama, kQwen2 };

struct ModelConfig {
  Architecture architecture = Architecture::kLlama;
  std::string architecture_name;  // "LlamaForCausalLM", "Qwen2ForCausalLM"

  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;  // GQA; equals num_attention_heads when absent
  std::int64_t head_dim = 0;             // config "head_dim", else hidden_size / num_attention_heads
  std::int64_t intermediate_size = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeParameters rope;
  bool tie_word_embeddings = false;  // lm_head shares embed_tokens' weight

  bool qkv_bias = false;  // bias on q_proj, k_proj, v_proj (Qwen2: always; Llama: attention_bias)
  bool o_bias = false;    // bias on o_proj (Llama: attention_bias; Qwen2: never)
  bool mlp_bias = false;  // bias on gate/up/down_proj (Llama: mlp_bias)

  std::string dtype;  // "bfloat16", "float16", "float32": the dtype of the checkpoint, informational

  // From config.json, the fallback when generation_config.json is absent.
  std::vector<std::int32_t> eos_token_ids;
  std::int32_t bos_token_id = -1;  // -1: none
};

// Parses config.json text. `file` names the file in error messages
// ("models/x/config.json: num_attention_heads must be positive").
// InvalidArgument for malformed JSON or fields, Unimplemented for an
// architecture, rope type, activation or option this engine does not run.
StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view file);

// Reads `model_dir`/config.json.
StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& model_dir);

}  // namespace engine
