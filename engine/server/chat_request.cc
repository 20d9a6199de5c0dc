#include "engine/server/chat_request.h"

#include "common/untrusted_text.h"
#include "engine/server/field_reader.h"
#include "engine/server/request_body.h"

namespace engine::server {
namespace {

// "content": a string, null (""), or a list of text parts (joined).
ApiResult<std::string> Content(const nlohmann::json& message, const std::string& where) {
  const std::string param = where + ".content";
  auto it = message.find("content");
  if (it == message.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (!it->is_array()) {
    return InvalidRequest("Invalid type for '" + param + "': expected a string or an array of content parts, but got " +
                              JsonTypeName(*it) + " instead.",
                          param, "invalid_type");
  }
  std::string text;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const nlohmann::json& part = (*it)[i];
    const std::string part_param = param + "[" + std::to_string(i) + "]";
    if (!part.is_object()) {
      return InvalidRequest("Invalid type for '" + part_param + "': expected an object, but got " +
                                JsonTypeName(part) + " instead.",
                            part_param, "invalid_type");
    }
    FieldReader r(part, part_param + ".");
    std::optional<std::string> type, part_text;
    if (r.Require("type")) r.String("type", &type);
    if (r.error()) return *r.error();
    if (*type != "text") {
      return InvalidRequest("Invalid '" + part_param + ".type': only text content parts are supported, got '" +
                                cluster::Excerpt(*type) + "'.",
                            part_param + ".type");
    }
    if (r.Require("text")) r.String("text", &part_text);
    if (r.error()) return *r.error();
    text += *part_text;
  }
  return text;
}

ApiResult<std::vector<ChatMessage>> Messages(const nlohmann::json& messages, const RequestLimits& limits) {
  if (!messages.is_array()) {
    return InvalidRequest("Invalid type for 'messages': expected an array of messages, but got " +
                              JsonTypeName(messages) + " instead.",
                          "messages", "invalid_type");
  }
  if (messages.empty()) {
    return InvalidRequest("Invalid 'messages': the list is empty; send at least one message.", "messages");
  }
  if (static_cast<std::int64_t>(messages.size()) > limits.max_messages) {
    return InvalidRequest("Invalid 'messages': at most " + std::to_string(limits.max_messages) +
                              " messages per request, got " + std::to_string(messages.size()) + ".",
                          "messages");
  }
  std::vector<ChatMessage> out;
  out.reserve(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "]";
    const nlohmann::json& m = messages[i];
    if (!m.is_object()) {
      return InvalidRequest("Invalid type for '" + where + "': expected an object, but got " + JsonTypeName(m) +
                                " instead.",
                            where, "invalid_type");
    }
    FieldReader r(m, where + ".");
    std::optional<std::string> role, reasoning;
    if (r.Require("role")) r.String("role", &role);
    r.String("reasoning_content", &reasoning);
    r.Unsupported("tool_calls", nlohmann::json::array(), "tool calling is not implemented");
    if (r.error()) return *r.error();
    auto content = Content(m, where);
    if (!content.ok()) return content.error();
    out.push_back(ChatMessage{std::move(*role), std::move(*content), std::move(reasoning)});
  }
  return out;
}

}  // namespace

ApiResult<ChatRequest> ParseChatRequest(std::string_view body, const RequestLimits& limits) {
  auto json = ParseJsonObject(body);
  if (!json.ok()) return json.error();
  ChatRequest request;
  FieldReader r(*json);

  std::optional<std::string> model, user;
  if (r.Require("model")) r.String("model", &model);
  r.Require("messages");
  if (r.error()) return *r.error();
  auto messages = Messages((*json)["messages"], limits);
  if (!messages.ok()) return messages.error();
  request.messages = std::move(*messages);

  ReadSamplingFields(r, limits, &request.sampling);
  std::optional<std::int64_t> max_tokens, max_completion_tokens, n, top_logprobs;
  r.Integer("max_tokens", {1}, &max_tokens);
  r.Integer("max_completion_tokens", {1}, &max_completion_tokens);
  request.sampling.max_tokens = max_completion_tokens ? max_completion_tokens : max_tokens;
  r.Integer("n", {1, limits.max_n}, &n);
  std::optional<bool> logprobs;
  r.Bool("logprobs", &logprobs);
  r.Integer("top_logprobs", {0, limits.max_logprobs}, &top_logprobs);
  ReadStreamFields(r, &request.stream);
  std::optional<bool> tokens_as_ids;
  r.Bool("return_tokens_as_token_ids", &tokens_as_ids);
  r.String("user", &user);
  r.Unsupported("tools", nlohmann::json::array(), "tool calling is not implemented");
  r.Unsupported("tool_choice", "none", "tool calling is not implemented");
  r.Unsupported("functions", nlohmann::json::array(), "function calling is not implemented");
  r.Unsupported("logit_bias", nlohmann::json::object(), "logit_bias is not implemented");
  if (const nlohmann::json* format = r.Object("response_format")) {
    if (format->value("type", nlohmann::json()) != "text") {
      r.Fail(InvalidRequest("'response_format' is not supported by this server: only {\"type\": \"text\"} is "
                            "implemented (no JSON mode or schemas).",
                            "response_format", "unsupported_parameter"));
    }
  }
  if (r.error()) return *r.error();

  if (top_logprobs && !logprobs.value_or(false)) {
    return InvalidRequest("Invalid 'top_logprobs': it requires 'logprobs' to be true.", "top_logprobs");
  }
  request.model = std::move(*model);
  request.n = n.value_or(1);
  request.logprobs = logprobs.value_or(false);
  request.top_logprobs = static_cast<int>(top_logprobs.value_or(0));
  request.tokens_as_ids = tokens_as_ids.value_or(false);
  request.user = user.value_or("");
  return request;
}

}  // namespace engine::server
