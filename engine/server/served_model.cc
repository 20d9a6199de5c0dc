#include "engine/server/served_model.h"

#include <algorithm>

namespace engine::server {

ApiResult<std::vector<std::int32_t>> PromptIds(const ServedModel& model, const PromptInput& prompt,
                                               const std::string& param) {
  std::vector<std::int32_t> ids;
  if (const auto* text = std::get_if<std::string>(&prompt)) {
    ids = model.tokenizer->Encode(*text, /*add_special_tokens=*/true);
  } else {
    ids = std::get<std::vector<std::int32_t>>(prompt);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] >= model.vocab_size) {
        return InvalidRequest("Invalid '" + param + "': token id " + std::to_string(ids[i]) + " at position " +
                                  std::to_string(i) + " is outside the vocabulary of " +
                                  std::to_string(model.vocab_size) + " tokens.",
                              param);
      }
    }
  }
  if (ids.empty()) return InvalidRequest("Invalid '" + param + "': the prompt has no tokens.", param);
  return ids;
}

ApiResult<std::vector<std::int32_t>> ChatPromptIds(const ServedModel& model,
                                                   const std::vector<ChatMessage>& messages) {
  if (!model.chat_template) {
    return InvalidRequest("The model '" + model.name +
                              "' has no chat template (chat_template.jinja or tokenizer_config.json's "
                              "chat_template); use /v1/completions.",
                          "messages", "chat_template_missing");
  }
  StatusOr<std::string> text = model.chat_template->Render(messages, /*add_generation_prompt=*/true);
  if (!text.ok()) {
    return InvalidRequest("The chat template could not render these messages: " + text.status().message(),
                          "messages");
  }
  std::vector<std::int32_t> ids = model.tokenizer->Encode(*text, /*add_special_tokens=*/false);
  if (ids.empty()) return InvalidRequest("Invalid 'messages': the rendered conversation has no tokens.", "messages");
  return ids;
}

ApiResult<std::int64_t> ResolveMaxTokens(std::int64_t prompt_tokens, std::optional<std::int64_t> requested,
                                         std::int64_t default_tokens, std::int64_t context_limit,
                                         const std::string& prompt_param) {
  const std::int64_t room = context_limit - prompt_tokens;
  const std::int64_t asked = requested.value_or(std::min(default_tokens, std::max<std::int64_t>(room, 1)));
  if (room < 1 || asked > room) {
    // Both are >= 0 and below 2^63: their sum always fits in 64 unsigned
    // bits (max_tokens near 2^63 must not wrap to a negative count).
    const std::uint64_t total = static_cast<std::uint64_t>(prompt_tokens) + static_cast<std::uint64_t>(asked);
    return InvalidRequest("This model's maximum context length is " + std::to_string(context_limit) +
                              " tokens. However, you requested " + std::to_string(total) +
                              " tokens (" + std::to_string(prompt_tokens) + " in the " +
                              (prompt_param == "messages" ? "messages" : "prompt") + ", " + std::to_string(asked) +
                              " in the completion). Please reduce the length of the " +
                              (prompt_param == "messages" ? "messages" : "prompt") + " or the completion.",
                          prompt_param, "context_length_exceeded");
  }
  return asked;
}

}  // namespace engine::server
