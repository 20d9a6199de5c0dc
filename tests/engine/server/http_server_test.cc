// The HTTP server over a scripted scheduler, through real loopback sockets:
// status codes and OpenAI error bodies for bad requests, auth, streaming
// framing, keep-alive and pipelining, and cancellation when a client leaves.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "fakes.h"
#include "http_test_client.h"
#include "test_server.h"

using namespace engine;
using namespace engine::server;
using namespace engine::server::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {

// "Hello" in two updates of one token each.
std::vector<SequenceUpdate> SayHello(const SequenceRequest& r) {
  SequenceUpdate last = Finished("lo", {11}, FinishReason::kStop, static_cast<std::int64_t>(r.prompt_ids.size()));
  last.completion_tokens = 2;
  return {Partial("Hel", {10}), last};
}

std::string Ids(int count, int id = 5) {
  std::string out = "[";
  for (int i = 0; i < count; ++i) out += (i ? "," : "") + std::to_string(id);
  return out + "]";
}

}  // namespace

TEST_CASE("Bad requests are answered with the status and OpenAI error body that name the problem") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  RequestLimits limits;
  limits.max_body_bytes = 4096;
  TestServer server(demo.model, service, std::nullopt, limits);

  struct Case {
    std::string method, target, body;
    int status;
    std::string message;  // exact, or a prefix when it ends with "..."
    std::optional<std::string> param;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": )", 400,
       "We could not parse the JSON body of your request: ...", std::nullopt},
      {"POST", "/v1/completions", "", 400, "We could not parse the JSON body of your request: ...", std::nullopt},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": "x", "temperature": "hot"})", 400,
       "Invalid type for 'temperature': expected a number, but got a string instead.", "temperature"},
      {"POST", "/v1/chat/completions", R"({"model": "demo", "messages": [{"role": "user", "content": "x"}], "n": 0})",
       400, "Invalid 'n': must be between 1 and 16, got 0.", "n"},
      {"POST", "/v1/completions", R"({"model": "gpt-4", "prompt": "x"})", 404,
       "The model 'gpt-4' does not exist; this server serves 'demo' (see GET /v1/models).", "model"},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": )" + Ids(100) + R"(, "max_tokens": 500})", 400,
       "This model's maximum context length is 512 tokens. However, you requested 600 tokens (100 in the prompt, "
       "500 in the completion). Please reduce the length of the prompt or the completion.",
       "prompt"},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": )" + Ids(512) + "}", 400,
       "This model's maximum context length is 512 tokens. However, you requested 513 tokens (512 in the prompt, "
       "1 in the completion). Please reduce the length of the prompt or the completion.",
       "prompt"},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": [1, 5000]})", 400,
       "Invalid 'prompt': token id 5000 at position 1 is outside the vocabulary of 2048 tokens.", "prompt"},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": ["ok", []]})", 400,
       "Invalid 'prompt[1]': the prompt has no tokens.", "prompt[1]"},
      {"POST", "/v1/chat/completions", R"({"model": "demo", "messages": [{"role": "tool", "content": "x"}]})", 400,
       "The chat template could not render these messages: ...", "messages"},
      {"POST", "/v1/chat/completions",
       R"({"model": "demo", "messages": [{"role": "user", "content": "x"}], "max_tokens": 100000})", 400,
       "This model's maximum context length is 512 tokens. However, you requested ...", "messages"},
      {"GET", "/v1/completions", "", 405, "Method GET is not allowed on /v1/completions; use POST.", std::nullopt},
      {"DELETE", "/v1/models", "", 405, "Method DELETE is not allowed on /v1/models; use GET.", std::nullopt},
      {"POST", "/v1/embeddings", "{}", 404, "Unknown route: POST /v1/embeddings. ...", std::nullopt},
      // A number beyond a double: 400 (was a 500 echoing the whole number).
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": "x", "temperature": 1e400})", 400,
       "We could not parse the JSON body of your request: number overflow parsing '1e400'. Send a JSON object with "
       "Content-Type: application/json.",
       std::nullopt},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": "x", "seed": 1)" + std::string(3000, '0') + "}", 400,
       "We could not parse the JSON body of your request: number overflow parsing '1" + std::string(174, '0') +
           "... (3027 bytes). Send a JSON object with Content-Type: application/json.",
       std::nullopt},
      // max_tokens near 2^63: the requested total must not wrap negative.
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": [5], "max_tokens": 9223372036854775807})", 400,
       "This model's maximum context length is 512 tokens. However, you requested 9223372036854775808 tokens (1 in "
       "the prompt, 9223372036854775807 in the completion). Please reduce the length of the prompt or the "
       "completion.",
       "prompt"},
      // What the client sent is quoted as a short excerpt.
      {"POST", "/v1/completions", R"({"model": ")" + std::string(3000, 'm') + R"(", "prompt": "x"})", 404,
       "The model '" + std::string(64, 'm') +
           "... (3000 bytes)' does not exist; this server serves 'demo' (see GET /v1/models).",
       "model"},
      {"POST", "/v1/chat/completions",
       R"({"model": "demo", "messages": [{"role": "user", "content": [{"type": "\u001b[2J)" + std::string(100, 'i') +
           R"(", "text": "x"}]}]})",
       400,
       "Invalid 'messages[0].content[0].type': only text content parts are supported, got '\\x1b[2J" +
           std::string(60, 'i') + "... (104 bytes)'.",
       "messages[0].content[0].type"},
      {"POST", "/v1/completions", R"({"model": "demo", "prompt": ")" + std::string(5000, 'x') + "\"}", 413,
       "The request body is larger than this server's limit of 4096 bytes; send a shorter prompt (or raise "
       "--max-body-bytes).",
       std::nullopt},
  };
  for (const Case& c : cases) {
    INFO(c.method << " " << c.target << " " << c.body.substr(0, 200));
    TestResponse r = Send(server.port(), c.method, c.target, c.body);
    CHECK(r.status == c.status);
    CHECK(r.headers["content-type"] == "application/json");
    json error = json::parse(r.body)["error"];
    const std::string message = error["message"].get<std::string>();
    if (c.message.size() > 3 && c.message.substr(c.message.size() - 3) == "...") {
      CHECK_THAT(message, StartsWith(c.message.substr(0, c.message.size() - 3)));
    } else {
      CHECK(message == c.message);
    }
    CHECK(error.contains("type"));
    CHECK(error.contains("code"));
    if (c.param) {
      CHECK(error["param"] == *c.param);
    } else {
      CHECK(error["param"].is_null());
    }
    if (c.status == 405) CHECK_FALSE(r.headers["allow"].empty());
  }
  CHECK(service.submitted.empty());  // nothing bad reached the scheduler
}

TEST_CASE("The chat template's own refusal is passed on in the 400") {
  DemoServedModel demo;
  FakeSequenceService service;
  TestServer server(demo.model, service);
  TestResponse r = Send(server.port(), "POST", "/v1/chat/completions",
                        R"({"model": "demo", "messages": [{"role": "tool", "content": "x"}]})");
  CHECK(r.status == 400);
  CHECK_THAT(json::parse(r.body)["error"]["message"].get<std::string>(), Contains("Unknown role: tool"));
}

TEST_CASE("A chat template's refusal never names a file of the server") {
  // The demo model's template comes from models/demo/chat_template.jinja (or
  // its tokenizer_config.json): a client must not learn that path.
  DemoServedModel demo;
  FakeSequenceService service;
  TestServer server(demo.model, service);
  TestResponse r = Send(server.port(), "POST", "/v1/chat/completions",
                        R"({"model": "demo", "messages": [{"role": "tool", "content": "x"}]})");
  CHECK(r.status == 400);
  const std::string message = json::parse(r.body)["error"]["message"].get<std::string>();
  CHECK_THAT(message, StartsWith("The chat template could not render these messages: chat template: "));
  CHECK(message.find(CLUSTER_SOURCE_DIR) == std::string::npos);
  CHECK(message.find("models/demo") == std::string::npos);
  CHECK(message.find(".json") == std::string::npos);
  CHECK(message.find(".jinja") == std::string::npos);
}

TEST_CASE("A full scheduler queue is 429 with Retry-After") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.reject_with = cluster::ResourceExhaustedError("the queue holds 256 requests");
  TestServer server(demo.model, service);
  TestResponse r = Send(server.port(), "POST", "/v1/completions", R"({"model": "demo", "prompt": "x"})");
  CHECK(r.status == 429);
  CHECK(r.headers["retry-after"] == "1");
  json error = json::parse(r.body)["error"];
  CHECK(error["message"] == "The server is busy: the queue holds 256 requests. Retry after a second.");
  CHECK(error["type"] == "rate_limit_error");
  CHECK(error["code"] == "rate_limit_exceeded");
}

TEST_CASE("With an API key, every route but /health needs the Bearer key, else 401") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service, ApiKey::FromString("sk-secret"));
  const std::string body = R"({"model": "demo", "prompt": "x"})";

  TestResponse none = Send(server.port(), "POST", "/v1/completions", body);
  CHECK(none.status == 401);
  CHECK(none.headers["www-authenticate"] == "Bearer");
  CHECK(json::parse(none.body)["error"]["message"] ==
        "You didn't provide an API key. Send it in an Authorization header using Bearer auth ('Authorization: "
        "Bearer KEY').");
  TestResponse wrong = Send(server.port(), "POST", "/v1/completions", body, {{"Authorization", "Bearer sk-guess"}});
  CHECK(wrong.status == 401);
  CHECK(json::parse(wrong.body)["error"]["code"] == "invalid_api_key");
  CHECK_THAT(wrong.body, !Contains("sk-secret"));
  CHECK(Send(server.port(), "GET", "/v1/models").status == 401);
  CHECK(Send(server.port(), "GET", "/metrics").status == 401);
  CHECK(Send(server.port(), "GET", "/nowhere").status == 401);  // routes are not revealed without the key

  CHECK(Send(server.port(), "GET", "/health").status == 200);
  CHECK(Send(server.port(), "POST", "/v1/completions", body, {{"Authorization", "Bearer sk-secret"}}).status == 200);
  CHECK(Send(server.port(), "GET", "/v1/models", "", {{"Authorization", "Bearer sk-secret"}}).status == 200);
}

TEST_CASE("A completion request reaches the scheduler as token ids and resolved sampling settings") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service);
  TestResponse r = Send(server.port(), "POST", "/v1/completions",
                        R"({"model": "demo", "prompt": "Once upon", "max_tokens": 7, "n": 2, "seed": 10,
                            "temperature": 0.5, "top_k": -1, "stop": "."})");
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"] == "application/json");
  json body = json::parse(r.body);
  CHECK(body["object"] == "text_completion");
  CHECK_THAT(body["id"].get<std::string>(), StartsWith("cmpl-"));
  CHECK(body["choices"][0]["text"] == "Hello");
  CHECK(body["choices"][1]["text"] == "Hello");
  const auto prompt = demo.tokenizer->Encode("Once upon", /*add_special_tokens=*/true);
  CHECK(body["usage"]["prompt_tokens"] == prompt.size());
  CHECK(body["usage"]["completion_tokens"] == 4);

  REQUIRE(service.submitted.size() == 2);
  CHECK(service.submitted[0] == prompt);
  CHECK(service.params[0].max_tokens == 7);
  CHECK(service.params[0].temperature == 0.5);
  CHECK(service.params[0].top_k == 0);
  CHECK(service.params[0].stop == std::vector<std::string>{"."});
  CHECK(*service.params[0].seed == 10);
  CHECK(*service.params[1].seed == 11);  // choice j samples with seed + j
}

TEST_CASE("A chat request is rendered by the model's template and tokenized without added specials") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service);
  TestResponse r = Send(server.port(), "POST", "/v1/chat/completions",
                        R"({"model": "demo", "messages": [{"role": "user", "content": "Hi"}]})");
  REQUIRE(r.status == 200);
  json body = json::parse(r.body);
  CHECK(body["object"] == "chat.completion");
  CHECK(body["choices"][0]["message"] == json{{"role", "assistant"}, {"content", "Hello"}});
  auto text = demo.model.chat_template->Render({ChatMessage{"user", "Hi", std::nullopt}}, true);
  REQUIRE(text.ok());
  REQUIRE(service.submitted.size() == 1);
  CHECK(service.submitted[0] == demo.tokenizer->Encode(*text, false));
  // No max_tokens: what the context leaves.
  CHECK(service.params[0].max_tokens == 512 - static_cast<std::int64_t>(service.submitted[0].size()));
}

TEST_CASE("A streamed answer is chunked text/event-stream ending with data: [DONE]") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  TestResponse r = connection.Send("POST", "/v1/completions",
                                   R"({"model": "demo", "prompt": "x", "stream": true,
                                       "stream_options": {"include_usage": true}})");
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"] == "text/event-stream");
  CHECK(r.headers["transfer-encoding"] == "chunked");
  CHECK(r.headers["cache-control"] == "no-cache");
  std::vector<std::string> events;
  for (std::size_t pos = 0; pos < r.body.size();) {
    const std::size_t end = r.body.find("\n\n", pos);
    REQUIRE(end != std::string::npos);
    events.push_back(r.body.substr(pos, end - pos));
    pos = end + 2;
  }
  REQUIRE(events.size() == 4);
  CHECK(json::parse(events[0].substr(6))["choices"][0]["text"] == "Hel");
  CHECK(json::parse(events[1].substr(6))["choices"][0]["finish_reason"] == "stop");
  CHECK(json::parse(events[2].substr(6))["usage"]["completion_tokens"] == 2);
  CHECK(events[3] == "data: [DONE]");
  // The connection stays usable.
  CHECK(connection.Send("GET", "/health").status == 200);
}

TEST_CASE("Several requests travel on one kept-alive connection, pipelined or not") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  for (int i = 0; i < 3; ++i) {
    CHECK(connection.Send("POST", "/v1/completions", R"({"model": "demo", "prompt": "x"})").status == 200);
  }
  const std::string body = R"({"model": "demo", "prompt": "x"})";
  const std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                              "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  connection.Write(request + request + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(json::parse(connection.Read().body)["choices"][0]["text"] == "Hello");
  CHECK(json::parse(connection.Read().body)["choices"][0]["text"] == "Hello");
  CHECK(connection.Read().body == R"({"status":"ok"})");
}

TEST_CASE("A client that disconnects mid-stream has its sequences cancelled at once") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.hold = true;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  const std::string body = R"({"model": "demo", "prompt": "x", "stream": true, "n": 2})";
  connection.Write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(service.WaitHeld(2));
  service.Deliver(1, Partial("tok", {5}));
  CHECK_THAT(connection.ReadRaw(100), StartsWith("HTTP/1.1 200 OK\r\n"));
  const auto left = std::chrono::steady_clock::now();
  connection.Close();
  REQUIRE(service.WaitCancelled(2));
  CHECK(std::chrono::steady_clock::now() - left < std::chrono::seconds(2));
  CHECK(service.cancelled_ids() == std::vector<SequenceId>{1, 2});
  CHECK(service.held_count() == 0);
}

TEST_CASE("A client that disconnects while waiting for a whole answer is cancelled too") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.hold = true;
  TestServer server(demo.model, service);
  {
    TestConnection connection(server.port());
    const std::string body = R"({"model": "demo", "messages": [{"role": "user", "content": "x"}]})";
    connection.Write("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
    REQUIRE(service.WaitHeld(1));
  }
  REQUIRE(service.WaitCancelled(1));
  CHECK(service.cancelled_ids() == std::vector<SequenceId>{1});
}

TEST_CASE("Stopping the server cancels pending generations") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.hold = true;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  const std::string body = R"({"model": "demo", "prompt": "x", "stream": true})";
  connection.Write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n" + body);
  REQUIRE(service.WaitHeld(1));
  server.Stop();
  CHECK(service.cancelled_ids() == std::vector<SequenceId>{1});
}

TEST_CASE("Malformed HTTP is answered 400 and the connection closed") {
  DemoServedModel demo;
  FakeSequenceService service;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  connection.Write("NOT HTTP AT ALL\r\n\r\n");
  const std::string raw = connection.ReadAll();
  CHECK_THAT(raw, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  CHECK_THAT(raw, Contains("Connection: close"));
  CHECK_THAT(raw, Contains("Malformed HTTP request"));
}

TEST_CASE("An HTTP/1.0 client gets a close-delimited event stream") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  const std::string body = R"({"model": "demo", "prompt": "x", "stream": true})";
  connection.Write("POST /v1/completions HTTP/1.0\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                   body);
  const std::string raw = connection.ReadAll();
  CHECK_THAT(raw, StartsWith("HTTP/1.1 200 OK\r\n"));
  CHECK_THAT(raw, !Contains("Transfer-Encoding"));
  CHECK_THAT(raw, Contains("Connection: close\r\n\r\ndata: {"));
  CHECK(raw.substr(raw.size() - 14) == "data: [DONE]\n\n");
}

TEST_CASE("/health, /v1/models and /metrics answer without touching the scheduler's queue") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  service.metrics.kv_blocks_total = 64;
  service.metrics.kv_blocks_free = 64;
  TestServer server(demo.model, service, std::nullopt, {}, [] { return ModelTiming{3, 0.25}; });
  TestResponse health = Send(server.port(), "GET", "/health");
  CHECK(health.status == 200);
  CHECK(health.body == R"({"status":"ok"})");

  json models = json::parse(Send(server.port(), "GET", "/v1/models").body);
  CHECK(models["object"] == "list");
  CHECK(models["data"][0]["id"] == "demo");
  CHECK(models["data"][0]["object"] == "model");
  CHECK(models["data"][0]["max_model_len"] == 512);

  Send(server.port(), "POST", "/v1/completions", R"({"model": "demo", "prompt": "x"})");
  Send(server.port(), "POST", "/v1/completions", R"({"model": "nope", "prompt": "x"})");
  TestResponse metrics = Send(server.port(), "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK_THAT(metrics.headers["content-type"], StartsWith("text/plain; version=0.0.4"));
  CHECK_THAT(metrics.body, Contains("infer_http_requests_total{endpoint=\"/v1/completions\",outcome=\"ok\"} 1\n"));
  CHECK_THAT(metrics.body,
             Contains("infer_http_requests_total{endpoint=\"/v1/completions\",outcome=\"client_error\"} 1\n"));
  CHECK_THAT(metrics.body, Contains("infer_http_requests_total{endpoint=\"/health\",outcome=\"ok\"} 1\n"));
  CHECK_THAT(metrics.body, Contains("infer_kv_blocks_free 64\n"));
  CHECK_THAT(metrics.body, Contains("infer_model_forward_calls_total 3\n"));
}

TEST_CASE("Expect: 100-continue is answered before the body is sent") {
  DemoServedModel demo;
  FakeSequenceService service;
  service.script = SayHello;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  const std::string body = R"({"model": "demo", "prompt": "x"})";
  connection.Write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
                   std::to_string(body.size()) + "\r\n\r\n");
  CHECK(connection.ReadRaw(25) == "HTTP/1.1 100 Continue\r\n\r\n");
  connection.Write(body);
  TestResponse r = connection.Read();
  CHECK(r.status == 200);
  CHECK(json::parse(r.body)["choices"][0]["text"] == "Hello");
}

TEST_CASE("Headers larger than 16 KiB are answered 431") {
  DemoServedModel demo;
  FakeSequenceService service;
  TestServer server(demo.model, service);
  TestResponse r = Send(server.port(), "GET", "/health", "", {{"X-Padding", std::string(20000, 'a')}});
  CHECK(r.status == 431);
  CHECK(json::parse(r.body)["error"]["message"] == "The request headers are larger than 16384 bytes.");
}
