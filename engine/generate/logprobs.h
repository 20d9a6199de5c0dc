// Log-probabilities reported with generated tokens.
//
// They are the log-softmax of the model's raw logits, before any sampling
// transform (penalties, temperature, top-k/p, min-p): what OpenAI's API and
// vLLM report by default. So they describe the model, not the sampler, and
// stay comparable between requests with different sampling settings.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace engine {

struct TokenLogprob {
  std::int32_t token = 0;
  float logprob = 0;
};

struct PositionLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;  // the top_n most likely, most likely first (ties: lower id first)
};

// log_softmax(raw_logits) for `chosen` and the `top_n` most likely tokens.
// Computed in double: logprob[t] = l[t] - max - log(sum exp(l - max)).
PositionLogprobs ComputeLogprobs(std::span<const float> raw_logits, std::int32_t chosen, int top_n);

}  // namespace engine
