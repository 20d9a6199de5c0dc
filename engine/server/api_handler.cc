#include "engine/server/api_handler.h"

#include <nlohmann/json.hpp>

#include <exception>

#include "common/logging.h"
#include "common/untrusted_text.h"
#include "engine/server/metrics_text.h"
#include "engine/server/response_json.h"

namespace engine::server {

HttpReply ErrorReply(const ApiError& error) {
  HttpReply reply{error.http_status, "application/json", ApiErrorBody(error), {}};
  if (error.retry_after_seconds) reply.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
  if (error.allow) reply.headers.emplace_back("Allow", *error.allow);
  if (error.http_status == 401) reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  return reply;
}

ApiHandler::ApiHandler(const ServedModel& model, SequenceService& service, std::optional<ApiKey> api_key,
                       RequestLimits limits, PostToIoThread post, std::function<ModelTiming()> model_timing,
                       RequestStats stats)
    : model_(model),
      service_(service),
      api_key_(std::move(api_key)),
      limits_(limits),
      post_(std::move(post)),
      model_timing_(std::move(model_timing)),
      stats_(std::move(stats)),
      id_rng_(std::random_device{}()) {}

void ApiHandler::Handle(const HttpRequest& request, std::shared_ptr<Exchange> exchange) {
  // Never the key; the client's method and target as printable excerpts (no forged log lines).
  LOG_DEBUG("{} {} ({} bytes)", cluster::Excerpt(request.method), cluster::Excerpt(request.target, 200),
            request.body.size());
  const ApiResult<Endpoint> endpoint = Route(request.method, request.target);
  const bool open_route = endpoint.ok() && *endpoint == Endpoint::kHealth;
  const std::string_view label = endpoint.ok() ? EndpointPath(*endpoint) : std::string_view("other");
  if (api_key_ && !open_route && !api_key_->Accepts(request.authorization)) {
    return AnswerError(label, *exchange, Unauthorized(!request.authorization.empty()));
  }
  if (!endpoint.ok()) return AnswerError(label, *exchange, endpoint.error());
  try {
    Dispatch(*endpoint, request, exchange);
  } catch (const std::exception& e) {
    // A bug: report it, keep serving. What the exception says may quote the
    // request: bounded in the log line and the answer.
    const std::string what = cluster::Excerpt(e.what(), 512);
    LOG_ERROR("{} {}: internal error: {}", cluster::Excerpt(request.method), cluster::Excerpt(request.target, 200),
              what);
    AnswerError(label, *exchange, ServerError("internal error: " + what));
  }
}

void ApiHandler::Dispatch(Endpoint endpoint, const HttpRequest& request, const std::shared_ptr<Exchange>& exchange) {
  const std::string_view label = EndpointPath(endpoint);
  switch (endpoint) {
    case Endpoint::kHealth:
      return Answer(label, *exchange, HttpReply{200, "application/json", R"({"status":"ok"})", {}});
    case Endpoint::kModels: {
      nlohmann::json model = {{"id", model_.name},
                              {"object", "model"},
                              {"created", model_.created},
                              {"owned_by", "clusterctl"},
                              {"max_model_len", service_.context_limit()}};
      nlohmann::json list = {{"object", "list"}, {"data", nlohmann::json::array({model})}};
      return Answer(label, *exchange, HttpReply{200, "application/json", Dump(list), {}});
    }
    case Endpoint::kMetrics: {
      const ModelTiming timing = model_timing_ ? model_timing_() : ModelTiming{};
      // Counted before rendering, so a scrape sees itself.
      counters_.Record(label, Outcome::kOk);
      const SchedulerMetrics scheduler = service_.Metrics();
      exchange->Reply(HttpReply{200, "text/plain; version=0.0.4; charset=utf-8",
                                PrometheusText(scheduler, counters_, timing) +
                                    VllmPrometheusText(scheduler, stats_, model_.name),
                                {}});
      return;
    }
    case Endpoint::kCompletions:
      return ServeCompletions(request.body, exchange);
    case Endpoint::kChatCompletions:
      return ServeChat(request.body, exchange);
  }
}

void ApiHandler::Answer(std::string_view endpoint, Exchange& exchange, HttpReply reply) {
  counters_.Record(endpoint, OutcomeOfStatus(reply.status));
  exchange.Reply(std::move(reply));
}

void ApiHandler::AnswerError(std::string_view endpoint, Exchange& exchange, const ApiError& error) {
  Answer(endpoint, exchange, ErrorReply(error));
}

std::string ApiHandler::NewId(std::string_view prefix) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(prefix);
  for (int word = 0; word < 2; ++word) {
    std::uint64_t bits = id_rng_();
    for (int i = 0; i < 12; ++i, bits >>= 4) id += kHex[bits & 0xf];
  }
  return id;
}

GenerationJob::DoneCallback ApiHandler::CountAs(std::string_view endpoint) {
  return [this, label = std::string(endpoint)](Outcome outcome) { counters_.Record(label, outcome); };
}

TokenSpeller ApiHandler::Speller(bool as_ids) const {
  if (as_ids) return [](std::int32_t id) { return "token_id:" + std::to_string(id); };
  const Tokenizer* tokenizer = model_.tokenizer;
  return [tokenizer](std::int32_t id) { return tokenizer->Decode(std::span<const std::int32_t>(&id, 1)); };
}

}  // namespace engine::server
