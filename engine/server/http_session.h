// HttpSession: one client connection (the "connection" of Asio's HTTP server
// example). Reads a request with Beast (size limits on header and body),
// hands it to the ApiHandler with itself as the Exchange, writes the answer,
// and reads the next request if the connection is kept alive.
//
// While an answer is pending (a generation running), the session keeps a read
// open on the socket: end-of-file or an error there means the client left,
// and the Exchange's client-gone handler runs at once (the job cancels its
// sequences). Bytes that arrive meanwhile (a pipelined request) are kept for
// the next read. A write that fails or stalls past the write timeout counts
// as the client leaving too.
//
// Answers are written as raw HTTP/1.1 bytes from one queue: a whole response
// with Content-Length, or an event stream with chunked transfer encoding
// (close-delimited for HTTP/1.0 clients).
//
// Lifetime: the session keeps itself alive with shared_from_this() while it
// has an operation pending or a job holds it; operation_aborted is a normal
// stop. Threading: all on the server's one I/O thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/server/api_handler.h"
#include "engine/server/exchange.h"

namespace engine::server {

struct SessionOptions {
  std::size_t max_header_bytes = 16 << 10;           // larger headers get 431
  std::chrono::seconds idle_timeout{60};             // to read a whole request (keep-alive idle included)
  std::chrono::seconds write_timeout{60};            // for one write to make progress
  std::chrono::milliseconds linger_timeout{2000};    // draining unread input before closing
  std::size_t max_watch_buffer = 1 << 20;            // pipelined bytes kept while an answer is pending
};

class HttpSession final : public Exchange, public std::enable_shared_from_this<HttpSession> {
 public:
  // `handler` must outlive the session's pending operations (the server's io_context run).
  HttpSession(boost::asio::ip::tcp::socket socket, ApiHandler& handler, SessionOptions options);

  // Starts reading the first request.
  void Start();
  // The server is stopping: the pending answer's client-gone handler runs
  // (cancelling its generation) and the socket closes.
  void Close();

  // Exchange.
  void Reply(HttpReply reply) override;
  void BeginEvents() override;
  void SendEvent(std::string framed) override;
  void EndEvents() override;
  void OnClientGone(std::function<void()> handler) override;

 private:
  enum class Phase { kReading, kAnswering, kLingering, kClosed };

  void ReadRequest();
  void OnHeader(boost::beast::error_code ec);
  void ReadBody();
  void OnRead(boost::beast::error_code ec);
  // Answers a request the session cannot parse and closes afterwards.
  void RejectRequest(int http_status, const ApiError& error);
  void Watch();
  void OnWatch(boost::beast::error_code ec, std::size_t bytes);
  void Queue(std::string bytes, bool last);
  void WriteNext();
  void OnWrite(boost::beast::error_code ec);
  // Moves on once the answer is written and no watch is pending.
  void MaybeNext();
  void Linger();
  void ClientGone();
  void CloseSocket();
  bool answering() const { return phase_ == Phase::kAnswering && !answer_queued_; }

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  ApiHandler& handler_;
  SessionOptions options_;

  Phase phase_ = Phase::kReading;
  bool keep_alive_ = false;
  bool chunked_ = true;         // HTTP/1.1 client: event streams are chunked
  bool answer_queued_ = false;  // the answer's last bytes are in outbox_
  bool writing_ = false;
  bool watching_ = false;
  std::deque<std::string> outbox_;
  std::function<void()> on_client_gone_;
};

}  // namespace engine::server
