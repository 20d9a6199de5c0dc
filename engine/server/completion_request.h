// CompletionRequest: a POST /v1/completions body, parsed and checked.
//
//   {"model": "demo", "prompt": "Once" | ["a", "b"] | [1, 2, 3] | [[1, 2], [3]],
//    "max_tokens": 16, "temperature": 0, "top_p", "top_k", "min_p", "seed",
//    "stop": "x" | ["x", "y"], "n": 2, "presence_penalty", "frequency_penalty",
//    "repetition_penalty", "logprobs": 0..20, "stream": true,
//    "stream_options": {"include_usage": true}, "user": "...",
//    "ignore_eos": false, "return_tokens_as_token_ids": false}   (vLLM's extensions)
//
// Checks types and ranges only; what needs the model (the model name, token
// ids in the vocabulary, the context length) is checked by the endpoint.
// Fields that would change the output in ways this server does not implement
// (echo, suffix, best_of != n, logit_bias) are refused rather than ignored;
// other unknown fields are ignored, as OpenAI-compatible servers do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/server/api_error.h"
#include "engine/server/request_limits.h"
#include "engine/server/sampling_fields.h"

namespace engine::server {

// One prompt: text (tokenized with the model's special tokens, e.g. BOS) or
// token ids (used as they are).
using PromptInput = std::variant<std::string, std::vector<std::int32_t>>;

struct CompletionRequest {
  std::string model;
  std::vector<PromptInput> prompts;  // at least one
  SamplingFields sampling;           // max_tokens absent: 16 (OpenAI's default)
  std::int64_t n = 1;
  StreamFields stream;
  std::optional<int> logprobs;  // top alternatives per token; unset: no logprobs
  bool tokens_as_ids = false;   // vLLM's return_tokens_as_token_ids: logprob tokens read "token_id:42"
  std::string user;
};

// Parses a request body. 400 for malformed JSON, a body that is not an
// object, a missing model or prompt, and any field of the wrong type or out
// of range (the error's param names it).
ApiResult<CompletionRequest> ParseCompletionRequest(std::string_view body, const RequestLimits& limits);

}  // namespace engine::server
