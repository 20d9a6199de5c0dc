#include "engine/server/request_stats.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

namespace engine::server {
namespace {

Histogram Buckets(std::vector<double> upper_bounds) {
  Histogram h;
  h.counts.assign(upper_bounds.size() + 1, 0);
  h.upper_bounds = std::move(upper_bounds);
  return h;
}

}  // namespace

std::string FinishedRequestLine(const FinishedRequest& r) {
  const std::string ttft = r.time_to_first_token ? fmt::format("{:.3f}s", *r.time_to_first_token) : "-";
  return fmt::format("request {} finished: prompt_tokens={} output_tokens={} ttft={} total={:.3f}s finish_reason={}",
                     r.id, r.prompt_tokens, r.output_tokens, ttft, r.total_seconds, r.finish_reason);
}

// The buckets of vLLM's Prometheus logger (vllm/v1/metrics/loggers.py), so
// that a board's histogram_quantile reads the same resolution from both.
Histogram TimeToFirstTokenBuckets() {
  return Buckets({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
                  40.0, 80.0, 160.0, 640.0, 2560.0});
}

Histogram TimePerOutputTokenBuckets() {
  return Buckets({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
                  80.0});
}

Histogram EndToEndLatencyBuckets() {
  return Buckets({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
                  480.0, 960.0, 1920.0, 7680.0});
}

void Observe(Histogram& h, double seconds) {
  // The first bucket whose upper bound holds the value (le: less or equal).
  const auto bucket = std::lower_bound(h.upper_bounds.begin(), h.upper_bounds.end(), seconds);
  ++h.counts[static_cast<std::size_t>(bucket - h.upper_bounds.begin())];
  ++h.count;
  h.sum += seconds;
}

double SecondsBetween(SteadyTime from, SteadyTime to) { return std::chrono::duration<double>(to - from).count(); }

RequestStats::RequestStats(SteadyClock clock, LogSink log)
    : clock_(clock ? std::move(clock) : SteadyClock([] { return std::chrono::steady_clock::now(); })),
      log_(std::move(log)) {}

void RequestStats::Finished(const FinishedRequest& request) const {
  if (log_) log_(FinishedRequestLine(request));
}

}  // namespace engine::server
