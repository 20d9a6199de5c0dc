// serve_bench: throughput and latency of `infer-engine serve` under
// concurrent streaming clients. Not a test; scripts/bench-serve runs it
// against a server it starts (docs/benchmarks.md, "Serving (CPU backend)").
//
//   serve_bench --port N [--host 127.0.0.1] [--model demo] [--api-key KEY]
//               [--concurrency 1,2,4,8,16,32] [--requests N] [--prompt-words 32]
//               [--prompt-tokens N] [--max-tokens 64]
//
// For each concurrency c, c clients (one thread and one kept-alive
// connection each) send streaming /v1/completions requests back to back
// until --requests (default max(16, 4c)) have completed: greedy,
// ignore_eos, max_tokens tokens each, prompts that share no prefix (each
// starts with its own number). --prompt-tokens sends prompts of exactly N
// token ids (ids below 2,048, so any model's vocabulary has them) instead of
// --prompt-words words, whose token count depends on the tokenizer. Every
// SSE event that carries text counts as a token's arrival (the scheduler
// sends one update per sampled token; the detokenizer holds text back only
// while it ends in part of a character). Reported per level:
//   output tokens/s and requests/s over the level's wall time,
//   time to first token (send -> first text) p50/p99,
//   inter-token latency (between text events of one request) p50/p99,
//   end-to-end request latency p50.
// At concurrency 1 it also reads /metrics before and after, and reports the
// share of time outside the model's Forward:
//   of step time: 1 - Forward time / scheduler step time, over all steps
//     (planning, batch building, sampling, detokenization);
//   of inter-token time: 1 - Forward time per pure decode step / mean
//     inter-token latency (the above plus delivering the update, JSON, HTTP
//     and this client; the server's I/O thread overlaps the next step);
//   of time per token over whole requests: 1 - that Forward time / (sum of
//     end-to-end latencies / sum of completion tokens). An upper bound on
//     the time between tokens (it also holds the prefill and the request's
//     round trip) that needs no text events: a random-weight model's tokens
//     are mostly pieces of characters, whose text the detokenizer holds back,
//     so its text events come far apart and the inter-token share above says
//     nothing for it.
// Lines starting with RESULT are for scripts.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string model = "demo";
  std::string api_key;
  std::vector<int> concurrency = {1, 2, 4, 8, 16, 32};
  int requests = 0;  // 0: max(16, 4c)
  int prompt_words = 32;
  int prompt_tokens = 0;  // > 0: prompts of this many token ids instead of words
  int max_tokens = 64;
};

struct RequestResult {
  bool ok = false;
  std::string error;
  double ttft = 0, e2e = 0;
  std::vector<double> gaps;  // seconds between text events
  std::int64_t prompt_tokens = 0, completion_tokens = 0;
};

// Token ids for request `index`: distinct from the first id on, so no two
// requests share a prefix-cache block.
json PromptTokens(int index, int tokens) {
  json ids = json::array();
  for (int t = 0; t < tokens; ++t) ids.push_back(100 + (index * 7919 + t * 131) % 1900);
  return ids;
}

std::string Prompt(int index, int words) {
  static const char* kWords[] = {"the", "river", "ran", "past", "a", "small", "village", "where", "merchants",
                                 "traded", "salt", "and", "wool", "every", "spring", "morning"};
  std::string p = "Request " + std::to_string(index) + ".";
  for (int w = 0; w < words; ++w) p += std::string(" ") + kWords[(w * 7 + index) % 16];
  return p;
}

class Client {
 public:
  Client(const Options& o) : options_(o), stream_(io_) {
    net::ip::tcp::resolver resolver(io_);
    stream_.connect(resolver.resolve(o.host, o.port));
  }

  RequestResult Run(int index) {
    RequestResult r;
    json body = {{"model", options_.model},
                 {"prompt", options_.prompt_tokens > 0 ? PromptTokens(index, options_.prompt_tokens)
                                                       : json(Prompt(index, options_.prompt_words))},
                 {"max_tokens", options_.max_tokens},
                 {"temperature", 0},
                 {"ignore_eos", true},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}};
    http::request<http::string_body> request{http::verb::post, "/v1/completions", 11};
    request.set(http::field::host, options_.host);
    request.set(http::field::content_type, "application/json");
    if (!options_.api_key.empty()) request.set(http::field::authorization, "Bearer " + options_.api_key);
    request.body() = body.dump();
    request.prepare_payload();

    const auto start = Clock::now();
    auto last = start;
    bool first = true;
    std::string pending;
    http::response_parser<http::empty_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto on_body = [&](std::uint64_t, beast::string_view data, beast::error_code&) -> std::size_t {
      const auto now = Clock::now();
      pending.append(data.data(), data.size());
      for (std::size_t end; (end = pending.find("\n\n")) != std::string::npos; pending.erase(0, end + 2)) {
        const std::string event = pending.substr(0, end);
        if (event.rfind("data: ", 0) != 0 || event == "data: [DONE]") continue;
        const json chunk = json::parse(event.substr(6), nullptr, false);
        if (chunk.is_discarded()) continue;
        if (chunk.contains("usage") && chunk["usage"].is_object()) {
          r.prompt_tokens = chunk["usage"]["prompt_tokens"];
          r.completion_tokens = chunk["usage"]["completion_tokens"];
        }
        if (chunk.contains("error")) r.error = chunk["error"].dump();
        if (!chunk.contains("choices") || chunk["choices"].empty()) continue;
        if (chunk["choices"][0].value("text", std::string()).empty()) continue;
        if (first) {
          r.ttft = std::chrono::duration<double>(now - start).count();
          first = false;
        } else {
          r.gaps.push_back(std::chrono::duration<double>(now - last).count());
        }
        last = now;
      }
      return data.size();
    };
    parser.on_chunk_body(on_body);
    beast::error_code ec;
    http::write(stream_, request, ec);
    if (!ec) http::read(stream_, buffer_, parser, ec);
    r.e2e = std::chrono::duration<double>(Clock::now() - start).count();
    if (ec) {
      r.error = ec.message();
    } else if (parser.get().result_int() != 200) {
      r.error = "HTTP " + std::to_string(parser.get().result_int());
    }
    r.ok = r.error.empty() && !first;
    return r;
  }

 private:
  const Options& options_;
  net::io_context io_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::string Get(const Options& o, const std::string& target) {
  net::io_context io;
  beast::tcp_stream stream(io);
  net::ip::tcp::resolver resolver(io);
  stream.connect(resolver.resolve(o.host, o.port));
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, o.host);
  if (!o.api_key.empty()) request.set(http::field::authorization, "Bearer " + o.api_key);
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return response.body();
}

double Metric(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return 0;
}

int Usage() {
  std::fprintf(stderr,
               "usage: serve_bench --port N [--host H] [--model NAME] [--api-key KEY] [--concurrency 1,2,4]\n"
               "                   [--requests N] [--prompt-words N] [--prompt-tokens N] [--max-tokens N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return Usage();
    const std::string v = argv[++i];
    if (a == "--port") {
      o.port = v;
    } else if (a == "--host") {
      o.host = v;
    } else if (a == "--model") {
      o.model = v;
    } else if (a == "--api-key") {
      o.api_key = v;
    } else if (a == "--concurrency") {
      o.concurrency.clear();
      std::stringstream list(v);
      for (std::string item; std::getline(list, item, ',');) o.concurrency.push_back(std::stoi(item));
    } else if (a == "--requests") {
      o.requests = std::stoi(v);
    } else if (a == "--prompt-words") {
      o.prompt_words = std::stoi(v);
    } else if (a == "--prompt-tokens") {
      o.prompt_tokens = std::stoi(v);
    } else if (a == "--max-tokens") {
      o.max_tokens = std::stoi(v);
    } else {
      return Usage();
    }
  }
  if (o.port.empty()) return Usage();

  try {
    // Warm-up: one request, so the first level does not pay for cold caches.
    Client(o).Run(1 << 20);
    std::printf("%5s %5s %10s %8s %10s %10s %9s %9s %9s %8s\n", "conc", "reqs", "out tok/s", "req/s", "TTFT p50",
                "TTFT p99", "ITL p50", "ITL p99", "e2e p50", "prompt");
    int next_index = 0;
    for (int c : o.concurrency) {
      const int total = o.requests > 0 ? o.requests : std::max(16, 4 * c);
      const std::string before = c == 1 ? Get(o, "/metrics") : "";
      std::vector<RequestResult> results;
      std::mutex mu;
      std::atomic<int> next{0};
      const int base = next_index;
      next_index += total;
      const auto start = Clock::now();
      std::vector<std::thread> threads;
      for (int t = 0; t < c; ++t) {
        threads.emplace_back([&] {
          Client client(o);
          for (int i = next++; i < total; i = next++) {
            RequestResult r = client.Run(base + i);
            std::lock_guard<std::mutex> lock(mu);
            results.push_back(std::move(r));
          }
        });
      }
      for (std::thread& t : threads) t.join();
      const double wall = std::chrono::duration<double>(Clock::now() - start).count();

      std::vector<double> ttft, gaps, e2e;
      std::int64_t out_tokens = 0, prompt_tokens = 0, failed = 0;
      std::string first_error;
      for (const RequestResult& r : results) {
        if (!r.ok) {
          ++failed;
          if (first_error.empty()) first_error = r.error;
          continue;
        }
        ttft.push_back(r.ttft);
        e2e.push_back(r.e2e);
        gaps.insert(gaps.end(), r.gaps.begin(), r.gaps.end());
        out_tokens += r.completion_tokens;
        prompt_tokens += r.prompt_tokens;
      }
      const auto done = static_cast<double>(results.size() - static_cast<std::size_t>(failed));
      std::printf("%5d %5zu %10.1f %8.2f %8.1fms %8.1fms %7.2fms %7.2fms %8.3fs %8.0f\n", c, results.size(),
                  static_cast<double>(out_tokens) / wall, done / wall, Percentile(ttft, 0.5) * 1e3,
                  Percentile(ttft, 0.99) * 1e3, Percentile(gaps, 0.5) * 1e3, Percentile(gaps, 0.99) * 1e3,
                  Percentile(e2e, 0.5), done > 0 ? static_cast<double>(prompt_tokens) / done : 0.0);
      std::printf("RESULT level concurrency=%d requests=%zu failed=%lld out_tok_s=%.2f req_s=%.3f ttft_p50=%.5f "
                  "ttft_p99=%.5f itl_p50=%.5f itl_p99=%.5f e2e_p50=%.4f\n",
                  c, results.size(), static_cast<long long>(failed), static_cast<double>(out_tokens) / wall,
                  done / wall, Percentile(ttft, 0.5), Percentile(ttft, 0.99), Percentile(gaps, 0.5),
                  Percentile(gaps, 0.99), Percentile(e2e, 0.5));
      if (failed > 0) std::printf("  %lld requests failed; first: %s\n", static_cast<long long>(failed), first_error.c_str());

      if (c == 1) {
        const std::string after = Get(o, "/metrics");
        auto delta = [&](const char* name) { return Metric(after, name) - Metric(before, name); };
        const double steps = delta("infer_step_latency_seconds_count");
        const double step_s = delta("infer_step_latency_seconds_sum");
        const double forward_s = delta("infer_model_forward_seconds_total");
        const double decode_s = delta("infer_model_decode_forward_seconds_total");
        const double decode_calls = delta("infer_model_decode_forward_calls_total");
        double mean_gap = 0;
        for (double g : gaps) mean_gap += g;
        mean_gap = gaps.empty() ? 0 : mean_gap / static_cast<double>(gaps.size());
        double e2e_sum = 0;
        for (double t : e2e) e2e_sum += t;
        const double per_token = out_tokens > 0 ? e2e_sum / static_cast<double>(out_tokens) : 0;
        const double decode_forward = decode_calls > 0 ? decode_s / decode_calls : 0;
        const double outside_step = step_s > 0 ? 1 - forward_s / step_s : 0;
        const double outside_itl = mean_gap > 0 ? 1 - decode_forward / mean_gap : 0;
        const double outside_per_token = per_token > 0 ? 1 - decode_forward / per_token : 0;
        std::printf("batch 1: %.0f steps (%.0f decode), mean step %.3f ms; Forward %.3f ms per decode step, mean "
                    "inter-token time %.3f ms\n"
                    "batch 1: outside the model: %.1f%% of step time (scheduler: plan, batch, sample, detokenize), "
                    "%.1f%% of inter-token time (also delivery, JSON, HTTP, client)\n"
                    "batch 1: %.3f ms a token over whole requests (end-to-end / tokens); outside the model: at most "
                    "%.1f%% of it\n",
                    steps, decode_calls, steps > 0 ? step_s / steps * 1e3 : 0, decode_forward * 1e3, mean_gap * 1e3,
                    100 * outside_step, 100 * outside_itl, per_token * 1e3, 100 * outside_per_token);
        std::printf("RESULT batch1 steps=%.0f decode_steps=%.0f step_ms=%.4f decode_forward_ms=%.4f itl_mean_ms=%.4f "
                    "outside_step=%.4f outside_itl=%.4f per_token_ms=%.4f outside_per_token=%.4f\n",
                    steps, decode_calls, steps > 0 ? step_s / steps * 1e3 : 0, decode_forward * 1e3, mean_gap * 1e3,
                    outside_step, outside_itl, per_token * 1e3, outside_per_token);
      }
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "serve_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
