// HttpSession: one client connection (the "connection" of Asio's HTTP server
// example). Reads bytes into its buffer and frames a request out of them with
// a RequestReader (request_reader.h: every byte of a request bounded), hands
// it to the ApiHandler with itself as the Exchange, writes the answer, and
// reads the next request if the connection is kept alive. A request the
// reader refuses is answered (400, 413, 431, 501) and the connection closed.
//
// Time is bounded too: a connection waits at most idle_timeout for the first
// byte of a request; once it has started, every read must bring a byte
// within read_timeout and the whole request must arrive within
// request_timeout, else 408 and the connection closes.
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
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/server/api_handler.h"
#include "engine/server/exchange.h"
#include "engine/server/request_reader.h"

namespace engine::server {

struct SessionOptions {
  std::chrono::seconds idle_timeout{30};             // for a request's first byte (a new or kept-alive connection)
  std::chrono::seconds read_timeout{10};             // once a request started: for each read to bring a byte
  std::chrono::seconds request_timeout{60};          // once a request started: for all of it (408 beyond)
  std::chrono::seconds write_timeout{60};            // for one write to make progress
  std::chrono::milliseconds linger_timeout{2000};    // draining unread input before closing
  std::size_t max_watch_buffer = 1 << 20;            // pipelined bytes kept while an answer is pending
};

// The raw HTTP/1.1 bytes of a whole response with Content-Length.
std::string ResponseBytes(const HttpReply& reply, bool keep_alive);

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
  // Frames what the buffer holds; answers, refuses or reads on.
  void ParseBuffered();
  void ReadMore();
  void OnReadSome(boost::beast::error_code ec, std::size_t bytes);
  void OnRequest();
  // Answers a request the session will not serve and closes afterwards.
  void RejectRequest(ApiError error);  // by value: it may come from reader_, which this resets
  // 408: the request did not arrive within read_timeout / request_timeout.
  ApiError RequestTimeout() const;
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
  // Bounds a request's reads. Not the stream's own expiry, which closes the
  // socket when it fires: a request that comes too slowly still gets its 408.
  boost::asio::steady_timer read_timer_;
  unsigned read_serial_ = 0;  // which read the timer is for (a late expiry must not hit the next one)
  bool read_timed_out_ = false;
  boost::beast::flat_buffer buffer_;  // read, not yet consumed by reader_ (or a pipelined request)
  std::optional<RequestReader> reader_;
  ApiHandler& handler_;
  SessionOptions options_;
  bool request_started_ = false;  // a byte of the current request has arrived
  bool continue_sent_ = false;    // "100 Continue" was written for the current request
  std::chrono::steady_clock::time_point request_deadline_;

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
