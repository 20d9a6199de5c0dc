// ApiHandler: answers one HTTP request of the OpenAI-compatible API (the
// "request_handler" of Asio's HTTP server example). It checks the API key,
// routes, parses the body into a request struct at once, checks it against
// the model, and either replies or starts a GenerationJob.
//
// It knows no sockets: the HTTP session hands it an HttpRequest and an
// Exchange to answer on. Nothing a client sends may crash the server: every
// error becomes an OpenAI-style error body, and an exception escaping the
// code below (a bug) becomes a 500.
//
// Threading: Handle runs on the I/O thread; so do the jobs' updates (via
// `post`). The counters belong to that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "engine/server/api_key.h"
#include "engine/server/exchange.h"
#include "engine/server/generation_job.h"
#include "engine/server/request_counters.h"
#include "engine/server/request_limits.h"
#include "engine/server/request_stats.h"
#include "engine/server/router.h"
#include "engine/server/sequence_service.h"
#include "engine/server/served_model.h"
#include "engine/server/timed_model.h"

namespace engine::server {

class ApiHandler {
 public:
  // `model` and `service` must outlive the handler. `api_key`: absent means
  // no authentication. `model_timing` reports the model's forward time for
  // /metrics (may be empty). `stats` times the generation requests and logs
  // each when it finishes.
  ApiHandler(const ServedModel& model, SequenceService& service, std::optional<ApiKey> api_key,
             RequestLimits limits, PostToIoThread post, std::function<ModelTiming()> model_timing,
             RequestStats stats = RequestStats());

  // Answers `request` on `exchange` (now, or later for generation).
  void Handle(const HttpRequest& request, std::shared_ptr<Exchange> exchange);

  // Records a request the session answered itself (413, malformed HTTP).
  void RecordSessionReply(int http_status) { counters_.Record("other", OutcomeOfStatus(http_status)); }

  const RequestLimits& limits() const { return limits_; }
  const RequestCounters& counters() const { return counters_; }
  const RequestStats& stats() const { return stats_; }

 private:
  void Dispatch(Endpoint endpoint, const HttpRequest& request, const std::shared_ptr<Exchange>& exchange);
  void ServeCompletions(const std::string& body, const std::shared_ptr<Exchange>& exchange);
  void ServeChat(const std::string& body, const std::shared_ptr<Exchange>& exchange);
  // Replies with `reply` and counts it under `endpoint`.
  void Answer(std::string_view endpoint, Exchange& exchange, HttpReply reply);
  void AnswerError(std::string_view endpoint, Exchange& exchange, const ApiError& error);
  // A fresh response id: prefix + 24 hex digits.
  std::string NewId(std::string_view prefix);
  GenerationJob::DoneCallback CountAs(std::string_view endpoint);
  // Spells logprob tokens: the tokenizer's text of the id, or "token_id:42".
  TokenSpeller Speller(bool as_ids) const;

  const ServedModel& model_;
  SequenceService& service_;
  std::optional<ApiKey> api_key_;
  RequestLimits limits_;
  PostToIoThread post_;
  std::function<ModelTiming()> model_timing_;
  RequestCounters counters_;
  RequestStats stats_;
  std::mt19937_64 id_rng_;
};

// The HTTP reply carrying `error` (JSON body, Retry-After / Allow headers).
HttpReply ErrorReply(const ApiError& error);

}  // namespace engine::server
