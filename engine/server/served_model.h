// ServedModel: what the endpoints know about the model they serve - its
// name, tokenizer, chat template and generation defaults - and how a
// request's prompt becomes token ids.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/model/generation_config.h"
#include "engine/server/api_error.h"
#include "engine/server/completion_request.h"
#include "engine/tokenizer/tokenizer.h"

namespace engine::server {

struct ServedModel {
  std::string name;          // what "model" must say (--served-model-name, default the folder's name)
  std::int64_t created = 0;  // Unix seconds, shown by /v1/models
  const Tokenizer* tokenizer = nullptr;       // not null; outlives the server
  std::optional<ChatTemplate> chat_template;  // absent: /v1/chat/completions answers 400
  GenerationConfig generation;                // sampling defaults
  std::int64_t vocab_size = 0;                // token ids must be below it
};

// A completions prompt as ids: text is tokenized with the model's special
// tokens (e.g. BOS), ids are checked against the vocabulary. 400 naming
// `param` for an empty prompt or an id outside the vocabulary.
ApiResult<std::vector<std::int32_t>> PromptIds(const ServedModel& model, const PromptInput& prompt,
                                               const std::string& param);

// A conversation as ids: rendered by the chat template with the generation
// prompt, tokenized without adding special tokens (the template writes
// them). 400 when the model has no template or the template refuses the
// messages (its message, e.g. "Unknown role: tool").
ApiResult<std::vector<std::int32_t>> ChatPromptIds(const ServedModel& model, const std::vector<ChatMessage>& messages);

// The max_tokens of a prompt of `prompt_tokens` tokens against `context_limit`:
// `requested` if given and prompt + requested fits; `default_tokens` (capped
// to what is left) if not given; 400 otherwise, naming both numbers:
//   "This model's maximum context length is 512 tokens. However, you requested
//    600 tokens (100 in the prompt, 500 in the completion). ..."
ApiResult<std::int64_t> ResolveMaxTokens(std::int64_t prompt_tokens, std::optional<std::int64_t> requested,
                                         std::int64_t default_tokens, std::int64_t context_limit,
                                         const std::string& prompt_param);

}  // namespace engine::server
