#include "engine/server/metrics_text.h"

#include <charconv>
#include <cmath>

#include "engine/server/throughput_log.h"

namespace engine::server {
namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof(text), v);
  return ec == std::errc() ? std::string(text, end) : std::to_string(v);
}

class Exposition {
 public:
  void Header(const char* name, const char* type, const char* help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(const std::string& name_and_labels, const std::string& value) {
    out_ += name_and_labels;
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }
  void Counter(const char* name, const char* help, std::uint64_t value) {
    Header(name, "counter", help);
    Sample(name, std::to_string(value));
  }
  void Gauge(const char* name, const char* help, std::int64_t value) {
    Header(name, "gauge", help);
    Sample(name, std::to_string(value));
  }
  // `labels`: "" or 'model_name="demo"' (put before le).
  void HistogramSeries(const char* name, const char* help, const Histogram& h, const std::string& labels = "") {
    Header(name, "histogram", help);
    const std::string bucket = std::string(name) + "_bucket{" + (labels.empty() ? "" : labels + ",") + "le=\"";
    const std::string braced = labels.empty() ? "" : "{" + labels + "}";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.upper_bounds.size(); ++i) {
      if (i < h.counts.size()) cumulative += h.counts[i];
      Sample(bucket + Number(h.upper_bounds[i]) + "\"}", std::to_string(cumulative));
    }
    Sample(bucket + "+Inf\"}", std::to_string(h.count));
    Sample(std::string(name) + "_sum" + braced, Number(h.sum));
    Sample(std::string(name) + "_count" + braced, std::to_string(h.count));
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// A label value as the text format wants it: \\, \" and \n escaped.
std::string LabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string PrometheusText(const SchedulerMetrics& s, const RequestCounters& requests, const ModelTiming& model) {
  Exposition e;
  e.Header("infer_http_requests_total", "counter", "HTTP requests answered, by endpoint and outcome.");
  for (const auto& [key, count] : requests.counts()) {
    e.Sample("infer_http_requests_total{endpoint=\"" + key.first + "\",outcome=\"" +
                 std::string(OutcomeName(key.second)) + "\"}",
             std::to_string(count));
  }
  e.Header("infer_sequences_finished_total", "counter", "Sequences the scheduler finished, by reason.");
  e.Sample("infer_sequences_finished_total{reason=\"stop\"}", std::to_string(s.requests_finished_stop));
  e.Sample("infer_sequences_finished_total{reason=\"length\"}", std::to_string(s.requests_finished_length));
  e.Sample("infer_sequences_finished_total{reason=\"cancelled\"}", std::to_string(s.requests_cancelled));
  e.Sample("infer_sequences_finished_total{reason=\"failed\"}", std::to_string(s.requests_failed));
  e.Counter("infer_sequences_rejected_total", "Sequences the scheduler refused (queue full, invalid, shutting down).",
            s.requests_rejected);
  e.Counter("infer_prompt_tokens_total", "Prompt tokens of admitted sequences.", s.prompt_tokens);
  e.Counter("infer_prefill_tokens_computed_total", "Prefill tokens run through the model (recomputation included).",
            s.prefill_tokens_computed);
  e.Counter("infer_prefill_tokens_cached_total", "Prefill tokens taken from the prefix cache.",
            s.prefill_tokens_cached);
  e.Counter("infer_generation_tokens_total", "Tokens generated.", s.generated_tokens);
  e.Counter("infer_preemptions_total", "Sequences preempted for lack of KV blocks.", s.preemptions);
  e.Counter("infer_steps_total", "Model steps run.", s.steps);
  e.Gauge("infer_queue_depth", "Sequences waiting for admission.", s.queue_depth);
  e.Gauge("infer_running_sequences", "Sequences admitted and not finished.", s.running_sequences);
  e.Gauge("infer_kv_blocks_total", "KV cache blocks.", s.kv_blocks_total);
  e.Gauge("infer_kv_blocks_used", "KV cache blocks held by running sequences.", s.kv_blocks_used);
  e.Gauge("infer_kv_blocks_cached", "KV cache blocks held only by the prefix cache (evictable).",
          s.kv_blocks_cached);
  e.Gauge("infer_kv_blocks_free", "KV cache blocks free.", s.kv_blocks_free);
  e.HistogramSeries("infer_step_latency_seconds", "Wall time of each scheduler step.", s.step_latency);
  e.HistogramSeries("infer_time_to_first_token_seconds", "Time from submission to the first generated token.",
                    s.time_to_first_token);
  e.Header("infer_model_forward_seconds_total", "counter", "Wall time spent inside the model's Forward.");
  e.Sample("infer_model_forward_seconds_total", Number(model.forward_seconds));
  e.Counter("infer_model_forward_calls_total", "Calls of the model's Forward.", model.forward_calls);
  e.Header("infer_model_decode_forward_seconds_total", "counter",
           "Wall time inside Forward in pure decode steps (one new token per sequence).");
  e.Sample("infer_model_decode_forward_seconds_total", Number(model.decode_seconds));
  e.Counter("infer_model_decode_forward_calls_total", "Forward calls that were pure decode steps.",
            model.decode_calls);
  return e.Take();
}

std::string VllmPrometheusText(const SchedulerMetrics& s, const RequestStats& requests, std::string_view model_name) {
  const std::string labels = "model_name=\"" + LabelValue(model_name) + "\"";
  const std::string braced = "{" + labels + "}";
  Exposition e;
  e.Header("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
  e.Sample("vllm:num_requests_running" + braced, std::to_string(s.running_sequences));
  e.Header("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
  e.Sample("vllm:num_requests_waiting" + braced, std::to_string(s.queue_depth));
  e.Header("vllm:gpu_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
  e.Sample("vllm:gpu_cache_usage_perc" + braced, Number(KvCacheUsage(s)));
  e.Header("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
  e.Sample("vllm:prompt_tokens_total" + braced, std::to_string(s.prompt_tokens));
  e.Header("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
  e.Sample("vllm:generation_tokens_total" + braced, std::to_string(s.generated_tokens));
  e.HistogramSeries("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                    requests.time_to_first_token(), labels);
  e.HistogramSeries("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.",
                    requests.time_per_output_token(), labels);
  e.HistogramSeries("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.",
                    requests.end_to_end(), labels);
  return e.Take();
}

}  // namespace engine::server
