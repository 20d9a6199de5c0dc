#include "engine/model/model_config.h"

#include <catch2/catch.hpp>

using namespace engine;
using Catch::Matchers::Contains;

namespace {

// The shape of DeepSeek-R1-Distill-Llama-8B's config.json (transformers 4).
const char* kDistillLlama = R"({
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 128000, "eos_token_id": 128001,
  "hidden_act": "silu", "hidden_size": 4096, "intermediate_size": 14336,
  "max_position_embeddings": 131072, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": false, "torch_dtype": "bfloat16",
  "vocab_size": 128256
})";

}  // namespace

TEST_CASE("A DeepSeek-R1 Llama distill config gives every field that changes the math") {
  auto c = ParseModelConfig(kDistillLlama, "config.json");
  REQUIRE(c.ok());
  CHECK(c->architecture == Architecture::kLlama);
  CHECK(c->hidden_size == 4096);
  CHECK(c->num_hidden_layers == 32);
  CHECK(c->num_attention_heads == 32);
  CHECK(c->num_key_value_heads == 8);
  CHECK(c->head_dim == 128);  // hidden / heads
  CHECK(c->intermediate_size == 14336);
  CHECK(c->vocab_size == 128256);
  CHECK(c->rms_norm_eps == 1e-5);
  CHECK(c->rope.type == RopeType::kLlama3);
  CHECK(c->rope.theta == 500000.0);
  CHECK(c->rope.factor == 8.0);
  CHECK(c->rope.original_max_position_embeddings == 8192.0);
  CHECK_FALSE(c->tie_word_embeddings);
  CHECK_FALSE(c->qkv_bias);
  CHECK(c->dtype == "bfloat16");
  CHECK(c->eos_token_ids == std::vector<std::int32_t>{128001});
  CHECK(c->bos_token_id == 128000);
}

TEST_CASE("transformers 5 configs put the rope settings in rope_parameters and the dtype in dtype") {
  auto c = ParseModelConfig(R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8,
      "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "dtype": "float16",
      "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0, "factor": 32.0,
                          "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 8192}})",
                            "config.json");
  REQUIRE(c.ok());
  CHECK(c->rope.type == RopeType::kLlama3);
  CHECK(c->rope.theta == 500000.0);
  CHECK(c->rope.factor == 32.0);
  CHECK(c->dtype == "float16");
  CHECK(c->num_key_value_heads == 2);  // absent: as many as the query heads

  auto plain = ParseModelConfig(R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8,
      "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16,
      "rope_parameters": {"rope_type": "default", "rope_theta": 1000.0}})",
                                "config.json");
  REQUIRE(plain.ok());
  CHECK(plain->rope.type == RopeType::kDefault);
  CHECK(plain->rope.theta == 1000.0);
}

TEST_CASE("Qwen2 always has q/k/v biases and never an o_proj bias, and an explicit head_dim wins") {
  auto c = ParseModelConfig(R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 10, "hidden_size": 8,
      "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 6,
      "intermediate_size": 16, "rope_theta": 10000.0, "rope_scaling": null, "use_sliding_window": false,
      "tie_word_embeddings": true, "eos_token_id": [5, 7]})",
                            "config.json");
  REQUIRE(c.ok());
  CHECK(c->architecture == Architecture::kQwen2);
  CHECK(c->qkv_bias);
  CHECK_FALSE(c->o_bias);
  CHECK(c->head_dim == 6);
  CHECK(c->tie_word_embeddings);
  CHECK(c->rope.type == RopeType::kDefault);
  CHECK(c->eos_token_ids == std::vector<std::int32_t>{5, 7});
}

TEST_CASE("Configs the engine cannot run are refused with the file and the reason") {
  const std::string base = R"("vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
      "num_attention_heads": 2, "intermediate_size": 16)";
  auto arch = ParseModelConfig(R"({"architectures": ["MistralForCausalLM"], )" + base + "}", "m/config.json");
  REQUIRE_FALSE(arch.ok());
  CHECK(arch.status().code() == cluster::StatusCode::kUnimplemented);
  CHECK(arch.status().message() ==
        "m/config.json: architecture MistralForCausalLM is not supported (supported: LlamaForCausalLM, "
        "Qwen2ForCausalLM)");

  auto rope = ParseModelConfig(
      R"({"architectures": ["LlamaForCausalLM"], "rope_scaling": {"type": "yarn", "factor": 4.0}, )" + base + "}",
      "m/config.json");
  REQUIRE_FALSE(rope.ok());
  CHECK(rope.status().message() ==
        "m/config.json: rope_scaling: rope type \"yarn\" is not supported (supported: default, llama3)");

  auto missing = ParseModelConfig(R"({"architectures": ["LlamaForCausalLM"], "hidden_size": 8})", "m/config.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "m/config.json: missing field vocab_size");

  auto wrong_type = ParseModelConfig(
      R"({"architectures": ["LlamaForCausalLM"], "vocab_size": "ten", "hidden_size": 8})", "m/config.json");
  CHECK(wrong_type.status().message() == "m/config.json: field vocab_size: expected an integer, found a string");

  auto gqa = ParseModelConfig(R"({"architectures": ["LlamaForCausalLM"], "num_key_value_heads": 3, )" + base + "}",
                              "m/config.json");
  CHECK_THAT(gqa.status().message(), Contains("num_attention_heads (2) must be a multiple of num_key_value_heads (3)"));

  auto llama3 = ParseModelConfig(
      R"({"architectures": ["LlamaForCausalLM"], "rope_scaling": {"rope_type": "llama3", "factor": 8.0}, )" + base +
          "}",
      "m/config.json");
  CHECK(llama3.status().message() == "m/config.json: rope_scaling: llama3 rope scaling needs low_freq_factor");

  auto json = ParseModelConfig(R"({"architectures": [)", "m/config.json");
  CHECK(json.status().message() == "m/config.json: invalid JSON (check that the file is complete)");
}
