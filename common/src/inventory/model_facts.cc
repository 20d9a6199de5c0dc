// Model facts: parsing an HF config.json and finding the facts of an
// inventory model (its own config.json first, then a bundled description).
//
// Two HF conventions are accepted where they differ:
//   - the weight type is "torch_dtype" (older transformers) or "dtype" (newer);
//   - "head_dim" may be present (and may be null); when absent it is
//     hidden_size / num_attention_heads.
// Fields the transformers defaults fill in are defaulted the same way here:
// num_key_value_heads = num_attention_heads, tie_word_embeddings = false (the
// Llama and Qwen2 config classes' default), attention_bias = false except for
// Qwen2, whose q/k/v projections always have a bias and whose config.json has
// no attention_bias key.
#include "common/inventory/model_facts.h"

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <system_error>

#include "common/files.h"

namespace cluster::inventory {

// The table generated from configs/models/*.json by common/CMakeLists.txt
// (bundled_models_data.cc in the build folder); sorted by name.
namespace bundled {
struct ModelText {
  const char* name;
  const char* json;
};
extern const ModelText kModels[];
extern const std::size_t kModelCount;
}  // namespace bundled

namespace {

using nlohmann::json;

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Reads `key` as a positive int. `fallback` is used when the key is absent or
// null; without a fallback the key is required.
StatusOr<int> PositiveInt(const json& config, const char* key, std::string_view origin,
                          std::optional<int> fallback = std::nullopt) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (fallback) return *fallback;
    return InvalidArgumentError(std::string(origin) + ": missing " + Quoted(key) +
                                " (a positive integer)");
  }
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0 ||
      it->get<std::int64_t>() > std::numeric_limits<int>::max()) {
    return InvalidArgumentError(std::string(origin) + ": " + Quoted(key) +
                                " must be a positive integer, found " + it->dump());
  }
  return static_cast<int>(it->get<std::int64_t>());
}

StatusOr<bool> Bool(const json& config, const char* key, std::string_view origin, bool fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    return InvalidArgumentError(std::string(origin) + ": " + Quoted(key) +
                                " must be true or false, found " + it->dump());
  return it->get<bool>();
}

std::string StringOr(const json& config, const char* key, std::string fallback) {
  auto it = config.find(key);
  return (it != config.end() && it->is_string()) ? it->get<std::string>() : fallback;
}

StatusOr<ModelFacts> FactsFromJson(const json& config, std::string_view origin) {
  if (!config.is_object())
    return InvalidArgumentError(std::string(origin) + ": expected a JSON object, found " +
                                config.type_name());
  ModelFacts f;
  f.origin = std::string(origin);
  auto archs = config.find("architectures");
  if (archs != config.end() && archs->is_array() && !archs->empty() && archs->front().is_string())
    f.architecture = archs->front().get<std::string>();
  const std::string model_type = StringOr(config, "model_type", "");
  if (f.architecture.empty()) f.architecture = model_type;

  CLUSTER_ASSIGN_OR_RETURN(f.hidden_size, PositiveInt(config, "hidden_size", origin));
  CLUSTER_ASSIGN_OR_RETURN(f.num_layers, PositiveInt(config, "num_hidden_layers", origin));
  CLUSTER_ASSIGN_OR_RETURN(f.num_attention_heads, PositiveInt(config, "num_attention_heads", origin));
  CLUSTER_ASSIGN_OR_RETURN(f.num_key_value_heads,
                           PositiveInt(config, "num_key_value_heads", origin, f.num_attention_heads));
  CLUSTER_ASSIGN_OR_RETURN(f.intermediate_size, PositiveInt(config, "intermediate_size", origin));
  CLUSTER_ASSIGN_OR_RETURN(f.vocab_size, PositiveInt(config, "vocab_size", origin));
  CLUSTER_ASSIGN_OR_RETURN(f.max_position_embeddings,
                           PositiveInt(config, "max_position_embeddings", origin));

  const bool has_head_dim = config.contains("head_dim") && !config["head_dim"].is_null();
  if (!has_head_dim && f.hidden_size % f.num_attention_heads != 0)
    return InvalidArgumentError(std::string(origin) + ": hidden_size " +
                                std::to_string(f.hidden_size) +
                                " is not divisible by num_attention_heads " +
                                std::to_string(f.num_attention_heads) + " and there is no head_dim");
  CLUSTER_ASSIGN_OR_RETURN(f.head_dim, PositiveInt(config, "head_dim", origin,
                                                   f.hidden_size / f.num_attention_heads));
  if (f.num_attention_heads % f.num_key_value_heads != 0)
    return InvalidArgumentError(std::string(origin) + ": num_attention_heads " +
                                std::to_string(f.num_attention_heads) +
                                " is not a multiple of num_key_value_heads " +
                                std::to_string(f.num_key_value_heads));

  CLUSTER_ASSIGN_OR_RETURN(f.tie_word_embeddings, Bool(config, "tie_word_embeddings", origin, false));
  const bool is_qwen2 = f.architecture == "Qwen2ForCausalLM" || model_type == "qwen2";
  CLUSTER_ASSIGN_OR_RETURN(f.attention_bias, Bool(config, "attention_bias", origin, is_qwen2));
  f.torch_dtype = StringOr(config, "torch_dtype", StringOr(config, "dtype", ""));
  return f;
}

}  // namespace

std::uint64_t ModelFacts::ParameterCount() const {
  const std::uint64_t hidden = hidden_size;
  const std::uint64_t q_width = std::uint64_t(num_attention_heads) * head_dim;
  const std::uint64_t kv_width = std::uint64_t(num_key_value_heads) * head_dim;
  const std::uint64_t per_layer = hidden * q_width            // q_proj
                                  + 2 * hidden * kv_width     // k_proj, v_proj
                                  + q_width * hidden          // o_proj
                                  + 3 * hidden * std::uint64_t(intermediate_size)  // gate, up, down
                                  + 2 * hidden                // input and post-attention RMSNorm
                                  + (attention_bias ? q_width + 2 * kv_width : 0);
  const std::uint64_t embedding = std::uint64_t(vocab_size) * hidden;
  const std::uint64_t lm_head = tie_word_embeddings ? 0 : embedding;
  return per_layer * std::uint64_t(num_layers) + embedding + lm_head + hidden /* final norm */;
}

StatusOr<ModelFacts> ParseModelConfig(std::string_view json_text, std::string_view origin) {
  json config;
  try {
    config = json::parse(json_text);
  } catch (const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line ..."; keep the readable part.
    std::string what = e.what();
    if (auto bracket = what.find("] "); what.rfind("[json.exception", 0) == 0 && bracket != std::string::npos)
      what = what.substr(bracket + 2);
    return InvalidArgumentError(std::string(origin) + ": not valid JSON: " + what);
  }
  return FactsFromJson(config, origin);
}

std::vector<std::string> BundledModelNames() {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < bundled::kModelCount; ++i) names.emplace_back(bundled::kModels[i].name);
  std::sort(names.begin(), names.end());
  return names;
}

StatusOr<std::optional<ModelFacts>> FindModelFacts(const Model& model) {
  if (!model.source.empty()) {
    const std::filesystem::path own = model.source / "config.json";
    std::error_code ec;
    if (std::filesystem::is_regular_file(own, ec)) {
      CLUSTER_ASSIGN_OR_RETURN(std::string text, ReadFile(own));
      CLUSTER_ASSIGN_OR_RETURN(ModelFacts facts, ParseModelConfig(text, own.string()));
      return std::optional<ModelFacts>(std::move(facts));
    }
  }
  if (!model.config) return std::optional<ModelFacts>();
  for (std::size_t i = 0; i < bundled::kModelCount; ++i) {
    if (*model.config != bundled::kModels[i].name) continue;
    CLUSTER_ASSIGN_OR_RETURN(ModelFacts facts,
                             ParseModelConfig(bundled::kModels[i].json, "bundled:" + *model.config));
    return std::optional<ModelFacts>(std::move(facts));
  }
  std::string names;
  for (const std::string& n : BundledModelNames()) names += (names.empty() ? "" : ", ") + n;
  return InvalidArgumentError("model " + Quoted(model.name) + ": config " + Quoted(*model.config) +
                              " is not a bundled model description (bundled: " + names + ")");
}

}  // namespace cluster::inventory
