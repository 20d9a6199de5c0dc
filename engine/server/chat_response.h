// ChatFormat: the JSON of /v1/chat/completions.
//
// Whole response:
//   {"id": "chatcmpl-...", "object": "chat.completion", "created", "model",
//    "choices": [{"index": 0,
//                 "message": {"role": "assistant", "content": "...",
//                             "reasoning_content": "..." (reasoning templates only)},
//                 "logprobs": null | {"content": [...]}, "finish_reason": "stop"}],
//    "usage": {...}}
// Stream: "object": "chat.completion.chunk"; each choice opens with
//   {"delta": {"role": "assistant", "content": ""}}, then deltas
//   {"delta": {"reasoning_content": "..."}} and {"delta": {"content": "..."}}
//   (reasoning first: an update that crosses "</think>" gives two chunks),
//   and closes with {"delta": {}, "finish_reason": "stop"}. With
//   include_usage every chunk carries "usage": null and a last chunk
//   {"choices": [], "usage": {...}} follows.
// Logprobs (logprobs: true, top_logprobs: N), per token:
//   {"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
//    "top_logprobs": [{"token", "logprob", "bytes"}, ...]}
#pragma once

#include "engine/server/response_format.h"

namespace engine::server {

class ChatFormat final : public ResponseFormat {
 public:
  // `include_usage`: chunks carry "usage": null (OpenAI does so when usage is asked for).
  ChatFormat(ResponseHeader header, TokenSpeller speller, bool include_usage)
      : header_(std::move(header)), speller_(std::move(speller)), include_usage_(include_usage) {}

  std::vector<std::string> Opening(std::size_t index) const override;
  std::vector<std::string> Delta(const ChoiceDelta& delta) const override;
  std::string UsageEvent(const Usage& usage) const override;
  std::string Body(const std::vector<ChoiceResult>& choices, const Usage& usage) const override;

 private:
  ResponseHeader header_;
  TokenSpeller speller_;
  bool include_usage_;
};

}  // namespace engine::server
