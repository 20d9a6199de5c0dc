// What a step of a Llama-family model must move and compute, from its
// config: the denominators of `infer-engine bench`'s ratios.
//
// Decode is bound by memory: every weight a step multiplies by is read once
// (the embedding table only for the step's rows, unless tied to the LM head),
// and every sequence's keys and values up to its position. Prefill is bound
// by tensor-core math: 2 FLOPs per weight per token for the projections, and
// causal attention's QK^T and PV, N^2/2 dot products of head_dim each per
// head. A world of one rank: the whole model.
#pragma once

#include <cstdint>

#include "engine/model/model_config.h"

namespace engine::tools {

// Weights one step reads: every layer's projections and norms, the final
// norm and the LM head.
double MatmulWeights(const ModelConfig& config);

// Bytes a decode step of `batch` sequences at `context` tokens each reads:
// the weights in `weight_bytes` each (the LM head included) plus the KV
// cache, `kv_bytes_per_token` per token of context.
double DecodeBytesPerStep(const ModelConfig& config, double weight_bytes, std::int64_t batch, std::int64_t context,
                          double kv_bytes_per_token);

// Bytes of keys and values the KV cache holds a token: K and V of every
// layer's kv heads, `element_bytes` an element (the whole model's, whatever
// the ranks' shares).
double KvBytesPerToken(const ModelConfig& config, double element_bytes);

// FLOPs of a prefill of `tokens` tokens of one sequence from position 0 that
// returns one row of logits.
double PrefillFlops(const ModelConfig& config, std::int64_t tokens);

}  // namespace engine::tools
