#include "engine/server/completion_response.h"

#include "engine/server/response_json.h"

namespace engine::server {
namespace {

nlohmann::json Envelope(const ResponseHeader& h) {
  return {{"id", h.id}, {"object", "text_completion"}, {"created", h.created}, {"model", h.model}};
}

nlohmann::json LogprobsJson(std::span<const PositionLogprobs> logprobs, std::int64_t offset,
                            const TokenSpeller& speller) {
  nlohmann::json tokens = nlohmann::json::array(), values = nlohmann::json::array(),
                 tops = nlohmann::json::array(), offsets = nlohmann::json::array();
  for (const PositionLogprobs& lp : logprobs) {
    const std::string token = speller(lp.chosen.token);
    tokens.push_back(token);
    values.push_back(LogprobValue(lp.chosen.logprob));
    nlohmann::json top = nlohmann::json::object();
    for (const TokenLogprob& t : lp.top) {
      const std::string text = speller(t.token);
      if (!top.contains(text)) top[text] = LogprobValue(t.logprob);  // most likely first: keep the first
    }
    tops.push_back(std::move(top));
    offsets.push_back(offset);
    offset += static_cast<std::int64_t>(token.size());
  }
  return {{"tokens", tokens}, {"token_logprobs", values}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

}  // namespace

std::vector<std::string> CompletionFormat::Opening(std::size_t) const { return {}; }

std::vector<std::string> CompletionFormat::Delta(const ChoiceDelta& d) const {
  if (d.text.empty() && d.logprobs.empty() && !d.finish_reason) return {};
  nlohmann::json chunk = Envelope(header_);
  nlohmann::json choice = {{"index", d.index},
                           {"text", d.text},
                           {"logprobs", d.logprobs.empty() ? nlohmann::json(nullptr)
                                                           : LogprobsJson(d.logprobs, d.text_offset, speller_)},
                           {"finish_reason", FinishReasonJson(d.finish_reason)}};
  chunk["choices"] = nlohmann::json::array({std::move(choice)});
  return {Dump(chunk)};
}

std::string CompletionFormat::UsageEvent(const Usage& usage) const {
  nlohmann::json chunk = Envelope(header_);
  chunk["choices"] = nlohmann::json::array();
  chunk["usage"] = UsageJson(usage);
  return Dump(chunk);
}

std::string CompletionFormat::Body(const std::vector<ChoiceResult>& choices, const Usage& usage) const {
  nlohmann::json body = Envelope(header_);
  nlohmann::json list = nlohmann::json::array();
  for (const ChoiceResult& c : choices) {
    list.push_back({{"index", c.index},
                    {"text", c.text},
                    {"logprobs", c.has_logprobs ? LogprobsJson(c.logprobs, 0, speller_) : nlohmann::json(nullptr)},
                    {"finish_reason", FinishReasonJson(c.finish_reason)}});
  }
  body["choices"] = std::move(list);
  body["usage"] = UsageJson(usage);
  return Dump(body);
}

}  // namespace engine::server
