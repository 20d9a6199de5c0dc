#include "engine/server/chat_response.h"

#include "engine/server/response_json.h"

namespace engine::server {
namespace {

nlohmann::json Bytes(const std::string& text) {
  nlohmann::json bytes = nlohmann::json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

nlohmann::json LogprobsJson(std::span<const PositionLogprobs> logprobs, const TokenSpeller& speller) {
  nlohmann::json content = nlohmann::json::array();
  for (const PositionLogprobs& lp : logprobs) {
    nlohmann::json top = nlohmann::json::array();
    for (const TokenLogprob& t : lp.top) {
      const std::string text = speller(t.token);
      top.push_back({{"token", text}, {"logprob", LogprobValue(t.logprob)}, {"bytes", Bytes(text)}});
    }
    const std::string token = speller(lp.chosen.token);
    content.push_back({{"token", token},
                       {"logprob", LogprobValue(lp.chosen.logprob)},
                       {"bytes", Bytes(token)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}, {"refusal", nullptr}};
}

nlohmann::json Envelope(const ResponseHeader& h, const char* object) {
  return {{"id", h.id}, {"object", object}, {"created", h.created}, {"model", h.model}};
}

std::string Chunk(const ResponseHeader& header, bool include_usage, std::size_t index, nlohmann::json delta,
                  nlohmann::json logprobs, const std::optional<FinishReason>& finish) {
  nlohmann::json chunk = Envelope(header, "chat.completion.chunk");
  chunk["choices"] = nlohmann::json::array({{{"index", index},
                                             {"delta", std::move(delta)},
                                             {"logprobs", std::move(logprobs)},
                                             {"finish_reason", FinishReasonJson(finish)}}});
  if (include_usage) chunk["usage"] = nullptr;
  return Dump(chunk);
}

}  // namespace

std::vector<std::string> ChatFormat::Opening(std::size_t index) const {
  return {Chunk(header_, include_usage_, index, {{"role", "assistant"}, {"content", ""}}, nullptr, std::nullopt)};
}

std::vector<std::string> ChatFormat::Delta(const ChoiceDelta& d) const {
  std::vector<std::string> events;
  nlohmann::json logprobs = d.logprobs.empty() ? nlohmann::json(nullptr) : LogprobsJson(d.logprobs, speller_);
  const bool has_content = !d.text.empty();
  if (!d.reasoning.empty()) {
    // The update's logprobs ride on its first chunk; a choice's finish on its last.
    events.push_back(Chunk(header_, include_usage_, d.index, {{"reasoning_content", d.reasoning}}, logprobs,
                           has_content ? std::nullopt : d.finish_reason));
    logprobs = nullptr;
    if (!has_content) return events;
  }
  if (has_content) {
    events.push_back(Chunk(header_, include_usage_, d.index, {{"content", d.text}}, logprobs, d.finish_reason));
  } else if (!logprobs.is_null() || d.finish_reason) {
    events.push_back(
        Chunk(header_, include_usage_, d.index, nlohmann::json::object(), logprobs, d.finish_reason));
  }
  return events;
}

std::string ChatFormat::UsageEvent(const Usage& usage) const {
  nlohmann::json chunk = Envelope(header_, "chat.completion.chunk");
  chunk["choices"] = nlohmann::json::array();
  chunk["usage"] = UsageJson(usage);
  return Dump(chunk);
}

std::string ChatFormat::Body(const std::vector<ChoiceResult>& choices, const Usage& usage) const {
  nlohmann::json body = Envelope(header_, "chat.completion");
  nlohmann::json list = nlohmann::json::array();
  for (const ChoiceResult& c : choices) {
    nlohmann::json message = {{"role", "assistant"}, {"content", c.text}};
    if (c.reasoning) message["reasoning_content"] = *c.reasoning;
    list.push_back({{"index", c.index},
                    {"message", std::move(message)},
                    {"logprobs", c.has_logprobs ? LogprobsJson(c.logprobs, speller_) : nlohmann::json(nullptr)},
                    {"finish_reason", FinishReasonJson(c.finish_reason)}});
  }
  body["choices"] = std::move(list);
  body["usage"] = UsageJson(usage);
  return Dump(body);
}

}  // namespace engine::server
