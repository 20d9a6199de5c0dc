// RequestStats: what the server measures of each request - the latency
// histograms vLLM's dashboards read (vllm:time_to_first_token_seconds,
// vllm:time_per_output_token_seconds, vllm:e2e_request_latency_seconds) and
// the one log line per finished request (docs/server.md, "Logs").
//
// As in vLLM, where a request with n choices is n requests to the engine,
// the histograms observe sequences: each choice's first token, each later
// update's gap since the previous one (one token per update, usually), and
// each choice that finishes (stop or length). The log line is per HTTP
// request and never holds the prompt or the output.
//
// Owned by the I/O thread (the ApiHandler), like RequestCounters: no locking.
// Times come from `clock` (steady_clock::now; tests give a manual one).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "engine/scheduler/scheduler.h"  // Histogram

namespace engine::server {

using SteadyTime = std::chrono::steady_clock::time_point;
using SteadyClock = std::function<SteadyTime()>;
// Receives whole log lines (without '\n'); called on the I/O thread.
using LogSink = std::function<void(const std::string& line)>;

struct FinishedRequest {
  std::string id;  // the response's id: "cmpl-...", "chatcmpl-..."
  std::int64_t prompt_tokens = 0;  // each prompt once, whatever n
  std::int64_t output_tokens = 0;  // every choice's tokens
  std::optional<double> time_to_first_token;  // seconds; absent when no token came
  double total_seconds = 0;
  // Each choice's finish reason, comma-separated ("stop", "length,stop"), when
  // answered; else the outcome: "cancelled", "server_error", "rejected", "client_error".
  std::string finish_reason;
};

// "request cmpl-1 finished: prompt_tokens=3 output_tokens=16 ttft=0.052s total=0.431s finish_reason=length"
// (ttft=- when no token came).
std::string FinishedRequestLine(const FinishedRequest& request);

// vLLM's buckets (seconds).
Histogram TimeToFirstTokenBuckets();
Histogram TimePerOutputTokenBuckets();
Histogram EndToEndLatencyBuckets();
// Adds one observation.
void Observe(Histogram& histogram, double seconds);

double SecondsBetween(SteadyTime from, SteadyTime to);

class RequestStats {
 public:
  // `clock` null: steady_clock::now. `log` null: no request lines.
  explicit RequestStats(SteadyClock clock = nullptr, LogSink log = nullptr);

  SteadyTime Now() const { return clock_(); }
  void ObserveTimeToFirstToken(double seconds) { Observe(time_to_first_token_, seconds); }
  void ObserveTimePerOutputToken(double seconds) { Observe(time_per_output_token_, seconds); }
  void ObserveEndToEnd(double seconds) { Observe(end_to_end_, seconds); }
  // Writes the request's log line.
  void Finished(const FinishedRequest& request) const;

  const Histogram& time_to_first_token() const { return time_to_first_token_; }
  const Histogram& time_per_output_token() const { return time_per_output_token_; }
  const Histogram& end_to_end() const { return end_to_end_; }

 private:
  SteadyClock clock_;
  LogSink log_;
  Histogram time_to_first_token_ = TimeToFirstTokenBuckets();
  Histogram time_per_output_token_ = TimePerOutputTokenBuckets();
  Histogram end_to_end_ = EndToEndLatencyBuckets();
};

}  // namespace engine::server
