// A generation job turns the scheduler's updates into one OpenAI answer:
// streamed events in order, or a whole body; cancellation when the client
// leaves; 429 when the queue is full; an error event when a sequence fails.
#include "engine/server/generation_job.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/server/chat_response.h"
#include "engine/server/completion_response.h"
#include "fakes.h"

using namespace engine;
using namespace engine::server;
using namespace engine::server::testing;
using nlohmann::json;

namespace {

std::string Spell(std::int32_t id) { return "t" + std::to_string(id); }

const ResponseHeader kHeader{"id-1", 1700000000, "demo"};

struct Harness {
  FakeSequenceService service;
  ManualIoThread io;
  std::shared_ptr<RecordingExchange> exchange = std::make_shared<RecordingExchange>();
  std::optional<Outcome> outcome;
  // A manual clock and the log lines the job writes.
  SteadyTime now;
  std::vector<std::string> log;
  RequestStats stats{[this] { return now; }, [this](const std::string& line) { log.push_back(line); }};

  std::shared_ptr<GenerationJob> Job(JobOptions options, std::unique_ptr<ResponseFormat> format) {
    return std::make_shared<GenerationJob>(options, std::move(format), Spell, exchange, service, io.post(),
                                           [this](Outcome o) { outcome = o; }, stats);
  }
  void Advance(double seconds) {
    now += std::chrono::duration_cast<SteadyTime::duration>(std::chrono::duration<double>(seconds));
  }
  std::vector<SequenceRequest> Sequences(std::size_t count, std::vector<std::int32_t> prompt = {1, 2, 3}) {
    std::vector<SequenceRequest> out;
    for (std::size_t i = 0; i < count; ++i) out.push_back(SequenceRequest{prompt, SamplingParams{}, nullptr});
    return out;
  }
  // The JSON payloads of the recorded events ("[DONE]" kept as a string).
  std::vector<json> Events() const {
    std::vector<json> out;
    for (const std::string& e : exchange->events) {
      REQUIRE(e.rfind("data: ", 0) == 0);
      REQUIRE(e.size() >= 8);
      REQUIRE(e.substr(e.size() - 2) == "\n\n");
      const std::string payload = e.substr(6, e.size() - 8);
      out.push_back(payload == "[DONE]" ? json("[DONE]") : json::parse(payload));
    }
    return out;
  }
};

}  // namespace

TEST_CASE("A whole completion collects every choice's text and counts each prompt's tokens once") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    return std::vector<SequenceUpdate>{Partial("Hel", {5}), Finished("lo", {6, 7}, FinishReason::kStop, 3)};
  };
  JobOptions options;
  options.choices_per_prompt = 2;
  h.Job(options, std::make_unique<CompletionFormat>(kHeader, Spell))->Start(h.Sequences(2));
  CHECK_FALSE(h.exchange->complete);  // updates are posted to the I/O thread
  h.io.RunAll();

  REQUIRE(h.exchange->reply);
  CHECK(h.exchange->reply->status == 200);
  json body = json::parse(h.exchange->reply->body);
  CHECK(body["object"] == "text_completion");
  CHECK(body["id"] == "id-1");
  CHECK(body["model"] == "demo");
  REQUIRE(body["choices"].size() == 2);
  CHECK(body["choices"][1]["index"] == 1);
  CHECK(body["choices"][1]["text"] == "Hello");
  CHECK(body["choices"][1]["finish_reason"] == "stop");
  CHECK(body["choices"][1]["logprobs"].is_null());
  CHECK(body["usage"] == json{{"prompt_tokens", 3},
                              {"completion_tokens", 4},
                              {"total_tokens", 7},
                              {"prompt_tokens_details", {{"cached_tokens", 0}}}});
  CHECK(h.outcome == Outcome::kOk);
}

TEST_CASE("A streamed chat answer opens each choice with the role, then content, finish, usage and [DONE]") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    return std::vector<SequenceUpdate>{Partial("Hi", {5}), Partial("", {6}),
                                       Finished(" there", {7, 1}, FinishReason::kLength, 4)};
  };
  JobOptions options;
  options.stream = true;
  options.include_usage = true;
  h.Job(options, std::make_unique<ChatFormat>(kHeader, Spell, true))->Start(h.Sequences(1));
  CHECK(h.exchange->streaming);
  h.io.RunAll();

  CHECK(h.exchange->complete);
  std::vector<json> events = h.Events();
  REQUIRE(events.size() == 5);
  CHECK(events[0]["object"] == "chat.completion.chunk");
  CHECK(events[0]["choices"][0]["delta"] == json{{"role", "assistant"}, {"content", ""}});
  CHECK(events[0]["usage"].is_null());
  CHECK(events[1]["choices"][0]["delta"] == json{{"content", "Hi"}});
  CHECK(events[1]["choices"][0]["finish_reason"].is_null());
  // The empty update (a token without text) sends nothing.
  CHECK(events[2]["choices"][0]["delta"] == json{{"content", " there"}});
  CHECK(events[2]["choices"][0]["finish_reason"] == "length");
  CHECK(events[3]["choices"].empty());
  CHECK(events[3]["usage"]["prompt_tokens"] == 4);
  CHECK(events[3]["usage"]["completion_tokens"] == 2);
  CHECK(events[4] == "[DONE]");
}

TEST_CASE("A reasoning template streams reasoning_content first, then content") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    return std::vector<SequenceUpdate>{Partial("Two plus two", {5}), Partial(".</thi", {6}),
                                       Partial("nk>\n\nIt", {7}), Finished(" is 4.", {8}, FinishReason::kStop, 2)};
  };
  JobOptions options;
  options.stream = true;
  options.split_reasoning = true;
  h.Job(options, std::make_unique<ChatFormat>(kHeader, Spell, false))->Start(h.Sequences(1));
  h.io.RunAll();

  std::vector<json> events = h.Events();
  std::string reasoning, content;
  bool content_started = false;
  for (const json& e : events) {
    if (e == "[DONE]") continue;
    const json& delta = e["choices"][0]["delta"];
    if (delta.contains("reasoning_content")) {
      CHECK_FALSE(content_started);  // never reasoning after content
      reasoning += delta["reasoning_content"].get<std::string>();
    }
    if (delta.contains("content") && !delta.contains("role")) {
      content_started = true;
      content += delta["content"].get<std::string>();
    }
    CHECK_FALSE(e.contains("usage"));  // include_usage was not asked for
  }
  CHECK(reasoning == "Two plus two.");
  CHECK(content == "It is 4.");
}

TEST_CASE("A whole chat answer of a reasoning template carries reasoning_content and content apart") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    return std::vector<SequenceUpdate>{Finished("hmm</think>Yes.", {5, 6}, FinishReason::kStop, 2)};
  };
  JobOptions options;
  options.split_reasoning = true;
  h.Job(options, std::make_unique<ChatFormat>(kHeader, Spell, false))->Start(h.Sequences(1));
  h.io.RunAll();
  json message = json::parse(h.exchange->reply->body)["choices"][0]["message"];
  CHECK(message == json{{"role", "assistant"}, {"content", "Yes."}, {"reasoning_content", "hmm"}});
}

TEST_CASE("Completion logprobs list tokens, their logprobs, the top alternatives and text offsets") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    SequenceUpdate a = Partial("t5", {5});
    a.logprobs = {PositionLogprobs{{5, -0.5f}, {{5, -0.5f}, {9, -1.25f}}}};
    SequenceUpdate b = Finished("t6", {6}, FinishReason::kLength, 3);
    b.logprobs = {PositionLogprobs{{6, -0.25f}, {{6, -0.25f}, {9, -2.0f}}}};
    return std::vector<SequenceUpdate>{a, b};
  };
  JobOptions options;
  options.stream = true;
  options.logprobs = true;
  h.Job(options, std::make_unique<CompletionFormat>(kHeader, Spell))->Start(h.Sequences(1));
  h.io.RunAll();
  std::vector<json> events = h.Events();
  REQUIRE(events.size() == 3);
  CHECK(events[0]["choices"][0]["logprobs"] == json{{"tokens", {"t5"}},
                                                     {"token_logprobs", {-0.5}},
                                                     {"top_logprobs", {{{"t5", -0.5}, {"t9", -1.25}}}},
                                                     {"text_offset", {0}}});
  CHECK(events[1]["choices"][0]["logprobs"]["text_offset"] == json{2});
  CHECK(events[2] == "[DONE]");
}

TEST_CASE("Chat logprobs carry token, logprob, bytes and the top alternatives") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    SequenceUpdate u = Finished("t5", {5}, FinishReason::kStop, 1);
    u.logprobs = {PositionLogprobs{{5, -0.5f}, {{5, -0.5f}}}};
    return std::vector<SequenceUpdate>{u};
  };
  JobOptions options;
  options.logprobs = true;
  h.Job(options, std::make_unique<ChatFormat>(kHeader, Spell, false))->Start(h.Sequences(1));
  h.io.RunAll();
  json logprobs = json::parse(h.exchange->reply->body)["choices"][0]["logprobs"];
  CHECK(logprobs["content"][0] ==
        json{{"token", "t5"},
             {"logprob", -0.5},
             {"bytes", {116, 53}},
             {"top_logprobs", {{{"token", "t5"}, {"logprob", -0.5}, {"bytes", {116, 53}}}}}});
}

TEST_CASE("When the client leaves, every unfinished sequence is cancelled at once") {
  Harness h;
  h.service.hold = true;
  JobOptions options;
  options.stream = true;
  h.Job(options, std::make_unique<ChatFormat>(kHeader, Spell, false))->Start(h.Sequences(3));
  REQUIRE(h.exchange->client_gone);
  h.service.Deliver(2, Finished("done", {4}, FinishReason::kStop, 3));
  h.io.RunAll();

  h.exchange->client_gone();
  CHECK(h.service.cancelled == std::vector<SequenceId>{1, 3});
  CHECK(h.outcome == Outcome::kCancelled);
  h.io.RunAll();  // the cancelled updates drain without touching the exchange
  CHECK(h.exchange->events.size() == 3 + 1);  // three openings and choice 2's one chunk
}

TEST_CASE("A full queue cancels what was already accepted and answers 429 with Retry-After") {
  Harness h;
  h.service.hold = true;
  // Accept the first sequence, refuse the second.
  std::vector<SequenceRequest> sequences = h.Sequences(2);
  FakeSequenceService& service = h.service;
  struct RejectSecond : SequenceService {
    FakeSequenceService& inner;
    int calls = 0;
    explicit RejectSecond(FakeSequenceService& s) : inner(s) {}
    StatusOr<SequenceId> Submit(SequenceRequest r, SequenceUpdateCallback cb) override {
      if (++calls == 2) return cluster::ResourceExhaustedError("the queue holds 256 requests");
      return inner.Submit(std::move(r), std::move(cb));
    }
    void Cancel(SequenceId id) override { inner.Cancel(id); }
    SchedulerMetrics Metrics() const override { return {}; }
    std::int64_t context_limit() const override { return 512; }
  } reject_second(service);
  auto rejecting = std::make_shared<GenerationJob>(JobOptions{}, std::make_unique<CompletionFormat>(kHeader, Spell),
                                                   Spell, h.exchange, reject_second, h.io.post(),
                                                   [&](Outcome o) { h.outcome = o; }, h.stats);
  rejecting->Start(std::move(sequences));

  REQUIRE(h.exchange->reply);
  CHECK(h.exchange->reply->status == 429);
  CHECK(h.exchange->reply->headers ==
        std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}});
  json error = json::parse(h.exchange->reply->body)["error"];
  CHECK(error["message"] == "The server is busy: the queue holds 256 requests. Retry after a second.");
  CHECK(error["type"] == "rate_limit_error");
  CHECK(h.service.cancelled == std::vector<SequenceId>{1});
  CHECK(h.outcome == Outcome::kRejected);
}

TEST_CASE("A sequence that fails mid-stream ends the stream with an error event and [DONE]") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    SequenceUpdate failed;
    failed.finished = true;
    failed.status = cluster::InternalError("backend exploded");
    return std::vector<SequenceUpdate>{Partial("a", {5}), failed};
  };
  JobOptions options;
  options.stream = true;
  h.Job(options, std::make_unique<CompletionFormat>(kHeader, Spell))->Start(h.Sequences(1));
  h.io.RunAll();
  std::vector<json> events = h.Events();
  REQUIRE(events.size() == 3);
  CHECK(events[0]["choices"][0]["text"] == "a");
  CHECK(events[1]["error"]["message"] == "Generation failed: internal: backend exploded");
  CHECK(events[1]["error"]["type"] == "server_error");
  CHECK(events[2] == "[DONE]");
  CHECK(h.outcome == Outcome::kServerError);
}

TEST_CASE("A sequence cut by the server shutting down answers 503") {
  Harness h;
  h.service.script = [](const SequenceRequest&) {
    SequenceUpdate u;
    u.finished = true;
    u.status = cluster::UnavailableError("shutting down");
    return std::vector<SequenceUpdate>{u};
  };
  h.Job(JobOptions{}, std::make_unique<CompletionFormat>(kHeader, Spell))->Start(h.Sequences(1));
  h.io.RunAll();
  REQUIRE(h.exchange->reply);
  CHECK(h.exchange->reply->status == 503);
  CHECK(json::parse(h.exchange->reply->body)["error"]["message"] ==
        "The server is shutting down; the request was not completed.");
}

TEST_CASE("A finished request is logged once: id, tokens, time to first token, total time, each choice's reason") {
  // Two choices of one 3-token prompt; the clock moves between updates. The
  // histograms observe each choice: its first token, each later update's gap,
  // and its end. The line never holds the text.
  Harness h;
  h.service.hold = true;
  JobOptions options;
  options.request_id = "cmpl-7";
  options.choices_per_prompt = 2;
  h.Job(options, std::make_unique<CompletionFormat>(kHeader, Spell))->Start(h.Sequences(2));

  h.service.Deliver(1, Partial("Hel", {5}));
  h.Advance(0.25);
  h.io.RunAll();
  h.service.Deliver(2, Partial("x", {9}));
  h.Advance(0.05);
  h.io.RunAll();
  h.service.Deliver(1, Finished("lo", {6, 7}, FinishReason::kStop, 3));
  h.Advance(0.125);
  h.io.RunAll();
  CHECK(h.log.empty());
  h.service.Deliver(2, Finished("y", {10}, FinishReason::kLength, 3));
  h.Advance(0.575);
  h.io.RunAll();

  CHECK(h.log == std::vector<std::string>{"request cmpl-7 finished: prompt_tokens=3 output_tokens=5 ttft=0.250s "
                                          "total=1.000s finish_reason=stop,length"});
  CHECK(h.stats.time_to_first_token().count == 2);
  CHECK(h.stats.time_to_first_token().sum == Approx(0.25 + 0.30));
  CHECK(h.stats.time_per_output_token().count == 2);
  CHECK(h.stats.time_per_output_token().sum == Approx(0.175 + 0.70));
  CHECK(h.stats.end_to_end().count == 2);
  CHECK(h.stats.end_to_end().sum == Approx(0.425 + 1.0));
  // 0.425 s falls in vLLM's (0.3, 0.5] bucket, 1.0 s in (0.8, 1.0].
  CHECK(h.stats.end_to_end().counts[1] == 1);
  CHECK(h.stats.end_to_end().counts[3] == 1);
}

TEST_CASE("A request the client left, or that never started, is logged with its outcome as the reason") {
  Harness h;
  h.service.hold = true;
  JobOptions options;
  options.request_id = "chatcmpl-3";
  h.Job(options, std::make_unique<ChatFormat>(kHeader, Spell, false))->Start(h.Sequences(1, {1, 2, 3, 4}));
  h.Advance(2);
  h.exchange->client_gone();
  h.io.RunAll();
  CHECK(h.log == std::vector<std::string>{"request chatcmpl-3 finished: prompt_tokens=4 output_tokens=0 ttft=- "
                                          "total=2.000s finish_reason=cancelled"});
  CHECK(h.stats.end_to_end().count == 0);

  Harness rejected;
  rejected.service.reject_with = cluster::ResourceExhaustedError("the queue holds 256 requests");
  options.request_id = "cmpl-9";
  rejected.Job(options, std::make_unique<CompletionFormat>(kHeader, Spell))->Start(rejected.Sequences(1));
  CHECK(rejected.log == std::vector<std::string>{"request cmpl-9 finished: prompt_tokens=3 output_tokens=0 ttft=- "
                                                 "total=0.000s finish_reason=rejected"});
}
