// What `plan` and validation need to know about a model: the fields of its
// HF config.json that decide shapes and memory. Read from the model's source
// folder when it has a config.json, otherwise from the descriptions of the
// reference models bundled into the binary (configs/models/*.json), so plan
// works offline and before anything is pushed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/inventory.h"
#include "common/inventory/loader.h"
#include "common/status.h"

namespace cluster::inventory {

struct ModelFacts {
  std::string architecture;        // "LlamaForCausalLM", "Qwen2ForCausalLM"
  int hidden_size = 0;
  int num_layers = 0;              // num_hidden_layers
  int num_attention_heads = 0;
  int num_key_value_heads = 0;
  int head_dim = 0;                // config's head_dim, else hidden_size / heads
  int intermediate_size = 0;
  int vocab_size = 0;
  int max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;     // q/k/v bias (Qwen2)
  std::string torch_dtype;         // "bfloat16", ... (torch_dtype or dtype)
  std::string origin;              // the config.json path, or "bundled:NAME"

  // Parameter count of the whole model (embedding, layers, norms, lm_head).
  std::uint64_t ParameterCount() const;
};

// Parses the text of a config.json. `origin` names it in error messages.
StatusOr<ModelFacts> ParseModelConfig(std::string_view json_text, std::string_view origin);

// Names of the bundled model descriptions, e.g. "deepseek-r1-distill-llama-70b".
std::vector<std::string> BundledModelNames();

// The facts for `model`: SOURCE/config.json when present (it wins), otherwise
// the bundled description named by `model.config`. Returns nullopt when
// neither is available (plan then says so); an error when a config exists but
// cannot be read or parsed, or `config` names no bundled model.
StatusOr<std::optional<ModelFacts>> FindModelFacts(const Model& model);

// Semantic checks that need the model's facts (heads and KV heads divisible by
// tensor_parallel, ...). Appends to `out`; does nothing when no facts are at hand.
// Called by LoadInventory after the schema checks pass.
void CheckModelAgainstRuntime(const Inventory& inventory, std::vector<Diagnostic>* out);

}  // namespace cluster::inventory
