#include "engine/server/response_json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace engine::server {

nlohmann::json UsageJson(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", usage.cached_tokens}}}};
}

nlohmann::json FinishReasonJson(const std::optional<FinishReason>& reason) {
  if (!reason) return nullptr;
  return std::string(FinishReasonName(*reason));
}

double LogprobValue(float logprob) {
  if (!std::isfinite(logprob)) return -9999.0;
  // The float's shortest decimal, so JSON shows -0.6931472 rather than -0.69314718246459961.
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), logprob);
  if (ec != std::errc()) return static_cast<double>(logprob);
  *end = '\0';
  return std::strtod(text, nullptr);
}

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace engine::server
