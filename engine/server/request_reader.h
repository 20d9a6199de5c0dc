// RequestReader: frames one HTTP/1.1 request out of the bytes a connection
// delivers, within the server's limits - the "request_parser" of Asio's
// HTTP server example, as a pure state machine without sockets. The
// session feeds it what it reads; the tests and the fuzzer feed it bytes.
//
//   RequestReader reader(limits);
//   std::size_t used = reader.Feed(unconsumed_bytes);   // drop `used` bytes
//   reader.state(): kNeedMore (read more) | kDone (TakeRequest) | kFailed (error())
//
// Every byte of a request counts against max_request_bytes: the request
// line, the headers, chunk sizes and their extensions, trailer fields and
// the body. Bytes that must be seen whole before they can be parsed (the
// header block, one chunk-size line, the trailer block) never pile up past
// max_header_bytes, so a chunk-size line of a gigabyte of leading zeros or
// of chunk extensions costs the server 16 KiB, not a gigabyte.
//
// Transfer-Encoding other than exactly "chunked" is refused (RFC 9112
// 6.1): with chunked not last, the body's length is unknown (400); with
// another coding as well, it is not implemented (501). Every failure is
// final: the session answers error() and closes the connection, so no byte
// after a bad request is ever read as a request of its own.
//
// Nothing here throws: what Beast's parser throws (a field too large for
// its storage) becomes a 400.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

#include "engine/server/api_error.h"
#include "engine/server/exchange.h"
#include "engine/server/request_limits.h"

namespace engine::server {

// A request as the session hands it on, with what the connection needs.
struct FramedRequest {
  HttpRequest request;
  bool keep_alive = false;  // the client allows another request on this connection
  bool http11 = true;       // HTTP/1.1 or later (chunked answers allowed)
};

class RequestReader {
 public:
  enum class State { kNeedMore, kDone, kFailed };

  explicit RequestReader(const RequestLimits& limits);

  // Parses a prefix of `bytes` (everything the connection has delivered and
  // the reader has not consumed yet) and returns how many bytes it
  // consumed; the caller drops those and passes the rest (plus what it
  // reads next) to the next call. Once kDone, bytes after the request
  // (a pipelined next request) are not consumed.
  std::size_t Feed(std::string_view bytes);

  State state() const { return state_; }
  // The request line and headers are complete (the body may not be).
  bool header_done() const;
  // The client sent "Expect: 100-continue" and waits for it before the body.
  bool expects_continue() const;
  // REQUIRES: state() == kDone. Once.
  FramedRequest TakeRequest();
  // REQUIRES: state() == kFailed. The answer: 400, 413, 431 or 501.
  const ApiError& error() const { return *error_; }
  // Bytes consumed so far.
  std::size_t consumed() const { return consumed_; }

 private:
  void Fail(ApiError error);

  RequestLimits limits_;
  boost::beast::http::request_parser<boost::beast::http::string_body> parser_;
  State state_ = State::kNeedMore;
  std::size_t consumed_ = 0;
  std::optional<ApiError> error_;
};

}  // namespace engine::server
