#include "engine/model/model_config.h"

#include <optional>

#include "common/files.h"
#include "engine/model/model_json.h"
#include "engine/model/token_ids.h"

namespace engine {
namespace {

using cluster::InvalidArgumentError;
using cluster::UnimplementedError;
using model_json::Json;

// The rope settings in either convention: `rope` is the object with the
// scaling keys (rope_scaling or rope_parameters), `theta` the base.
Status ParseRope(const Json& rope, std::optional<double> theta, std::string_view file, std::string_view where,
                 RopeParameters& out) {
  if (theta) out.theta = *theta;
  if (rope.is_null()) return Status::Ok();
  if (!rope.is_object()) {
    return InvalidArgumentError(std::string(file) + ": field " + std::string(where) + ": expected an object, found " +
                                model_json::Describe(rope));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::string> rope_type, model_json::OptionalString(rope, "rope_type", file));
  if (!rope_type) {
    CLUSTER_ASSIGN_OR_RETURN(rope_type, model_json::OptionalString(rope, "type", file));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::optional<double> inner_theta, model_json::OptionalNumber(rope, "rope_theta", file));
  if (inner_theta) out.theta = *inner_theta;
  const std::string type = rope_type.value_or("default");
  if (type == "default") {
    out.type = RopeType::kDefault;
    return Status::Ok();
  }
  if (type != "llama3") {
    return UnimplementedError(std::string(file) + ": " + std::string(where) + ": rope type \"" + type +
                              "\" is not supported (supported: default, llama3)");
  }
  out.type = RopeType::kLlama3;
  struct Field {
    const char* key;
    double* value;
  };
  for (Field f : {Field{"factor", &out.factor}, Field{"low_freq_factor", &out.low_freq_factor},
                  Field{"high_freq_factor", &out.high_freq_factor},
                  Field{"original_max_position_embeddings", &out.original_max_position_embeddings}}) {
    CLUSTER_ASSIGN_OR_RETURN(std::optional<double> v, model_json::OptionalNumber(rope, f.key, file));
    if (!v) {
      return InvalidArgumentError(std::string(file) + ": " + std::string(where) + ": llama3 rope scaling needs " +
                                  f.key);
    }
    *f.value = *v;
  }
  if (!(out.factor > 0) || !(out.low_freq_factor > 0) || !(out.high_freq_factor > out.low_freq_factor) ||
      !(out.original_max_position_embeddings > 0)) {
    return InvalidArgumentError(std::string(file) + ": " + std::string(where) +
                                ": llama3 rope scaling needs factor > 0, low_freq_factor > 0, "
                                "high_freq_factor > low_freq_factor and original_max_position_embeddings > 0");
  }
  return Status::Ok();
}

Status RequirePositive(std::int64_t value, std::string_view key, std::string_view file) {
  if (value <= 0) {
    return InvalidArgumentError(std::string(file) + ": " + std::string(key) + " must be positive, got " +
                                std::to_string(value));
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text, std::string_view file) {
  using namespace model_json;
  CLUSTER_ASSIGN_OR_RETURN(Json j, Parse(json_text, file));
  if (!j.is_object()) return InvalidArgumentError(std::string(file) + ": expected a JSON object");

  ModelConfig c;
  // The architecture: "architectures": ["LlamaForCausalLM"], else model_type.
  std::string arch;
  if (auto it = j.find("architectures"); it != j.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
    arch = (*it)[0].get<std::string>();
  } else {
    CLUSTER_ASSIGN_OR_RETURN(std::optional<std::string> model_type, OptionalString(j, "model_type", file));
    if (model_type == "llama") arch = "LlamaForCausalLM";
    if (model_type == "qwen2") arch = "Qwen2ForCausalLM";
    if (arch.empty()) {
      return InvalidArgumentError(std::string(file) + ": missing field architectures (and no known model_type)");
    }
  }
  if (arch == "LlamaForCausalLM") {
    c.architecture = Architecture::kLlama;
  } else if (arch == "Qwen2ForCausalLM") {
    c.architecture = Architecture::kQwen2;
  } else {
    return UnimplementedError(std::string(file) + ": architecture " + arch +
                              " is not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM)");
  }
  c.architecture_name = arch;

  CLUSTER_ASSIGN_OR_RETURN(c.vocab_size, RequiredInt(j, "vocab_size", file));
  CLUSTER_ASSIGN_OR_RETURN(c.hidden_size, RequiredInt(j, "hidden_size", file));
  CLUSTER_ASSIGN_OR_RETURN(c.num_hidden_layers, RequiredInt(j, "num_hidden_layers", file));
  CLUSTER_ASSIGN_OR_RETURN(c.num_attention_heads, RequiredInt(j, "num_attention_heads", file));
  CLUSTER_ASSIGN_OR_RETURN(c.intermediate_size, RequiredInt(j, "intermediate_size", file));
  for (auto [key, value] : {std::pair{"vocab_size", c.vocab_size}, std::pair{"hidden_size", c.hidden_size},
                            std::pair{"num_hidden_layers", c.num_hidden_layers},
                            std::pair{"num_attention_heads", c.num_attention_heads},
                            std::pair{"intermediate_size", c.intermediate_size}}) {
    CLUSTER_RETURN_IF_ERROR(RequirePositive(value, key, file));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::int64_t> kv_heads, OptionalInt(j, "num_key_value_heads", file));
  c.num_key_value_heads = kv_heads.value_or(c.num_attention_heads);
  CLUSTER_RETURN_IF_ERROR(RequirePositive(c.num_key_value_heads, "num_key_value_heads", file));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return InvalidArgumentError(std::string(file) + ": num_attention_heads (" + std::to_string(c.num_attention_heads) +
                                ") must be a multiple of num_key_value_heads (" +
                                std::to_string(c.num_key_value_heads) + ")");
  }
  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::int64_t> head_dim, OptionalInt(j, "head_dim", file));
  if (head_dim) {
    c.head_dim = *head_dim;
  } else {
    if (c.hidden_size % c.num_attention_heads != 0) {
      return InvalidArgumentError(std::string(file) + ": hidden_size (" + std::to_string(c.hidden_size) +
                                  ") is not a multiple of num_attention_heads (" +
                                  std::to_string(c.num_attention_heads) + ") and head_dim is not given");
    }
    c.head_dim = c.hidden_size / c.num_attention_heads;
  }
  CLUSTER_RETURN_IF_ERROR(RequirePositive(c.head_dim, "head_dim", file));
  if (c.head_dim % 2 != 0) {
    return InvalidArgumentError(std::string(file) + ": head_dim must be even for rotary embeddings, got " +
                                std::to_string(c.head_dim));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::int64_t> max_pos, OptionalInt(j, "max_position_embeddings", file));
  c.max_position_embeddings = max_pos.value_or(4096);
  CLUSTER_ASSIGN_OR_RETURN(std::optional<double> eps, OptionalNumber(j, "rms_norm_eps", file));
  c.rms_norm_eps = eps.value_or(1e-6);
  CLUSTER_ASSIGN_OR_RETURN(std::optional<bool> tie, OptionalBool(j, "tie_word_embeddings", file));
  c.tie_word_embeddings = tie.value_or(false);

  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::string> act, OptionalString(j, "hidden_act", file));
  if (act && *act != "silu") {
    return UnimplementedError(std::string(file) + ": hidden_act \"" + *act + "\" is not supported (only silu)");
  }

  // Rope: rope_parameters (transformers 5) wins over rope_theta + rope_scaling (4).
  CLUSTER_ASSIGN_OR_RETURN(std::optional<double> theta, OptionalNumber(j, "rope_theta", file));
  if (auto it = j.find("rope_parameters"); it != j.end() && !it->is_null()) {
    CLUSTER_RETURN_IF_ERROR(ParseRope(*it, theta, file, "rope_parameters", c.rope));
  } else {
    const Json scaling = j.contains("rope_scaling") ? j["rope_scaling"] : Json();
    CLUSTER_RETURN_IF_ERROR(ParseRope(scaling, theta, file, "rope_scaling", c.rope));
  }

  CLUSTER_ASSIGN_OR_RETURN(std::optional<bool> attention_bias, OptionalBool(j, "attention_bias", file));
  CLUSTER_ASSIGN_OR_RETURN(std::optional<bool> mlp_bias, OptionalBool(j, "mlp_bias", file));
  if (c.architecture == Architecture::kQwen2) {
    c.qkv_bias = true;  // Qwen2Attention always has q/k/v biases, and none on o_proj.
    c.o_bias = false;
    c.mlp_bias = false;
    CLUSTER_ASSIGN_OR_RETURN(std::optional<bool> sliding, OptionalBool(j, "use_sliding_window", file));
    if (sliding.value_or(false)) {
      return UnimplementedError(std::string(file) + ": use_sliding_window is true; sliding-window attention is "
                                                    "not supported");
    }
  } else {
    c.qkv_bias = attention_bias.value_or(false);
    c.o_bias = attention_bias.value_or(false);
    c.mlp_bias = mlp_bias.value_or(false);
  }

  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::string> dtype, OptionalString(j, "torch_dtype", file));
  if (!dtype) {
    CLUSTER_ASSIGN_OR_RETURN(dtype, OptionalString(j, "dtype", file));
  }
  c.dtype = dtype.value_or("");

  if (auto it = j.find("eos_token_id"); it != j.end()) {
    CLUSTER_ASSIGN_OR_RETURN(c.eos_token_ids, ParseTokenIds(*it, "eos_token_id", file));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::int64_t> bos, OptionalInt(j, "bos_token_id", file));
  c.bos_token_id = bos ? static_cast<std::int32_t>(*bos) : -1;
  return c;
}

StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& model_dir) {
  const std::filesystem::path file = model_dir / "config.json";
  CLUSTER_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(file));
  return ParseModelConfig(text, file.string());
}

}  // namespace engine
