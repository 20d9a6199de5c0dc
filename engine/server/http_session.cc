#include "engine/server/http_session.h"

#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
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

}  // namespace

HttpSession::HttpSession(net::ip::tcp::socket socket, ApiHandler& handler, SessionOptions options)
    : stream_(std::move(socket)), read_timer_(stream_.get_executor()), handler_(handler), options_(options) {}

void HttpSession::Start() { ReadRequest(); }

void HttpSession::ReadRequest() {
  phase_ = Phase::kReading;
  answer_queued_ = false;
  keep_alive_ = false;
  on_client_gone_ = nullptr;
  continue_sent_ = false;
  reader_.emplace(handler_.limits());
  // Bytes of a pipelined request may be here already: its clock has started.
  request_started_ = buffer_.size() > 0;
  if (request_started_) request_deadline_ = std::chrono::steady_clock::now() + options_.request_timeout;
  ParseBuffered();
}

void HttpSession::ParseBuffered() {
  const auto data = buffer_.data();
  buffer_.consume(reader_->Feed(std::string_view(static_cast<const char*>(data.data()), data.size())));
  switch (reader_->state()) {
    case RequestReader::State::kDone: return OnRequest();
    case RequestReader::State::kFailed: return RejectRequest(reader_->error());
    case RequestReader::State::kNeedMore: break;
  }
  // curl sends "Expect: 100-continue" before large bodies and waits for this.
  if (reader_->expects_continue() && !continue_sent_) {
    continue_sent_ = true;
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(options_.write_timeout);
    net::async_write(stream_, net::buffer(kContinue), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->CloseSocket();
      self->ReadMore();
    });
    return;
  }
  ReadMore();
}

void HttpSession::ReadMore() {
  if (phase_ == Phase::kClosed) return;
  auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(options_.idle_timeout);
  if (request_started_) {
    const auto left = request_deadline_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return RejectRequest(RequestTimeout());
    timeout = std::min<std::chrono::steady_clock::duration>(options_.read_timeout, left);
  }
  stream_.expires_never();
  read_timer_.expires_after(timeout);
  const unsigned serial = ++read_serial_;
  read_timer_.async_wait([self = shared_from_this(), serial](beast::error_code ec) {
    if (ec || self->phase_ == Phase::kClosed || serial != self->read_serial_) return;
    self->read_timed_out_ = true;
    beast::error_code ignored;
    self->stream_.socket().cancel(ignored);  // OnReadSome comes with operation_aborted
  });
  stream_.async_read_some(buffer_.prepare(16 << 10), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->OnReadSome(ec, n);
  });
}

void HttpSession::OnReadSome(beast::error_code ec, std::size_t bytes) {
  read_timer_.cancel();
  ++read_serial_;  // this read is over, whatever its timer does now
  if (phase_ == Phase::kClosed) return;
  if (read_timed_out_) {
    read_timed_out_ = false;
    // A request that started gets its 408; a connection that never sent
    // one (idle too long) is closed without an answer.
    return request_started_ ? RejectRequest(RequestTimeout()) : CloseSocket();
  }
  if (ec) return CloseSocket();  // end of stream, reset, aborted: nothing to answer
  buffer_.commit(bytes);
  if (!request_started_) {
    request_started_ = true;
    request_deadline_ = std::chrono::steady_clock::now() + options_.request_timeout;
  }
  ParseBuffered();
}

void HttpSession::OnRequest() {
  FramedRequest framed = reader_->TakeRequest();
  reader_.reset();
  keep_alive_ = framed.keep_alive;
  chunked_ = framed.http11;
  phase_ = Phase::kAnswering;
  stream_.expires_never();
  handler_.Handle(framed.request, shared_from_this());
  // A generation answers later: watch the socket meanwhile.
  if (answering() && !watching_) Watch();
}

ApiError HttpSession::RequestTimeout() const {
  return ApiError{408,
                  "The request did not arrive in time: each read must bring data within " +
                      std::to_string(options_.read_timeout.count()) + " s and the whole request within " +
                      std::to_string(options_.request_timeout.count()) + " s.",
                  "invalid_request_error",
                  std::nullopt,
                  "request_timeout",
                  std::nullopt,
                  std::nullopt};
}

void HttpSession::RejectRequest(ApiError error) {
  handler_.RecordSessionReply(error.http_status);
  reader_.reset();
  phase_ = Phase::kAnswering;
  keep_alive_ = false;  // nothing after a refused request is read as a request
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

std::string ResponseBytes(const HttpReply& reply, bool keep_alive) {
  std::string bytes = StatusLine(reply.status);
  bytes += "Server: infer-engine\r\nContent-Type: " + reply.content_type + "\r\n";
  bytes += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  for (const auto& [name, value] : reply.headers) bytes += name + ": " + value + "\r\n";
  bytes += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  bytes += reply.body;
  return bytes;
}

void HttpSession::Reply(HttpReply reply) {
  if (phase_ != Phase::kAnswering || answer_queued_) return;
  Queue(ResponseBytes(reply, keep_alive_), /*last=*/true);
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
  read_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.close();  // the socket and the stream's timers
}

}  // namespace engine::server
