// Test support: tiny random-weight Llama/Qwen2 model folders written from
// C++, and an independent dense reference forward pass over them.
//
// WriteTinyModel writes config.json, generation_config.json and the weights
// (one model.safetensors, or N shards and model.safetensors.index.json) into
// a folder and returns the weights as stored (after rounding to F16/BF16), so
// ReferenceLogits computes with exactly what the engine loads. The reference
// is plain double-precision loops with dense causal attention and no KV
// cache: a second implementation the paged engine is compared against.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace engine::testing {

// A fresh folder under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct TinyModelOptions {
  bool qwen2 = false;  // Qwen2ForCausalLM (q/k/v biases) instead of LlamaForCausalLM
  std::int64_t vocab_size = 40;
  std::int64_t hidden_size = 16;
  std::int64_t num_layers = 2;
  std::int64_t num_heads = 4;
  std::int64_t num_kv_heads = 2;
  std::int64_t intermediate_size = 24;
  bool tie_word_embeddings = false;
  bool llama3_rope = false;      // rope_scaling {"rope_type": "llama3", factor 8, 1, 4, original 16}
  bool transformers5_config = false;  // rope_parameters + dtype instead of rope_theta/rope_scaling + torch_dtype
  DType dtype = DType::kF32;     // storage dtype
  int shards = 1;                // > 1: model-0000i-of-0000N.safetensors + index
  std::vector<std::int32_t> eos_token_ids = {1};
  double rope_theta = 10000.0;
  std::int64_t max_position_embeddings = 64;
  std::uint32_t seed = 1;
};

struct TinyModel {
  TinyModelOptions options;
  std::map<std::string, std::vector<float>> weights;  // as stored on disk, widened to float
};

// Writes the model folder. Returns the weights for ReferenceLogits.
StatusOr<TinyModel> WriteTinyModel(const std::filesystem::path& dir, const TinyModelOptions& options);

// Logits [position][vocab] for every position of `ids`, computed densely in double.
std::vector<std::vector<double>> ReferenceLogits(const TinyModel& model, const std::vector<std::int32_t>& ids);

// Greedy continuation of `prompt` for up to `max_new` tokens, stopping after
// an EOS id (included), with the reference forward.
std::vector<std::int32_t> ReferenceGreedy(const TinyModel& model, const std::vector<std::int32_t>& prompt,
                                          int max_new);

}  // namespace engine::testing
