// The Prometheus text exposition (format 0.0.4) of GET /metrics: the
// server's request counters, the scheduler's Metrics() snapshot and the
// model's forward time.
//
//   infer_http_requests_total{endpoint,outcome}    counter  answered HTTP requests (request_counters.h)
//   infer_sequences_finished_total{reason}         counter  scheduler sequences: stop, length, cancelled, failed
//   infer_sequences_rejected_total                 counter  Submit refused (queue full, invalid, shutting down)
//   infer_prompt_tokens_total                      counter  prompt tokens of admitted sequences
//   infer_prefill_tokens_computed_total            counter  prefill tokens run through the model
//   infer_prefill_tokens_cached_total              counter  prefill tokens taken from the prefix cache
//   infer_generation_tokens_total                  counter  tokens generated
//   infer_preemptions_total, infer_steps_total     counter
//   infer_queue_depth, infer_running_sequences     gauge
//   infer_kv_blocks_total / _used / _cached / _free  gauge  (used + cached + free = total; cached
//                                                            blocks hold prefixes and are evictable)
//   infer_step_latency_seconds                     histogram  wall time of each scheduler step
//   infer_time_to_first_token_seconds              histogram  Submit to the first token
//   infer_model_forward_seconds_total, infer_model_forward_calls_total   counter  time inside Forward
//   infer_model_decode_forward_seconds_total, _calls_total              counter  the same, pure decode steps
//
// Beside them, the names vLLM's dashboards read, with vLLM's types, meaning
// and label (model_name, the served name), so an existing Grafana board works
// unchanged (VllmPrometheusText):
//   vllm:num_requests_running           gauge      sequences admitted and not finished
//   vllm:num_requests_waiting           gauge      sequences waiting for admission
//   vllm:gpu_cache_usage_perc           gauge      KV blocks held by running sequences / all, 0..1
//   vllm:prompt_tokens_total            counter    prompt tokens of admitted sequences
//   vllm:generation_tokens_total        counter    tokens generated
//   vllm:time_to_first_token_seconds    histogram  per sequence: request to its first token
//   vllm:time_per_output_token_seconds  histogram  per later token update: the gap since the previous
//   vllm:e2e_request_latency_seconds    histogram  per sequence finished (stop, length): request to its end
// The histograms use vLLM's buckets (request_stats.h).
#pragma once

#include <string>
#include <string_view>

#include "engine/scheduler/scheduler.h"
#include "engine/server/request_counters.h"
#include "engine/server/request_stats.h"
#include "engine/server/timed_model.h"

namespace engine::server {

std::string PrometheusText(const SchedulerMetrics& scheduler, const RequestCounters& requests,
                           const ModelTiming& model);

std::string VllmPrometheusText(const SchedulerMetrics& scheduler, const RequestStats& requests,
                               std::string_view model_name);

}  // namespace engine::server
