// The deployment the plan's tests size: DeepSeek-R1-Distill-Llama-70B (its
// facts from the bundled model table) on hosts of 4 GPUs, as TP4 x PP(hosts).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/inventory/inventory.h"
#include "common/inventory/model_facts.h"

namespace cluster::inventory::testing {

inline ModelFacts Llama70B() {
  Model model;
  model.name = "r1-70b";
  model.config = "deepseek-r1-distill-llama-70b";
  return **FindModelFacts(model);
}

// A small Llama whose LM head is its embedding matrix (1000 x 64).
inline ModelFacts TiedTinyLlama() {
  ModelFacts f;
  f.hidden_size = 64;
  f.num_layers = 4;
  f.num_attention_heads = 4;
  f.num_key_value_heads = 2;
  f.head_dim = 16;
  f.intermediate_size = 128;
  f.vocab_size = 1000;
  f.tie_word_embeddings = true;
  return f;
}
// Its parameters a layer at TP1: q 64*64 + k,v 2*64*32 + o 64*64 + mlp
// 3*64*128 + norms 2*64 = 36,992.
constexpr std::uint64_t kTiedTinyLlamaLayer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64;

// One host per entry of `gpu_models` (gpu1, gpu2, ...; the first the head),
// 4 GPUs each, serving r1-70b as TP4 x PP(hosts) in `dtype`.
inline Inventory R1Cluster(const std::vector<std::string>& gpu_models, Dtype dtype = Dtype::kFloat16) {
  Inventory inv;
  inv.cluster_name = "lab";
  for (std::size_t i = 0; i < gpu_models.size(); ++i) {
    Host h;
    h.name = "gpu" + std::to_string(i + 1);
    h.gpus = 4;
    h.gpu_model = gpu_models[i];
    h.head = i == 0;
    inv.hosts.push_back(h);
  }
  inv.runtime.model = "r1-70b";
  inv.runtime.tensor_parallel = 4;
  inv.runtime.pipeline_parallel = static_cast<int>(gpu_models.size());
  inv.runtime.dtype = dtype;
  return inv;
}

}  // namespace cluster::inventory::testing
