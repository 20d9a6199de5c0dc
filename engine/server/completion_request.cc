#include "engine/server/completion_request.h"

#include <limits>

#include "engine/server/field_reader.h"
#include "engine/server/request_body.h"

namespace engine::server {
namespace {

// A JSON array of token ids, or an error naming `param`.
ApiResult<std::vector<std::int32_t>> TokenIds(const nlohmann::json& array, const std::string& param) {
  std::vector<std::int32_t> ids;
  ids.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) {
    const nlohmann::json& id = array[i];
    const std::string where = param + "[" + std::to_string(i) + "]";
    if (!id.is_number_integer()) {
      return InvalidRequest("Invalid type for '" + where + "': expected an integer token id, but got " +
                                JsonTypeName(id) + " instead.",
                            param, "invalid_type");
    }
    if (id.is_number_unsigned() ? id.get<std::uint64_t>() > std::numeric_limits<std::int32_t>::max()
                                : (id.get<std::int64_t>() < 0 ||
                                   id.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max())) {
      return InvalidRequest("Invalid '" + where + "': token ids must be non-negative 32-bit integers, got " +
                                id.dump() + ".",
                            param);
    }
    ids.push_back(static_cast<std::int32_t>(id.get<std::int64_t>()));
  }
  return ids;
}

// "prompt": a string, a list of strings, a list of ids, or a list of id lists.
ApiResult<std::vector<PromptInput>> Prompts(const nlohmann::json& prompt, const RequestLimits& limits) {
  const std::string kParam = "prompt";
  std::vector<PromptInput> prompts;
  if (prompt.is_string()) {
    prompts.emplace_back(prompt.get<std::string>());
    return prompts;
  }
  if (!prompt.is_array()) {
    return InvalidRequest("Invalid type for 'prompt': expected a string, an array of strings, an array of token ids "
                          "or an array of token id arrays, but got " +
                              JsonTypeName(prompt) + " instead.",
                          kParam, "invalid_type");
  }
  if (prompt.empty()) return InvalidRequest("Invalid 'prompt': the list is empty.", kParam);
  if (prompt[0].is_number()) {  // one prompt of token ids
    auto ids = TokenIds(prompt, kParam);
    if (!ids.ok()) return ids.error();
    prompts.emplace_back(std::move(*ids));
    return prompts;
  }
  if (static_cast<std::int64_t>(prompt.size()) > limits.max_prompts) {
    return InvalidRequest("Invalid 'prompt': at most " + std::to_string(limits.max_prompts) +
                              " prompts per request, got " + std::to_string(prompt.size()) + ".",
                          kParam);
  }
  for (std::size_t i = 0; i < prompt.size(); ++i) {
    const nlohmann::json& item = prompt[i];
    const std::string where = "prompt[" + std::to_string(i) + "]";
    if (item.is_string()) {
      prompts.emplace_back(item.get<std::string>());
    } else if (item.is_array()) {
      auto ids = TokenIds(item, where);
      if (!ids.ok()) return ids.error();
      prompts.emplace_back(std::move(*ids));
    } else {
      return InvalidRequest("Invalid type for '" + where + "': expected a string or an array of token ids, but got " +
                                JsonTypeName(item) + " instead.",
                            kParam, "invalid_type");
    }
  }
  return prompts;
}

}  // namespace

ApiResult<CompletionRequest> ParseCompletionRequest(std::string_view body, const RequestLimits& limits) {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return json.error();
  CompletionRequest request;
  FieldReader r(*json);

  std::optional<std::string> model, user;
  if (r.Require("model")) r.String("model", &model);
  r.Require("prompt");
  if (r.error()) return *r.error();
  auto prompts = Prompts((*json)["prompt"], limits);
  if (!prompts.ok()) return prompts.error();
  request.prompts = std::move(*prompts);

  ReadSamplingFields(r, limits, &request.sampling);
  r.Integer("max_tokens", {1}, &request.sampling.max_tokens);
  std::optional<std::int64_t> n, logprobs;
  r.Integer("n", {1, limits.max_n}, &n);
  r.Integer("logprobs", {0, limits.max_logprobs}, &logprobs);
  ReadStreamFields(r, &request.stream);
  std::optional<bool> tokens_as_ids;
  r.Bool("return_tokens_as_token_ids", &tokens_as_ids);
  r.String("user", &user);
  r.Unsupported("echo", false, "the prompt is never echoed back");
  r.Unsupported("suffix", "", "insertion (suffix) is not implemented");
  r.Unsupported("logit_bias", nlohmann::json::object(), "logit_bias is not implemented");
  r.Unsupported("best_of", n.value_or(1), "best_of must equal n (server-side ranking is not implemented)");
  if (r.error()) return *r.error();

  request.model = std::move(*model);
  request.n = n.value_or(1);
  if (logprobs) request.logprobs = static_cast<int>(*logprobs);
  request.tokens_as_ids = tokens_as_ids.value_or(false);
  request.user = user.value_or("");
  const auto sequences = static_cast<std::int64_t>(request.prompts.size()) * request.n;
  if (sequences > limits.max_sequences) {
    return InvalidRequest("Invalid 'n': " + std::to_string(request.prompts.size()) + " prompts x n = " +
                              std::to_string(request.n) + " asks for " + std::to_string(sequences) +
                              " sequences; at most " + std::to_string(limits.max_sequences) + " per request.",
                          "n");
  }
  return request;
}

}  // namespace engine::server
