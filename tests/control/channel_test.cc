// The agent protocol's transport (control/channel.h): mutual TLS against the
// cluster CA, framing, limits, streaming and deadlines, with a real server on
// 127.0.0.1 and its io_context on a thread of its own.
#include "control/channel.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "control/frame.h"
#include "control/tls.h"
#include "control_test_util.h"

using namespace cluster;
using namespace cluster::control;
using cluster::control::testing::TestCluster;
using nlohmann::json;
using std::chrono::milliseconds;
namespace asio = boost::asio;

namespace {

constexpr milliseconds kPatience{5000};

class RunningServer;
using TestHandler = std::function<void(Request, std::shared_ptr<Responder>, RunningServer&)>;

// A ControlServer on 127.0.0.1, port 0, run by a thread of its own.
class RunningServer {
 public:
  RunningServer(const Credentials& credentials, TestHandler handler, ServerLimits limits = {})
      : handler_(std::move(handler)) {
    auto server = ControlServer::Listen(io_, "127.0.0.1", 0, credentials,
                                        [this](Request request, std::shared_ptr<Responder> responder) {
                                          ++handled;
                                          {
                                            std::lock_guard<std::mutex> lock(mutex_);
                                            peer_name_ = responder->PeerName();
                                          }
                                          handler_(std::move(request), std::move(responder), *this);
                                        },
                                        limits);
    REQUIRE(server.ok());
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~RunningServer() {
    work_.reset();
    io_.stop();
    thread_.join();
    held_.clear();  // before the io_context their connections belong to
  }

  int port() const { return server_->port(); }
  std::string peer_name() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peer_name_;
  }
  // Keeps a Responder unanswered (handler thread only).
  void Hold(std::shared_ptr<Responder> responder) { held_.push_back(std::move(responder)); }

  std::atomic<int> handled{0};

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  std::vector<std::shared_ptr<Responder>> held_;
  TestHandler handler_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
  std::mutex mutex_;
  std::string peer_name_;
};

HelloReply Hello() {
  HelloReply hello;
  hello.agent_version = "test";
  hello.cluster = "lab";
  hello.host = "h1";
  return hello;
}

void AnswerHello(Request, std::shared_ptr<Responder> responder, RunningServer&) {
  responder->Send(ToJson(Hello()), false);
}

std::string Where(const RunningServer& server) { return "127.0.0.1:" + std::to_string(server.port()); }

// Connects and sends hello; the first error on the way.
Status ConnectAndHello(const RunningServer& server, const Credentials& credentials) {
  auto client = ControlClient::Connect("127.0.0.1", server.port(), credentials, kPatience);
  if (!client.ok()) return client.status();
  return (*client)->Call(HelloRequest{}, kPatience).status();
}

// Waits up to 10 s for `flag`, set by a handler on the server's thread.
bool WaitUntil(const std::atomic<bool>& flag) {
  for (int i = 0; i < 1000 && !flag; ++i) std::this_thread::sleep_for(milliseconds(10));
  return flag;
}

// A TLS client that writes raw bytes, for what ControlClient never sends.
class RawClient {
 public:
  RawClient(const Credentials& credentials, int port) {
    auto context = tls::MakeContext(credentials, tls::Role::kClient);
    REQUIRE(context.ok());
    context_ = std::move(*context);
    stream_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, *context_);
    stream_->lowest_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    stream_->handshake(asio::ssl::stream_base::client);
  }
  void Write(const std::string& bytes) { asio::write(*stream_, asio::buffer(bytes)); }
  void WriteFrame(const std::string& payload) {
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::string header = {static_cast<char>(n >> 24), static_cast<char>((n >> 16) & 0xff),
                          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
    Write(header + payload);
  }
  json ReadFrame() {
    frame::Header header{};
    asio::read(*stream_, asio::buffer(header));
    std::string payload(frame::PayloadLength(header), '\0');
    asio::read(*stream_, asio::buffer(payload));
    return json::parse(payload);
  }
  // True when the server ended the connection.
  bool Ended() {
    char byte;
    boost::system::error_code ec;
    stream_->read_some(asio::buffer(&byte, 1), ec);
    return static_cast<bool>(ec);
  }
  // True when the server has ended the connection by now: drops, without
  // waiting, whatever the socket holds and looks for its end. (TLS is of no
  // use on this client afterwards.)
  bool EndedNow() {
    auto& socket = stream_->next_layer();
    socket.non_blocking(true);
    std::vector<char> buffer(1 << 16);
    for (;;) {
      boost::system::error_code ec;
      socket.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) return false;
      if (ec) return true;  // end of stream or reset
    }
  }

 private:
  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
};

}  // namespace

TEST_CASE("An agent answers hello from the operator over mutual TLS", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerHello);
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(client.ok());
  for (int i = 0; i < 2; ++i) {  // one connection carries request after request
    auto reply = (*client)->Call(HelloRequest{}, kPatience);
    REQUIRE(reply.ok());
    CHECK_FALSE(reply->more);
    auto hello = HelloReplyFromJson(reply->body);
    REQUIRE(hello.ok());
    CHECK(hello->host == "h1");
  }
  CHECK(server.handled == 2);
  CHECK(server.peer_name() == "clusterctl operator");
  CHECK((*client)->LocalAddress() == "127.0.0.1");
}

TEST_CASE("Agents call each other with their own certificates", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerHello);
  auto peer = cluster.ca->IssueAgent("h2", {"127.0.0.1"});
  REQUIRE(peer.ok());
  CHECK(ConnectAndHello(server, *peer).ok());
  CHECK(server.peer_name() == "h2");
}

TEST_CASE("A client without a certificate is refused and no request is handled", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerHello);
  Credentials anonymous{cluster.agent.ca_pem, "", ""};
  Status status = ConnectAndHello(server, anonymous);
  CHECK(status.code() == StatusCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::StartsWith(Where(server) + ": "));
  CHECK_THAT(status.message(), Catch::Contains("certificate"));
  CHECK(server.handled == 0);
}

TEST_CASE("A client whose certificate comes from another CA is refused", "[channel]") {
  TestCluster cluster;
  TestCluster stranger;
  RunningServer server(cluster.agent, AnswerHello);
  // It trusts this cluster's CA but presents another CA's certificate.
  Credentials foreign{cluster.agent.ca_pem, stranger.operator_credentials.cert_pem,
                      stranger.operator_credentials.key_pem};
  Status status = ConnectAndHello(server, foreign);
  CHECK(status.code() == StatusCode::kUnavailable);
  CHECK_THAT(status.message(), Catch::Contains("unknown ca"));
  CHECK(server.handled == 0);
}

TEST_CASE("A client refuses an agent whose certificate comes from another CA", "[channel]") {
  TestCluster cluster;
  TestCluster stranger;
  RunningServer server(stranger.agent, AnswerHello);
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == StatusCode::kUnavailable);
  CHECK(client.status().message() == Where(server) +
                                         ": TLS handshake failed: certificate verify failed (unable to get local "
                                         "issuer certificate)");
  CHECK(server.handled == 0);
}

TEST_CASE("An operator certificate cannot serve the protocol", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.operator_credentials, AnswerHello);
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.agent, kPatience);
  REQUIRE_FALSE(client.ok());
  CHECK_THAT(client.status().message(), Catch::Contains("TLS handshake failed: certificate verify failed"));
  CHECK_THAT(client.status().message(), Catch::Contains("unsuitable certificate purpose"));
}

TEST_CASE("A request frame over 1 MiB gets the error reply and the connection ends", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerHello);
  RawClient raw(cluster.operator_credentials, server.port());
  const std::uint32_t size = (2u << 20) + 1;
  raw.Write(std::string{static_cast<char>(size >> 24), static_cast<char>((size >> 16) & 0xff),
                        static_cast<char>((size >> 8) & 0xff), static_cast<char>(size & 0xff)});
  json reply = raw.ReadFrame();
  CHECK(reply["ok"] == false);
  CHECK(reply["error"]["code"] == "invalid_argument");
  CHECK(reply["error"]["message"] == "request of 2097153 bytes exceeds the 1048576-byte limit");
  CHECK(raw.Ended());
  CHECK(server.handled == 0);
}

TEST_CASE("Malformed JSON or an unknown type gets an error reply and the connection stays usable", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerHello);
  RawClient raw(cluster.operator_credentials, server.port());
  raw.WriteFrame("{\"type\": ");
  json reply = raw.ReadFrame();
  CHECK(reply["ok"] == false);
  CHECK(reply["error"]["code"] == "invalid_argument");
  CHECK_THAT(reply["error"]["message"].get<std::string>(), Catch::StartsWith("malformed JSON: "));

  raw.WriteFrame(R"({"type": "exec", "body": {"argv": ["sh", "-c", "id"]}})");
  reply = raw.ReadFrame();
  CHECK(reply["error"]["message"] ==
        "unknown request type 'exec'; this agent accepts: hello, facts, probe, start, status, logs, stop, "
        "gang-failure, shutdown, comm-check, gang-restart");

  raw.WriteFrame(R"({"type": "hello", "body": {}})");
  reply = raw.ReadFrame();
  CHECK(reply["ok"] == true);
  CHECK(reply["more"] == false);
  CHECK(reply["body"]["host"] == "h1");
  CHECK(server.handled == 1);
}

TEST_CASE("A client refuses to send a request over 1 MiB", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerHello);
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(client.ok());
  StopRequest huge{std::string(kMaxFrameBytes, 'x')};
  auto reply = (*client)->Call(huge, kPatience);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(reply.status().message(), Catch::EndsWith("bytes exceeds the 1048576-byte limit"));
  CHECK((*client)->Call(HelloRequest{}, kPatience).ok());  // nothing was sent: the connection is fine
}

TEST_CASE("A handler's failure reaches the client with its code and message", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, [](Request, std::shared_ptr<Responder> responder, RunningServer&) {
    responder->Fail(NotFoundError("no unit 'rank 9' on h1"));
  });
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(client.ok());
  auto reply = (*client)->Call(LogsRequest{"rank 9"}, kPatience);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kNotFound);
  CHECK(reply.status().message() == "no unit 'rank 9' on h1");
  CHECK((*client)->Call(HelloRequest{}, kPatience).status().code() == StatusCode::kNotFound);
}

TEST_CASE("A reply over 1 MiB becomes a resource-exhausted error", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, [](Request, std::shared_ptr<Responder> responder, RunningServer&) {
    responder->Send(json{{"text", std::string(kMaxFrameBytes, 'x')}}, false);
  });
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(client.ok());
  auto reply = (*client)->Call(HelloRequest{}, kPatience);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kResourceExhausted);
  CHECK_THAT(reply.status().message(), Catch::StartsWith("reply of "));
}

TEST_CASE("A streaming reply is read frame by frame until more is false", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, [](Request request, std::shared_ptr<Responder> responder, RunningServer&) {
    if (!std::holds_alternative<LogsRequest>(request)) {
      responder->Send(ToJson(Hello()), false);
      return;
    }
    for (int i = 0; i < 3; ++i) {
      responder->Send(ToJson(LogsReply{{LogLine{"rank 0", i, "line " + std::to_string(i)}}}), true);
    }
    responder->Send(ToJson(LogsReply{{LogLine{"rank 0", 3, "last"}}}), false);
  });
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(client.ok());
  auto first = (*client)->Call(LogsRequest{"", std::nullopt, 0, -1, true}, kPatience);
  REQUIRE(first.ok());
  CHECK(first->more);
  CHECK((*client)->Call(HelloRequest{}, kPatience).status().code() == StatusCode::kFailedPrecondition);
  std::vector<std::string> texts = {LogsReplyFromJson(first->body)->lines[0].text};
  bool more = first->more;
  while (more) {
    auto next = (*client)->Next(kPatience);
    REQUIRE(next.ok());
    texts.push_back(LogsReplyFromJson(next->body)->lines[0].text);
    more = next->more;
  }
  CHECK(texts == std::vector<std::string>{"line 0", "line 1", "line 2", "last"});
  CHECK((*client)->Next(kPatience).status().code() == StatusCode::kFailedPrecondition);
  CHECK((*client)->Call(HelloRequest{}, kPatience).ok());  // the next request is read after the final reply
}

TEST_CASE("A call times out when the agent never answers, and the connection is closed", "[channel]") {
  TestCluster cluster;
  RunningServer server(cluster.agent, [](Request, std::shared_ptr<Responder> responder, RunningServer& self) {
    self.Hold(std::move(responder));
  });
  auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(client.ok());
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*client)->Call(StatusRequest{}, milliseconds(300));
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kDeadlineExceeded);
  CHECK(reply.status().message() == Where(server) + ": timed out after 300 ms waiting for the reply to 'status'");
  CHECK(waited < std::chrono::seconds(3));
  auto again = (*client)->Call(HelloRequest{}, kPatience);
  CHECK(again.status().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(again.status().message(), Catch::Contains("connect again"));
}

TEST_CASE("Connecting where nothing listens says connection refused", "[channel]") {
  TestCluster cluster;
  asio::io_context io;
  asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = probe.local_endpoint().port();
  probe.close();
  auto client = ControlClient::Connect("127.0.0.1", port, cluster.operator_credentials, kPatience);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == StatusCode::kUnavailable);
  CHECK(client.status().message() == "127.0.0.1:" + std::to_string(port) + ": connection refused");
}

TEST_CASE("Connecting to a peer that never completes the TLS handshake times out", "[channel]") {
  TestCluster cluster;
  asio::io_context io;
  // Listens (the kernel accepts the TCP connection) but never speaks TLS.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const int port = silent.local_endpoint().port();
  auto client = ControlClient::Connect("127.0.0.1", port, cluster.operator_credentials, milliseconds(1500));
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == StatusCode::kUnavailable);
  CHECK(client.status().message() ==
        "127.0.0.1:" + std::to_string(port) + ": timed out after 1.5 s in the TLS handshake");
}

TEST_CASE("A client connects to IP addresses only", "[channel]") {
  TestCluster cluster;
  auto client = ControlClient::Connect("agent.example", 7411, cluster.operator_credentials, kPatience);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().message() == "agent.example:7411: 'agent.example' is not an IP address");
}

TEST_CASE("A server cannot listen on a port already taken and says where", "[channel]") {
  TestCluster cluster;
  RunningServer first(cluster.agent, AnswerHello);
  asio::io_context io;
  auto second = ControlServer::Listen(io, "127.0.0.1", first.port(), cluster.agent,
                                      [](Request, std::shared_ptr<Responder>) {});
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kUnavailable);
  CHECK_THAT(second.status().message(), Catch::StartsWith("cannot listen on " + Where(first) + ": "));
}

namespace {

void AnswerEmpty(Request, std::shared_ptr<Responder> responder, RunningServer&) {
  responder->Send(json::object(), false);
}

GangFailureRequest FailureOf(const std::string& host) {
  GangFailureRequest request;
  request.deployment = "d1";
  request.failure.host = host;
  request.failure.unit = "rank 1";
  request.failure.message = "exited with code 1";
  return request;
}

// A plain TCP connection to the server that never speaks TLS.
struct RawTcp {
  asio::io_context io;
  asio::ip::tcp::socket socket{io};
  explicit RawTcp(int port) {
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  }
  // True when the server closed it (read returns EOF or an error at once).
  bool ClosedByServer() {
    socket.non_blocking(true);
    char byte;
    boost::system::error_code ec;
    socket.read_some(asio::buffer(&byte, 1), ec);
    return ec && ec != asio::error::would_block;
  }
};

}  // namespace

TEST_CASE("Requests that change state need the operator's certificate, an agent's says hello and reports itself",
          "[channel]") {
  // Any certificate of the cluster CA could make every request: root on one
  // host, with its agent key, could start, stop or shut down every other one.
  TestCluster cluster;
  RunningServer server(cluster.agent, AnswerEmpty);
  auto h2 = cluster.ca->IssueAgent("h2", {"127.0.0.1"});
  REQUIRE(h2.ok());
  auto agent = ControlClient::Connect("127.0.0.1", server.port(), *h2, kPatience);
  REQUIRE(agent.ok());
  CHECK((*agent)->Call(HelloRequest{}, kPatience).ok());
  CHECK((*agent)->Call(FailureOf("h2"), kPatience).ok());
  CHECK(server.handled == 2);

  StartRequest start;
  start.deployment = "d1";
  const std::vector<std::pair<Request, std::string>> refused = {
      {start, "'start' needs the operator's certificate; this connection presented the agent certificate of h2"},
      {StopRequest{}, "'stop' needs the operator's certificate; this connection presented the agent certificate of h2"},
      {ShutdownRequest{}, "'shutdown' needs the operator's certificate; this connection presented the agent "
                          "certificate of h2"},
      {LogsRequest{}, "'logs' needs the operator's certificate; this connection presented the agent certificate of h2"},
      {FailureOf("h1"), "'gang-failure' from h2 names host h1; an agent reports only the failures of its own units"},
  };
  for (const auto& [request, message] : refused) {
    auto reply = (*agent)->Call(request, kPatience);  // the connection stays usable after each
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.status().code() == StatusCode::kPermissionDenied);
    CHECK(reply.status().message() == message);
  }
  CHECK(server.handled == 2);  // no refused request reached the handler

  auto operator_client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
  REQUIRE(operator_client.ok());
  CHECK((*operator_client)->Call(start, kPatience).ok());
  CHECK((*operator_client)->Call(StopRequest{}, kPatience).ok());
  auto failure = (*operator_client)->Call(FailureOf("h1"), kPatience);
  CHECK(failure.status().message() ==
        "'gang-failure' needs an agent's certificate; this connection presented the operator's certificate");
}

TEST_CASE("Raw TCP connections that never speak TLS do not keep the operator out", "[channel]") {
  TestCluster cluster;
  ServerLimits limits;
  limits.max_handshakes = 4;
  limits.handshake_timeout = std::chrono::seconds(60);  // so that only eviction can make room
  RunningServer server(cluster.agent, AnswerHello, limits);
  std::vector<std::unique_ptr<RawTcp>> raw;
  for (int i = 0; i < 20; ++i) raw.push_back(std::make_unique<RawTcp>(server.port()));
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(ConnectAndHello(server, cluster.operator_credentials).ok());
  int held = 0;
  for (auto& r : raw) held += r->ClosedByServer() ? 0 : 1;
  CHECK(held <= 4);
}

TEST_CASE("Connections beyond the limit are closed, and an idle authenticated peer is dropped", "[channel]") {
  TestCluster cluster;
  ServerLimits limits;
  limits.max_connections = 3;
  limits.idle_timeout = milliseconds(1500);
  RunningServer server(cluster.agent, AnswerHello, limits);
  std::vector<std::unique_ptr<ControlClient>> clients;
  for (int i = 0; i < 3; ++i) {
    auto client = ControlClient::Connect("127.0.0.1", server.port(), cluster.operator_credentials, kPatience);
    REQUIRE(client.ok());
    REQUIRE((*client)->Call(HelloRequest{}, kPatience).ok());
    clients.push_back(std::move(*client));
  }
  Status fourth = ConnectAndHello(server, cluster.operator_credentials);
  CHECK(fourth.code() == StatusCode::kUnavailable);

  clients.pop_back();
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(ConnectAndHello(server, cluster.operator_credentials).ok());

  // Held without a request past idle_timeout, a connection is closed.
  std::this_thread::sleep_for(milliseconds(2500));
  auto late = clients.front()->Call(HelloRequest{}, kPatience);
  CHECK(late.status().code() == StatusCode::kUnavailable);
}

TEST_CASE("A connection that never completes its TLS handshake is closed after the handshake timeout", "[channel]") {
  TestCluster cluster;
  ServerLimits limits;
  limits.handshake_timeout = milliseconds(1000);
  RunningServer server(cluster.agent, AnswerHello, limits);
  RawTcp raw(server.port());
  std::this_thread::sleep_for(milliseconds(300));
  CHECK_FALSE(raw.ClosedByServer());
  std::this_thread::sleep_for(milliseconds(1700));
  CHECK(raw.ClosedByServer());
}

TEST_CASE("A peer that stops in the middle of a request frame is closed after the read timeout", "[channel]") {
  // Waiting for a request may take 5 minutes; the rest of a frame whose
  // header came may not.
  TestCluster cluster;
  ServerLimits limits;
  limits.read_timeout = milliseconds(1000);
  RunningServer server(cluster.agent, AnswerHello, limits);
  RawClient raw(cluster.operator_credentials, server.port());
  const std::string payload = R"({"type": "hello", "body": {}})";
  const auto n = static_cast<std::uint32_t>(payload.size());
  raw.Write(std::string{0, 0, 0, static_cast<char>(n)} + payload.substr(0, 10));  // and nothing more
  std::this_thread::sleep_for(milliseconds(300));
  CHECK_FALSE(raw.EndedNow());
  std::this_thread::sleep_for(milliseconds(1700));
  CHECK(raw.EndedNow());
  CHECK(server.handled == 0);
}

TEST_CASE("Replies queued beyond their limit for one peer close its connection", "[channel]") {
  // A handler streams faster than any peer reads (logs --follow of a busy
  // unit): what waits to be written is bounded, not the peer's good will.
  TestCluster cluster;
  ServerLimits limits;
  limits.max_queued_reply_bytes = 1 << 20;
  std::atomic<int> sent_until_closed{0};
  std::atomic<bool> answered{false};
  RunningServer server(cluster.agent, [&](Request, std::shared_ptr<Responder> responder, RunningServer&) {
    for (int i = 1; i <= 64 && !responder->Closed(); ++i) {
      responder->Send(json{{"text", std::string(64 << 10, 'x')}}, true);
      sent_until_closed = i;
    }
    answered = true;
  }, limits);
  RawClient raw(cluster.operator_credentials, server.port());
  raw.WriteFrame(R"({"type": "hello", "body": {}})");
  REQUIRE(WaitUntil(answered));
  CHECK(sent_until_closed == 16);  // 16 frames of 64 KiB and their envelopes pass 1 MiB
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(raw.EndedNow());
}

TEST_CASE("A peer that does not read its replies is closed after the write timeout", "[channel]") {
  TestCluster cluster;
  ServerLimits limits;
  limits.write_timeout = milliseconds(1000);
  limits.max_queued_reply_bytes = std::size_t{64} << 20;  // so that only the timeout can end it
  std::atomic<bool> answered{false};
  RunningServer server(cluster.agent, [&](Request, std::shared_ptr<Responder> responder, RunningServer& self) {
    // 32 MiB: more than the two sockets' buffers on loopback hold.
    for (int i = 0; i < 32; ++i) responder->Send(json{{"text", std::string(1000 << 10, 'x')}}, true);
    self.Hold(std::move(responder));
    answered = true;
  }, limits);
  RawClient raw(cluster.operator_credentials, server.port());
  raw.WriteFrame(R"({"type": "hello", "body": {}})");
  REQUIRE(WaitUntil(answered));
  std::this_thread::sleep_for(milliseconds(2500));
  CHECK(raw.EndedNow());
}
