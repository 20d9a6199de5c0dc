// ChatRequest: a POST /v1/chat/completions body, parsed and checked.
//
//   {"model": "demo",
//    "messages": [{"role": "system" | "user" | "assistant" | ..., "content":
//                  "text" | [{"type": "text", "text": "..."}, ...] | null,
//                  "reasoning_content": "..." (optional)}, ...],
//    "max_completion_tokens" (or the older "max_tokens"), "temperature", "top_p",
//    "top_k", "min_p", "seed", "stop", "n", "presence_penalty",
//    "frequency_penalty", "repetition_penalty", "logprobs": bool,
//    "top_logprobs": 0..20 (needs logprobs: true), "stream",
//    "stream_options": {"include_usage"}, "user",
//    "ignore_eos", "return_tokens_as_token_ids"}   (vLLM's extensions)
//
// Roles are passed to the model's chat template as they are (a template may
// refuse a role it does not know). Content parts other than text (images,
// audio) are refused; text parts are joined. Tool calling, response_format
// other than text and logit_bias are refused; unknown fields are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/server/api_error.h"
#include "engine/server/request_limits.h"
#include "engine/server/sampling_fields.h"

namespace engine::server {

struct ChatRequest {
  std::string model;
  std::vector<ChatMessage> messages;  // at least one
  SamplingFields sampling;            // max_tokens absent: what is left of the context
  std::int64_t n = 1;
  StreamFields stream;
  bool logprobs = false;
  int top_logprobs = 0;
  bool tokens_as_ids = false;  // vLLM's return_tokens_as_token_ids: logprob tokens read "token_id:42"
  std::string user;
};

// 400 for malformed JSON, a missing model or messages, an empty messages
// list, a message without a string role, content of the wrong type, and any
// field of the wrong type or out of range (param names it, e.g.
// "messages[1].content").
ApiResult<ChatRequest> ParseChatRequest(std::string_view body, const RequestLimits& limits);

}  // namespace engine::server
