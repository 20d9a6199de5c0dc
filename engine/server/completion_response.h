// CompletionFormat: the JSON of /v1/completions.
//
// Whole response:
//   {"id": "cmpl-...", "object": "text_completion", "created": 1700000000, "model": "demo",
//    "choices": [{"index": 0, "text": "...", "logprobs": null | {...}, "finish_reason": "stop"}],
//    "usage": {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details": {"cached_tokens"}}}
// Stream chunk: the same envelope with one choice holding the new text
// (finish_reason null until the choice's last chunk); the usage chunk has
// "choices": [].
// Logprobs (when "logprobs": N was sent), per token of the chunk or choice:
//   {"tokens": ["Hello"], "token_logprobs": [-0.1], "top_logprobs": [{"Hello": -0.1, ...}],
//    "text_offset": [0]}
// (top_logprobs entries are objects keyed by token text, as OpenAI's legacy
// API has them: alternatives that decode to the same text collapse to one key.)
#pragma once

#include "engine/server/response_format.h"

namespace engine::server {

class CompletionFormat final : public ResponseFormat {
 public:
  CompletionFormat(ResponseHeader header, TokenSpeller speller)
      : header_(std::move(header)), speller_(std::move(speller)) {}

  std::vector<std::string> Opening(std::size_t index) const override;
  std::vector<std::string> Delta(const ChoiceDelta& delta) const override;
  std::string UsageEvent(const Usage& usage) const override;
  std::string Body(const std::vector<ChoiceResult>& choices, const Usage& usage) const override;

 private:
  ResponseHeader header_;
  TokenSpeller speller_;
};

}  // namespace engine::server
