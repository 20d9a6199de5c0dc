#include "engine/server/http_session.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>

#include <array>
#include <cstdio>

#include "common/logging.h"

namespace engine::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;

namespace {

std::string StatusLine(int status) {
  const auto reason = http::obsolete_reason(http::int_to_status(static_cast<unsigned>(status)));
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason.data(), reason.size()) + "\r\n";
}

bool IEquals(beast::string_view a, std::string_view b) { return beast::iequals(a, beast::string_view(b.data(), b.size())); }

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, ApiHandler& handler, SessionOptions options)
    : stream_(std::move(socket)), handler_(handler), options_(options) {}

void HttpSession::Start() { ReadRequest(); }

void HttpSession::ReadRequest() {
  phase_ = Phase::kReading;
  answer_queued_ = false;
  keep_alive_ = false;
  on_client_gone_ = nullptr;
  parser_.emplace();
  parser_->body_limit(handler_.limits().max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  stream_.expires_after(options_.idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (ec) return OnRead(ec);
  // curl sends "Expect: 100-continue" before large bodies and waits for this.
  const auto expect = parser_->get()[http::field::expect];
  if (!parser_->is_done() && IEquals(expect, "100-continue")) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code wec, std::size_t) {
      if (wec) return self->CloseSocket();
      self->ReadBody();
    });
    return;
  }
  ReadBody();
}

void HttpSession::ReadBody() {
  if (parser_->is_done()) return OnRead({});
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
}

void HttpSession::OnRead(beast::error_code ec) {
  if (phase_ == Phase::kClosed) return;
  if (ec == http::error::body_limit) {
    return RejectRequest(413, PayloadTooLarge(handler_.limits().max_body_bytes));
  }
  if (ec == http::error::header_limit) {
    return RejectRequest(431, ApiError{431,
                                       "The request headers are larger than " +
                                           std::to_string(options_.max_header_bytes) + " bytes.",
                                       "invalid_request_error", std::nullopt, "headers_too_large", std::nullopt,
                                       std::nullopt});
  }
  const bool http_syntax_error = ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
                                 ec != http::error::end_of_stream && ec != http::error::partial_message;
  if (http_syntax_error) {
    return RejectRequest(400, InvalidRequest("Malformed HTTP request: " + ec.message() + ".", std::nullopt,
                                             "malformed_http"));
  }
  if (ec) return CloseSocket();  // end of stream, timeout, reset, aborted: nothing to answer

  http::request<http::string_body> request = parser_->release();
  parser_.reset();
  keep_alive_ = request.keep_alive();
  chunked_ = request.version() >= 11;
  phase_ = Phase::kAnswering;
  stream_.expires_never();

  HttpRequest r;
  r.method = std::string(request.method_string());
  r.target = std::string(request.target());
  r.authorization = std::string(request[http::field::authorization]);
  r.body = std::move(request.body());
  handler_.Handle(r, shared_from_this());
  // A generation answers later: watch the socket meanwhile.
  if (answering() && !watching_) Watch();
}

void HttpSession::RejectRequest(int http_status, const ApiError& error) {
  handler_.RecordSessionReply(http_status);
  phase_ = Phase::kAnswering;
  keep_alive_ = false;
  stream_.expires_never();
  Reply(ErrorReply(error));
}

void HttpSession::Watch() {
  if (buffer_.size() >= options_.max_watch_buffer) return;  // writes still notice a gone client
  watching_ = true;
  stream_.expires_never();  // only the read's timer: no read is pending here
  stream_.async_read_some(buffer_.prepare(16 << 10), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->OnWatch(ec, n);
  });
}

void HttpSession::OnWatch(beast::error_code ec, std::size_t bytes) {
  watching_ = false;
  if (phase_ == Phase::kClosed) return;
  if (!ec) {
    buffer_.commit(bytes);  // the next request, pipelined: kept for ReadRequest
    if (answering()) return Watch();
    return MaybeNext();
  }
  if (ec == net::error::operation_aborted) return MaybeNext();
  // End of file or an error: the client has gone (or half-closed; either way
  // it cannot be answered on a kept-alive connection).
  if (answering()) return ClientGone();
  keep_alive_ = false;
  MaybeNext();
}

void HttpSession::Reply(HttpReply reply) {
  if (phase_ != Phase::kAnswering || answer_queued_) return;
  std::string bytes = StatusLine(reply.status);
  bytes += "Server: infer-engine\r\nContent-Type: " + reply.content_type + "\r\n";
  bytes += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  for (const auto& [name, value] : reply.headers) bytes += name + ": " + value + "\r\n";
  bytes += keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  bytes += reply.body;
  Queue(std::move(bytes), /*last=*/true);
}

void HttpSession::BeginEvents() {
  if (phase_ != Phase::kAnswering || answer_queued_) return;
  if (!chunked_) keep_alive_ = false;  // HTTP/1.0: the stream ends when the connection closes
  std::string bytes = StatusLine(200);
  bytes += "Server: infer-engine\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n";
  if (chunked_) bytes += "Transfer-Encoding: chunked\r\n";
  bytes += keep_alive_ ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  Queue(std::move(bytes), /*last=*/false);
}

void HttpSession::SendEvent(std::string framed) {
  if (phase_ != Phase::kAnswering || answer_queued_ || framed.empty()) return;
  if (!chunked_) return Queue(std::move(framed), false);
  char size[20];
  const int n = std::snprintf(size, sizeof(size), "%zx\r\n", framed.size());
  std::string chunk;
  chunk.reserve(framed.size() + static_cast<std::size_t>(n) + 2);
  chunk.append(size, static_cast<std::size_t>(n)).append(framed).append("\r\n");
  Queue(std::move(chunk), false);
}

void HttpSession::EndEvents() {
  if (phase_ != Phase::kAnswering || answer_queued_) return;
  Queue(chunked_ ? "0\r\n\r\n" : "", /*last=*/true);
}

void HttpSession::OnClientGone(std::function<void()> handler) {
  if (answering()) on_client_gone_ = std::move(handler);
}

void HttpSession::Queue(std::string bytes, bool last) {
  if (!bytes.empty()) outbox_.push_back(std::move(bytes));
  if (last) {
    answer_queued_ = true;
    on_client_gone_ = nullptr;  // the answer is complete: drop the job's handler (and the cycle it makes)
  }
  if (!writing_) WriteNext();
}

void HttpSession::WriteNext() {
  if (outbox_.empty()) return MaybeNext();
  writing_ = true;
  stream_.expires_after(options_.write_timeout);  // only the write's timer while a watch read is pending
  net::async_write(stream_, net::buffer(outbox_.front()),
                   [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnWrite(ec); });
}

void HttpSession::OnWrite(beast::error_code ec) {
  writing_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    // Broken pipe, reset, or a client that stopped reading (timeout).
    if (answering()) return ClientGone();
    return CloseSocket();
  }
  outbox_.pop_front();
  WriteNext();
}

void HttpSession::MaybeNext() {
  if (phase_ != Phase::kAnswering || !answer_queued_ || writing_ || !outbox_.empty()) return;
  if (watching_) {
    beast::error_code ignored;
    stream_.socket().cancel(ignored);  // OnWatch comes back here with operation_aborted
    return;
  }
  if (keep_alive_) return ReadRequest();
  Linger();
}

void HttpSession::Linger() {
  // Close without resetting: send FIN, then read (and drop) what the client
  // still sends (e.g. the body of a refused request) until it closes or the
  // linger timeout, so our answer is not lost to a TCP reset.
  phase_ = Phase::kLingering;
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(options_.linger_timeout);
  auto drain = std::make_shared<std::array<char, 4096>>();
  struct Drain {
    std::shared_ptr<HttpSession> self;
    std::shared_ptr<std::array<char, 4096>> buffer;
    void operator()(beast::error_code ec, std::size_t) {
      if (ec) return self->CloseSocket();
      self->stream_.async_read_some(net::buffer(*buffer), std::move(*this));
    }
  };
  stream_.async_read_some(net::buffer(*drain), Drain{shared_from_this(), drain});
}

void HttpSession::ClientGone() {
  std::function<void()> handler = std::move(on_client_gone_);
  on_client_gone_ = nullptr;
  CloseSocket();
  if (handler) handler();
}

void HttpSession::Close() {
  if (phase_ == Phase::kClosed) return;
  ClientGone();
}

void HttpSession::CloseSocket() {
  phase_ = Phase::kClosed;
  outbox_.clear();
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();  // the socket and the stream's timers
}

}  // namespace engine::server
