// The HTTP server's limits through real loopback sockets (docs/server.md,
// "Limits"): whole-request bytes including chunk framing and trailers,
// Transfer-Encoding it cannot frame, per-read, whole-request, idle and
// write timeouts, and the connection cap.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "fakes.h"
#include "http_test_client.h"
#include "test_server.h"

using namespace engine::server;
using namespace engine::server::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kChunkedHead = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";

// How many HTTP status lines a raw answer holds.
int StatusLines(const std::string& raw) {
  int count = 0;
  for (std::size_t at = raw.find("HTTP/1.1 "); at != std::string::npos; at = raw.find("HTTP/1.1 ", at + 1)) ++count;
  return count;
}

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

TEST_CASE("Transfer-Encoding chunked, gzip is answered 400 and nothing after it is read as a request") {
  // The 400 used to come with the connection kept open, and the bytes after
  // it were answered as a request of their own (request smuggling).
  DemoServedModel demo;
  FakeSequenceService service;
  TestServer server(demo.model, service);
  TestConnection connection(server.port());
  connection.Write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
                   "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string raw = connection.ReadAll();
  CHECK_THAT(raw, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  CHECK_THAT(raw, Contains("Connection: close\r\n"));
  CHECK_THAT(raw, Contains("does not end with chunked"));
  CHECK(StatusLines(raw) == 1);
  CHECK(service.submitted.empty());
}

TEST_CASE("A chunk-size line of leading zeros, chunk extensions or trailers cannot grow the server") {
  DemoServedModel demo;
  FakeSequenceService service;
  RequestLimits limits;
  limits.max_body_bytes = 4096;
  TestServer server(demo.model, service, ApiKey::FromString("sk-secret"), limits);

  SECTION("leading zeros: 400 once past 16 KiB, before the API key is even looked at") {
    TestConnection connection(server.port());
    connection.TryWrite(kChunkedHead + std::string(1 << 20, '0'));
    const std::string raw = connection.ReadAll();
    CHECK_THAT(raw, StartsWith("HTTP/1.1 400 Bad Request\r\n"));
    CHECK_THAT(raw, Contains("a chunk-size line with its extensions, or the trailers, exceed 16384 bytes"));
  }
  SECTION("chunk extensions: 413 once the request passes body + framing allowance") {
    TestConnection connection(server.port());
    std::string bytes = kChunkedHead;
    for (int i = 0; i < 1000; ++i) bytes += "1;e=" + std::string(1000, 'e') + "\r\na\r\n";
    connection.TryWrite(bytes + "0\r\n\r\n");
    const std::string raw = connection.ReadAll();
    CHECK_THAT(raw, StartsWith("HTTP/1.1 413 Payload Too Large\r\n"));
    CHECK_THAT(raw, Contains("The request is larger than this server's limit of 69632 bytes"));
  }
  SECTION("a trailer over 64 KiB: 400, the server goes on") {
    // It used to throw out of the session into the I/O loop.
    TestConnection connection(server.port());
    connection.TryWrite(kChunkedHead + "1\r\na\r\n0\r\nX-Big: " + std::string(70 << 10, 't') + "\r\n\r\n");
    CHECK_THAT(connection.ReadAll(), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  }
  CHECK(Send(server.port(), "GET", "/health").status == 200);
}

TEST_CASE("A request that comes too slowly is answered 408, and an idle connection is closed") {
  DemoServedModel demo;
  FakeSequenceService service;
  ServerOptions options = TestServerOptions();
  options.session.idle_timeout = std::chrono::seconds(1);
  options.session.read_timeout = std::chrono::seconds(1);
  options.session.request_timeout = std::chrono::seconds(2);
  TestServer server(options, demo.model, service);
  const std::string kTimeout =
      "The request did not arrive in time: each read must bring data within 1 s and the whole request within 2 s.";

  SECTION("a read that brings nothing for read_timeout") {
    TestConnection connection(server.port());
    connection.Write("GET /health HTTP/1.1\r\n");  // and nothing more
    const auto start = Clock::now();
    TestResponse r = connection.Read();
    CHECK(SecondsSince(start) < 5);
    CHECK(r.status == 408);
    CHECK(r.headers["connection"] == "close");
    CHECK(json::parse(r.body)["error"]["message"] == kTimeout);
  }
  SECTION("a request trickling in one byte every half second passes request_timeout") {
    TestConnection connection(server.port());
    const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(40, 's') + "\r\n\r\n";
    const auto start = Clock::now();
    std::size_t sent = 0;
    while (sent < request.size() && connection.TryWrite(request.substr(sent, 1))) {
      ++sent;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      if (SecondsSince(start) > 3) break;
    }
    const std::string raw = connection.ReadAll();
    CHECK_THAT(raw, StartsWith("HTTP/1.1 408 Request Timeout\r\n"));
    CHECK(SecondsSince(start) < 6);
  }
  SECTION("a connection that never sends a byte is closed after idle_timeout, without an answer") {
    TestConnection connection(server.port());
    const auto start = Clock::now();
    CHECK(connection.ReadAll().empty());
    CHECK(SecondsSince(start) < 5);
  }
  SECTION("a kept-alive connection waits idle_timeout for its next request") {
    TestConnection connection(server.port());
    CHECK(connection.Send("GET", "/health").status == 200);
    const auto start = Clock::now();
    CHECK(connection.ReadAll().empty());
    CHECK(SecondsSince(start) < 5);
  }
}

TEST_CASE("A client that stops reading its answer counts as gone after the write timeout") {
  // Its generation is cancelled instead of holding a slot and the queued
  // answer for as long as the client likes.
  DemoServedModel demo;
  FakeSequenceService service;
  service.hold = true;
  ServerOptions options = TestServerOptions();
  options.session.write_timeout = std::chrono::seconds(1);
  TestServer server(options, demo.model, service);
  TestConnection connection(server.port());
  const std::string body = R"({"model": "demo", "prompt": "x", "stream": true})";
  connection.Write("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                   "\r\n\r\n" + body);  // and never reads
  REQUIRE(service.WaitHeld(1));
  // 32 MiB of events: more than the two sockets' buffers on loopback hold.
  for (int i = 0; i < 32; ++i) service.Deliver(1, Partial(std::string(1 << 20, 'x'), {5}));
  const auto start = Clock::now();
  REQUIRE(service.WaitCancelled(1));
  CHECK(SecondsSince(start) < 5);
  CHECK(Send(server.port(), "GET", "/health").status == 200);
}

TEST_CASE("A connection beyond max_connections gets 503 and is closed, and a freed slot serves again") {
  DemoServedModel demo;
  FakeSequenceService service;
  ServerOptions options = TestServerOptions();
  options.max_connections = 3;
  TestServer server(options, demo.model, service);
  std::vector<std::unique_ptr<TestConnection>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<TestConnection>(server.port()));
  // Let the server accept the three before the fourth comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  TestConnection refused(server.port());
  const std::string raw = refused.ReadAll();
  CHECK(raw ==
        "HTTP/1.1 503 Service Unavailable\r\nServer: infer-engine\r\nContent-Type: application/json\r\n"
        "Content-Length: 153\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
        R"({"error":{"code":"too_many_connections","message":"The server has 3 open connections, its limit; )"
        R"(retry in a second.","param":null,"type":"server_error"}})");

  idle.front()->Close();
  idle.erase(idle.begin());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(Send(server.port(), "GET", "/health").status == 200);
}

TEST_CASE("The connection limit leaves room for the server's own descriptors") {
  CHECK(EffectiveConnectionLimit(512, 1024) == 512);
  CHECK(EffectiveConnectionLimit(512, 256) == 192);
  CHECK(EffectiveConnectionLimit(512, 10) == 1);
  CHECK(EffectiveConnectionLimit(512, std::numeric_limits<std::size_t>::max()) == 512);
}
