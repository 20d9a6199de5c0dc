// The server over the real scheduler and the demo model, through HTTP on
// loopback: batch invariance, prefix caching, and a bounded load with
// clients that disconnect mid-stream.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "http_test_client.h"
#include "live_server.h"

using namespace engine;
using namespace engine::server;
using namespace engine::server::testing;
using nlohmann::json;

namespace {

// The value of an unlabelled sample in Prometheus text ("name 12\n").
double MetricValue(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  throw std::runtime_error("no metric " + name);
}

std::string Metrics(std::uint16_t port) { return Send(port, "GET", "/metrics").body; }

// What a greedy completion produced: text, token ids ("token_id:42") and logprobs.
struct Completion {
  std::string text;
  json tokens, logprobs;
  std::string finish_reason;
  json usage;
  bool operator==(const Completion& o) const {
    return text == o.text && tokens == o.tokens && logprobs == o.logprobs && finish_reason == o.finish_reason;
  }
};

Completion Complete(std::uint16_t port, const std::string& prompt, int max_tokens) {
  json request = {{"model", "demo"}, {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0},
                  {"logprobs", 1}, {"return_tokens_as_token_ids", true}};
  TestResponse r = Send(port, "POST", "/v1/completions", request.dump());
  if (r.status != 200) throw std::runtime_error("status " + std::to_string(r.status) + ": " + r.body);
  json body = json::parse(r.body);
  const json& choice = body["choices"][0];
  return Completion{choice["text"], choice["logprobs"]["tokens"], choice["logprobs"]["token_logprobs"],
                    choice["finish_reason"], body["usage"]};
}

// Waits (up to 20 s) until the scheduler is idle; returns the last /metrics text.
std::string WaitIdle(std::uint16_t port) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    text = Metrics(port);
    if (MetricValue(text, "infer_running_sequences") == 0 && MetricValue(text, "infer_queue_depth") == 0 &&
        MetricValue(text, "infer_kv_blocks_used") == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return text;
}

}  // namespace

TEST_CASE("32 concurrent greedy requests produce exactly the tokens each produces alone") {
  LiveServer server;
  std::vector<std::string> prompts;
  for (int i = 0; i < 32; ++i) prompts.push_back("Story number " + std::to_string(i) + ": once upon a time");
  std::vector<Completion> alone;
  for (const std::string& p : prompts) alone.push_back(Complete(server.port(), p, 24));

  std::vector<Completion> together(prompts.size());
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    clients.emplace_back([&, i] {
      try {
        together[i] = Complete(server.port(), prompts[i], 24);
      } catch (const std::exception&) {
        ++failures;
      }
    });
  }
  for (std::thread& t : clients) t.join();
  REQUIRE(failures == 0);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    INFO("prompt " << i << ": alone \"" << alone[i].text << "\", together \"" << together[i].text << "\"");
    CHECK(together[i] == alone[i]);
    CHECK_FALSE(alone[i].tokens.empty());
  }
  CHECK(alone[0].tokens[0].get<std::string>().rfind("token_id:", 0) == 0);  // ids, not spellings
  // They really ran together: some step had more than one sequence.
  const std::string metrics = Metrics(server.port());
  CHECK(MetricValue(metrics, "infer_steps_total") < MetricValue(metrics, "infer_generation_tokens_total"));
}

TEST_CASE("A second request sharing a prefix computes fewer prefill tokens and returns the same tokens") {
  std::string prefix = "The history of the city begins with a small village by the river.";
  for (int i = 0; i < 5; ++i) prefix += " Merchants came and went, and the village grew year after year.";
  const std::string second = prefix + " Then the railway arrived";

  Completion reference;
  {
    SchedulerOptions no_cache;
    no_cache.enable_prefix_caching = false;
    LiveServer uncached(1024, no_cache);
    reference = Complete(uncached.port(), second, 16);
  }

  LiveServer server;
  Complete(server.port(), prefix, 4);
  const double computed_before = MetricValue(Metrics(server.port()), "infer_prefill_tokens_computed_total");
  Completion shared = Complete(server.port(), second, 16);
  const std::string metrics = Metrics(server.port());
  const double computed = MetricValue(metrics, "infer_prefill_tokens_computed_total") - computed_before;
  const auto prompt_tokens = shared.usage["prompt_tokens"].get<double>();
  const auto cached_tokens = shared.usage["prompt_tokens_details"]["cached_tokens"].get<double>();
  INFO("prompt " << prompt_tokens << " tokens, computed " << computed << ", cached " << cached_tokens);
  CHECK(prompt_tokens > 64);
  CHECK(cached_tokens >= 48);  // at least three full blocks of 16 came from the cache
  CHECK(computed == prompt_tokens - cached_tokens);
  CHECK(MetricValue(metrics, "infer_prefill_tokens_cached_total") >= cached_tokens);
  CHECK(shared == reference);
}

TEST_CASE("200 requests at concurrency 64, some leaving mid-stream: no 5xx, healthy after, every KV block back") {
  // A small cache (96 blocks of 16 for up to 64 sequences) forces preemption too.
  LiveServer server(96);
  constexpr int kRequests = 200;
  constexpr int kConcurrency = 64;
  std::atomic<int> next{0}, ok{0}, left{0}, server_errors{0}, other{0};
  std::mutex mu;
  std::map<int, int> statuses;

  auto worker = [&] {
    for (int i = next++; i < kRequests; i = next++) {
      try {
        const int kind = i % 4;
        if (kind == 0 || kind == 1) {  // a whole completion, or a streamed chat read to the end
          json request = kind == 0
                             ? json{{"model", "demo"}, {"prompt", "Request " + std::to_string(i)}, {"max_tokens", 12}}
                             : json{{"model", "demo"},
                                    {"messages", {{{"role", "user"}, {"content", "Hi " + std::to_string(i)}}}},
                                    {"max_tokens", 12},
                                    {"stream", true},
                                    {"stream_options", {{"include_usage", true}}}};
          TestResponse r = Send(server.port(), "POST", kind == 0 ? "/v1/completions" : "/v1/chat/completions",
                                request.dump());
          {
            std::lock_guard<std::mutex> lock(mu);
            ++statuses[r.status];
          }
          if (r.status >= 500) ++server_errors;
          if (r.status == 200 && (kind == 0 || r.body.find("data: [DONE]") != std::string::npos)) {
            ++ok;
          } else {
            ++other;
          }
        } else {  // leaves: mid-stream after the first event, or right after sending
          TestConnection c(server.port());
          const std::string body =
              json{{"model", "demo"}, {"prompt", "Leaving " + std::to_string(i)}, {"max_tokens", 200},
                   {"ignore_eos", true}, {"stream", kind == 2}}
                  .dump();
          c.Write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                  "\r\n\r\n" + body);
          if (kind == 2) {
            std::string seen;
            while (seen.find("data: ") == std::string::npos) {
              std::string more = c.ReadRaw(1);
              if (more.empty()) break;
              seen += more;
            }
          }
          c.Close();
          ++left;
        }
      } catch (const std::exception&) {
        ++other;
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < kConcurrency; ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  INFO("took " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() << " s");

  CHECK(server_errors == 0);
  CHECK(other == 0);
  CHECK(ok == kRequests / 2);
  CHECK(left == kRequests / 2);
  CHECK(Send(server.port(), "GET", "/health").status == 200);

  const std::string metrics = WaitIdle(server.port());
  CHECK(MetricValue(metrics, "infer_running_sequences") == 0);
  CHECK(MetricValue(metrics, "infer_queue_depth") == 0);
  CHECK(MetricValue(metrics, "infer_kv_blocks_used") == 0);
  // Free again: unused, or only held by the prefix cache (evictable on demand).
  CHECK(MetricValue(metrics, "infer_kv_blocks_free") + MetricValue(metrics, "infer_kv_blocks_cached") ==
        MetricValue(metrics, "infer_kv_blocks_total"));
  // The clients that left were cancelled rather than generated to the end
  // (a few may have finished before their client's close was seen).
  const std::string cancelled = "infer_sequences_finished_total{reason=\"cancelled\"}";
  CHECK(MetricValue(metrics, cancelled) >= kRequests / 4);
  // And the server still answers generation requests correctly.
  CHECK_FALSE(Complete(server.port(), "After the storm", 8).tokens.empty());
}

TEST_CASE("After N requests the vLLM metrics count their tokens and latencies, and each request logs one line") {
  // The log sink runs on the server's thread; the test reads it after the answers.
  std::mutex mu;
  std::vector<std::string> lines;
  ServerOptions options = TestServerOptions();
  options.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  options.stats_interval = std::chrono::milliseconds(50);
  LiveServer server(1024, {}, options);

  constexpr int kRequests = 4;
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
  std::vector<std::string> expected;
  for (int i = 0; i < kRequests; ++i) {
    json request = {{"model", "demo"}, {"prompt", "Once upon a time " + std::to_string(i)}, {"max_tokens", 6},
                    {"temperature", 0}};
    TestResponse r = Send(server.port(), "POST", "/v1/completions", request.dump());
    REQUIRE(r.status == 200);
    const json body = json::parse(r.body);
    prompt_tokens += body["usage"]["prompt_tokens"].get<std::int64_t>();
    completion_tokens += body["usage"]["completion_tokens"].get<std::int64_t>();
    expected.push_back("request " + body["id"].get<std::string>() +
                       " finished: prompt_tokens=" + std::to_string(body["usage"]["prompt_tokens"].get<int>()) +
                       " output_tokens=" + std::to_string(body["usage"]["completion_tokens"].get<int>()) + " ttft=");
    expected.back() += "|finish_reason=" + body["choices"][0]["finish_reason"].get<std::string>();
  }
  const std::string metrics = WaitIdle(server.port());
  const std::string label = "{model_name=\"demo\"}";
  CHECK(MetricValue(metrics, "vllm:generation_tokens_total" + label) == completion_tokens);
  CHECK(MetricValue(metrics, "vllm:generation_tokens_total" + label) ==
        MetricValue(metrics, "infer_generation_tokens_total"));
  CHECK(MetricValue(metrics, "vllm:prompt_tokens_total" + label) == prompt_tokens);
  CHECK(MetricValue(metrics, "vllm:num_requests_running" + label) == 0);
  CHECK(MetricValue(metrics, "vllm:num_requests_waiting" + label) == 0);
  CHECK(MetricValue(metrics, "vllm:gpu_cache_usage_perc" + label) == 0);
  CHECK(MetricValue(metrics, "vllm:time_to_first_token_seconds_count" + label) == kRequests);
  CHECK(MetricValue(metrics, "vllm:e2e_request_latency_seconds_count" + label) == kRequests);
  // One token per update: every token after a sequence's first is one gap.
  CHECK(MetricValue(metrics, "vllm:time_per_output_token_seconds_count" + label) == completion_tokens - kRequests);

  // The request lines, in order, with the ids and usage the clients saw;
  // times vary, their shape does not. The throughput line came while busy.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::string> requests;
  bool throughput = false;
  for (const std::string& line : lines) {
    if (line.rfind("request ", 0) == 0) requests.push_back(line);
    if (line.rfind("Avg prompt throughput: ", 0) == 0) {
      throughput = true;
      CHECK_THAT(line, Catch::Matches(R"(Avg prompt throughput: \d+\.\d tokens/s, Avg generation throughput: )"
                                      R"(\d+\.\d tokens/s, Running: \d+ reqs, Waiting: \d+ reqs, KV cache usage: )"
                                      R"(\d+\.\d%)"));
    }
  }
  CHECK(throughput);
  REQUIRE(requests.size() == expected.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::string head = expected[i].substr(0, expected[i].find('|'));
    const std::string tail = expected[i].substr(expected[i].find('|') + 1);
    CHECK(requests[i].rfind(head, 0) == 0);
    CHECK_THAT(requests[i].substr(head.size()), Catch::Matches(R"(\d+\.\d{3}s total=\d+\.\d{3}s )" + tail));
  }
}
