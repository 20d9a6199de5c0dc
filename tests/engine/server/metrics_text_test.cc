// GET /metrics speaks Prometheus' text format: HELP/TYPE lines, labelled
// counters, gauges, and cumulative histograms with +Inf, _sum and _count.
#include "engine/server/metrics_text.h"

#include <catch2/catch.hpp>

using namespace engine;
using namespace engine::server;
using Catch::Matchers::Contains;

TEST_CASE("Scheduler metrics, request counters and model time are exposed in Prometheus text") {
  SchedulerMetrics s;
  s.requests_finished_stop = 3;
  s.requests_cancelled = 1;
  s.prompt_tokens = 40;
  s.prefill_tokens_computed = 30;
  s.prefill_tokens_cached = 10;
  s.generated_tokens = 99;
  s.queue_depth = 2;
  s.running_sequences = 5;
  s.kv_blocks_total = 64;
  s.kv_blocks_used = 8;
  s.kv_blocks_cached = 6;
  s.kv_blocks_free = 50;
  s.step_latency = Histogram{{0.001, 0.01}, {4, 2, 1}, 7, 0.05};
  RequestCounters requests;
  requests.Record("/v1/completions", Outcome::kOk);
  requests.Record("/v1/completions", Outcome::kOk);
  requests.Record("/v1/chat/completions", Outcome::kCancelled);
  const std::string text = PrometheusText(s, requests, ModelTiming{12, 0.5, 10, 0.25});

  CHECK_THAT(text, Contains("# TYPE infer_http_requests_total counter\n"));
  CHECK_THAT(text, Contains("infer_http_requests_total{endpoint=\"/v1/completions\",outcome=\"ok\"} 2\n"));
  CHECK_THAT(text, Contains("infer_http_requests_total{endpoint=\"/v1/chat/completions\",outcome=\"cancelled\"} 1\n"));
  CHECK_THAT(text, Contains("infer_sequences_finished_total{reason=\"stop\"} 3\n"));
  CHECK_THAT(text, Contains("infer_sequences_finished_total{reason=\"cancelled\"} 1\n"));
  CHECK_THAT(text, Contains("infer_prompt_tokens_total 40\n"));
  CHECK_THAT(text, Contains("infer_prefill_tokens_computed_total 30\n"));
  CHECK_THAT(text, Contains("infer_prefill_tokens_cached_total 10\n"));
  CHECK_THAT(text, Contains("infer_generation_tokens_total 99\n"));
  CHECK_THAT(text, Contains("# TYPE infer_queue_depth gauge\ninfer_queue_depth 2\n"));
  CHECK_THAT(text, Contains("infer_running_sequences 5\n"));
  CHECK_THAT(text, Contains("infer_kv_blocks_used 8\n"));
  CHECK_THAT(text, Contains("infer_kv_blocks_free 50\n"));
  CHECK_THAT(text, Contains("infer_kv_blocks_cached 6\n"));
  CHECK_THAT(text, Contains("infer_kv_blocks_total 64\n"));
  // Buckets are cumulative; the last one is +Inf and equals the count.
  CHECK_THAT(text, Contains("# TYPE infer_step_latency_seconds histogram\n"
                            "infer_step_latency_seconds_bucket{le=\"0.001\"} 4\n"
                            "infer_step_latency_seconds_bucket{le=\"0.01\"} 6\n"
                            "infer_step_latency_seconds_bucket{le=\"+Inf\"} 7\n"
                            "infer_step_latency_seconds_sum 0.05\n"
                            "infer_step_latency_seconds_count 7\n"));
  CHECK_THAT(text, Contains("infer_time_to_first_token_seconds_count 0\n"));
  CHECK_THAT(text, Contains("infer_model_forward_seconds_total 0.5\n"));
  CHECK_THAT(text, Contains("infer_model_forward_calls_total 12\n"));
  CHECK_THAT(text, Contains("infer_model_decode_forward_seconds_total 0.25\n"));
  CHECK_THAT(text, Contains("infer_model_decode_forward_calls_total 10\n"));
}

TEST_CASE("vLLM's dashboard metrics carry the model_name label, vLLM's types and vLLM's buckets") {
  SchedulerMetrics s;
  s.prompt_tokens = 40;
  s.generated_tokens = 99;
  s.queue_depth = 2;
  s.running_sequences = 5;
  s.kv_blocks_total = 64;
  s.kv_blocks_used = 16;
  s.kv_blocks_cached = 6;
  RequestStats requests;
  requests.ObserveTimeToFirstToken(0.03);
  requests.ObserveTimeToFirstToken(0.5);
  requests.ObserveTimePerOutputToken(0.02);
  requests.ObserveEndToEnd(1.25);
  const std::string text = VllmPrometheusText(s, requests, "demo \"q\"");

  CHECK_THAT(text, Contains("# TYPE vllm:num_requests_running gauge\n"
                            "vllm:num_requests_running{model_name=\"demo \\\"q\\\"\"} 5\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:num_requests_waiting gauge\n"
                            "vllm:num_requests_waiting{model_name=\"demo \\\"q\\\"\"} 2\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:gpu_cache_usage_perc gauge\n"
                            "vllm:gpu_cache_usage_perc{model_name=\"demo \\\"q\\\"\"} 0.25\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:prompt_tokens_total counter\n"
                            "vllm:prompt_tokens_total{model_name=\"demo \\\"q\\\"\"} 40\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:generation_tokens_total counter\n"
                            "vllm:generation_tokens_total{model_name=\"demo \\\"q\\\"\"} 99\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:time_to_first_token_seconds histogram\n"
                            "vllm:time_to_first_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"0.001\"} 0\n"));
  CHECK_THAT(text, Contains("vllm:time_to_first_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"0.04\"} 1\n"));
  CHECK_THAT(text, Contains("vllm:time_to_first_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"0.5\"} 2\n"));
  CHECK_THAT(text, Contains("vllm:time_to_first_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"2560\"} 2\n"
                            "vllm:time_to_first_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"+Inf\"} 2\n"
                            "vllm:time_to_first_token_seconds_sum{model_name=\"demo \\\"q\\\"\"} 0.53\n"
                            "vllm:time_to_first_token_seconds_count{model_name=\"demo \\\"q\\\"\"} 2\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:time_per_output_token_seconds histogram\n"
                            "vllm:time_per_output_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"0.01\"} 0\n"
                            "vllm:time_per_output_token_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"0.025\"} 1\n"));
  CHECK_THAT(text, Contains("# TYPE vllm:e2e_request_latency_seconds histogram\n"
                            "vllm:e2e_request_latency_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"0.3\"} 0\n"));
  CHECK_THAT(text, Contains("vllm:e2e_request_latency_seconds_bucket{model_name=\"demo \\\"q\\\"\",le=\"1.5\"} 1\n"));
  CHECK_THAT(text, Contains("vllm:e2e_request_latency_seconds_count{model_name=\"demo \\\"q\\\"\"} 1\n"));
}
