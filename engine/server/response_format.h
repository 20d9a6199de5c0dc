// ResponseFormat: how one endpoint spells its answers - the events of a
// streamed response and the body of a whole one. The generation job
// (generation_job.h) decides *what* to send; a format decides the JSON.
// CompletionFormat (completion_response.h) and ChatFormat (chat_response.h)
// implement it.
//
// Every string returned is one JSON document (an SSE event's data, or a
// response body). Invalid UTF-8 in generated text is written as U+FFFD.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/generate/generator.h"
#include "engine/generate/logprobs.h"

namespace engine::server {

// The envelope every response and chunk repeats.
struct ResponseHeader {
  std::string id;            // "cmpl-..." / "chatcmpl-..."
  std::int64_t created = 0;  // Unix seconds
  std::string model;
};

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t cached_tokens = 0;  // prompt tokens served from the prefix cache
};

// The text of one token as logprobs show it (the tokenizer's decoding of the
// single id, special tokens included).
using TokenSpeller = std::function<std::string(std::int32_t)>;

// What one update of one choice adds to a streamed response.
struct ChoiceDelta {
  std::size_t index = 0;
  std::string reasoning;  // chat with a reasoning template: reasoning_content
  std::string text;       // completions: text; chat: content
  std::span<const PositionLogprobs> logprobs;  // the update's tokens, when logprobs were asked for
  std::int64_t text_offset = 0;  // completions logprobs: offset of the first token's text in the choice
  std::optional<FinishReason> finish_reason;  // set on the choice's last delta
};

// One finished choice of a whole (non-streamed) response.
struct ChoiceResult {
  std::size_t index = 0;
  std::optional<std::string> reasoning;  // set when the template opens a think block
  std::string text;
  std::vector<PositionLogprobs> logprobs;
  bool has_logprobs = false;
  FinishReason finish_reason = FinishReason::kLength;
};

class ResponseFormat {
 public:
  virtual ~ResponseFormat() = default;
  // Streaming: the events that open choice `index` (chat: the assistant role).
  virtual std::vector<std::string> Opening(std::size_t index) const = 0;
  // Streaming: the events of one delta; none when it adds nothing visible.
  virtual std::vector<std::string> Delta(const ChoiceDelta& delta) const = 0;
  // Streaming: the last event before [DONE] when include_usage was asked for.
  virtual std::string UsageEvent(const Usage& usage) const = 0;
  // The whole response.
  virtual std::string Body(const std::vector<ChoiceResult>& choices, const Usage& usage) const = 0;
};

}  // namespace engine::server
