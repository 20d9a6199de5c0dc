// ControlClient: a synchronous client over asynchronous Asio operations.
//
// Every operation starts asynchronous work on the client's own io_context and
// runs it until the deadline; work still pending then is cancelled by closing
// the socket. A connection whose operation failed or timed out is closed for
// good (a frame may be half read): later calls say so and a new Connect is
// needed.
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>

#include <cstdio>
#include <optional>

#include "control/channel.h"
#include "control/frame.h"
#include "control/tls.h"

namespace cluster::control {
namespace {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// "5 s", "1.5 s", "250 ms".
std::string DescribeTimeout(std::chrono::milliseconds timeout) {
  const auto ms = timeout.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(ms) / 1000.0);
  return text;
}

}  // namespace

struct ControlClient::Impl {
  asio::io_context io;
  std::unique_ptr<ssl::context> context;
  std::optional<ssl::stream<tcp::socket>> stream;
  std::string endpoint;      // "ADDRESS:PORT", for messages
  std::string broken;        // why the connection was closed; "" while usable
  bool streaming = false;    // the last reply said more = true
  std::string pending_type;  // the request whose reply is being read

  // Runs the operation `start` launched until it completes or `deadline`
  // passes. Returns its error, or nullopt when it timed out (the socket is
  // then closed and the operation cancelled).
  template <typename Start>
  std::optional<error_code> Run(Start start, Clock::time_point deadline) {
    std::optional<error_code> result;
    io.restart();
    start([&result](const error_code& ec, auto&&...) { result = ec; });
    io.run_until(deadline);
    if (result.has_value()) return result;
    error_code ignored;
    stream->lowest_layer().close(ignored);
    io.restart();
    io.run();  // lets the cancelled operation complete
    return std::nullopt;
  }

  Status Unusable() const {
    return FailedPreconditionError(endpoint + ": the connection was closed after an earlier error (" + broken +
                                   "); connect again");
  }

  Status Break(Status status) {
    broken = status.message();
    error_code ignored;
    stream->lowest_layer().close(ignored);
    return status;
  }

  // An I/O error while talking: the agent went away, or refused this
  // client's certificate (TLS 1.3 reports that after the client's handshake).
  Status IoError(const error_code& ec, const char* doing) {
    std::string text = endpoint + ": " + doing + " failed: " + tls::Describe(ec, stream->native_handle());
    if (tls::IsTlsError(ec)) text += " (the agent refused this client's certificate, or it is not from this cluster's CA)";
    return Break(UnavailableError(text));
  }

  Status Timeout(std::chrono::milliseconds timeout, const char* waiting_for) {
    return Break(DeadlineExceededError(endpoint + ": timed out after " + DescribeTimeout(timeout) + " waiting for " +
                                       waiting_for));
  }

  StatusOr<ReplyFrame> ReadReply(Clock::time_point deadline, std::chrono::milliseconds timeout) {
    frame::Header header{};
    auto ec = Run([&](auto done) { asio::async_read(*stream, asio::buffer(header), done); }, deadline);
    if (!ec) return Timeout(timeout, ("the reply to '" + pending_type + "'").c_str());
    if (*ec) return IoError(*ec, "reading the reply");
    const std::uint32_t length = frame::PayloadLength(header);
    if (length > kMaxFrameBytes) return Break(DataLossError(endpoint + ": " + frame::TooLargeMessage("reply", length)));
    std::string payload(length, '\0');
    ec = Run([&](auto done) { asio::async_read(*stream, asio::buffer(payload), done); }, deadline);
    if (!ec) return Timeout(timeout, ("the reply to '" + pending_type + "'").c_str());
    if (*ec) return IoError(*ec, "reading the reply");
    auto json = frame::ParseJson(payload);
    if (!json.ok()) return Break(DataLossError(endpoint + ": " + json.status().message()));
    auto reply = frame::ParseReply(*json);
    if (!reply.ok() && reply.status().code() == StatusCode::kDataLoss) {
      return Break(DataLossError(endpoint + ": " + reply.status().message()));
    }
    streaming = reply.ok() && reply->more;
    return reply;
  }
};

ControlClient::ControlClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlClient::~ControlClient() {
  if (impl_ && impl_->stream) {
    error_code ignored;
    impl_->stream->lowest_layer().close(ignored);
  }
}

StatusOr<std::unique_ptr<ControlClient>> ControlClient::Connect(const std::string& address, int port,
                                                                const Credentials& credentials,
                                                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto impl = std::make_unique<Impl>();
  impl->endpoint = (address.find(':') != std::string::npos ? "[" + address + "]" : address) + ":" + std::to_string(port);
  const std::string& where = impl->endpoint;
  CLUSTER_ASSIGN_OR_RETURN(impl->context, tls::MakeContext(credentials, tls::Role::kClient));
  if (port <= 0 || port > 65535) return InvalidArgumentError(where + ": port out of range");
  try {
    impl->stream.emplace(impl->io, *impl->context);
  } catch (const std::exception& e) {
    return InternalError(where + ": cannot create a TLS stream: " + e.what());
  }

  // An IP address, never a name: agents are reached at their cluster
  // address, and a name lookup could not be bounded by the deadline.
  error_code parse_error;
  const auto ip = asio::ip::make_address(address, parse_error);
  if (parse_error) return InvalidArgumentError(where + ": '" + address + "' is not an IP address");
  const tcp::endpoint endpoint(ip, static_cast<unsigned short>(port));

  auto ec = impl->Run([&](auto done) { impl->stream->lowest_layer().async_connect(endpoint, done); }, deadline);
  if (!ec) return UnavailableError(where + ": timed out after " + DescribeTimeout(timeout) + " connecting");
  if (*ec) return UnavailableError(where + ": " + tls::Describe(*ec, nullptr));
  error_code ignored;
  impl->stream->lowest_layer().set_option(tcp::no_delay(true), ignored);

  ec = impl->Run([&](auto done) { impl->stream->async_handshake(ssl::stream_base::client, done); }, deadline);
  if (!ec) {
    return UnavailableError(where + ": timed out after " + DescribeTimeout(timeout) + " in the TLS handshake");
  }
  if (*ec) {
    return UnavailableError(where + ": TLS handshake failed: " + tls::Describe(*ec, impl->stream->native_handle()));
  }
  return std::unique_ptr<ControlClient>(new ControlClient(std::move(impl)));
}

StatusOr<ReplyFrame> ControlClient::Call(const Request& request, std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  if (!c.broken.empty()) return c.Unusable();
  if (c.streaming) {
    return FailedPreconditionError(c.endpoint + ": the reply to '" + c.pending_type +
                                   "' is still streaming; read it with Next() until more is false");
  }
  const auto deadline = Clock::now() + timeout;
  CLUSTER_ASSIGN_OR_RETURN(std::string bytes, frame::Encode(EncodeRequest(request), "request"));
  c.pending_type = RequestType(request);
  auto ec = c.Run([&](auto done) { asio::async_write(*c.stream, asio::buffer(bytes), done); }, deadline);
  if (!ec) return c.Timeout(timeout, "the request to be sent");
  if (*ec) return c.IoError(*ec, "sending the request");
  return c.ReadReply(deadline, timeout);
}

StatusOr<ReplyFrame> ControlClient::Next(std::chrono::milliseconds timeout) {
  Impl& c = *impl_;
  if (!c.broken.empty()) return c.Unusable();
  if (!c.streaming) return FailedPreconditionError(c.endpoint + ": no streaming reply is pending");
  return c.ReadReply(Clock::now() + timeout, timeout);
}

std::string ControlClient::LocalAddress() const {
  error_code ec;
  auto local = impl_->stream->lowest_layer().local_endpoint(ec);
  return ec ? std::string() : local.address().to_string();
}

}  // namespace cluster::control
