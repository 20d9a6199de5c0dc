#include "engine/server/request_reader.h"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <exception>
#include <string>
#include <vector>

#include "common/untrusted_text.h"

namespace engine::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

ApiError HeadersTooLarge(std::size_t limit) {
  return ApiError{431,
                  "The request headers are larger than " + std::to_string(limit) + " bytes.",
                  "invalid_request_error",
                  std::nullopt,
                  "headers_too_large",
                  std::nullopt,
                  std::nullopt};
}

ApiError RequestTooLarge(std::size_t limit) {
  return ApiError{413,
                  "The request is larger than this server's limit of " + std::to_string(limit) +
                      " bytes (request line, headers, chunk framing, trailers and body together).",
                  "invalid_request_error",
                  std::nullopt,
                  "request_too_large",
                  std::nullopt,
                  std::nullopt};
}

ApiError Malformed(const std::string& why) {
  return InvalidRequest("Malformed HTTP request: " + why + ".", std::nullopt, "malformed_http");
}

// The codings of a Transfer-Encoding value ("gzip, chunked" -> gzip, chunked).
std::vector<std::string> Codings(beast::string_view value) {
  std::vector<std::string> out;
  std::string current;
  for (char c : value) {
    if (c == ',') {
      out.push_back(current);
      current.clear();
    } else if (c != ' ' && c != '\t') {
      current += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  out.push_back(current);
  return out;
}

// Why the request's Transfer-Encoding cannot be served; nullopt when it is
// absent or exactly "chunked".
std::optional<ApiError> CheckTransferEncoding(const http::request_parser<http::string_body>& parser) {
  const auto& fields = parser.get().base();
  if (fields.count(http::field::transfer_encoding) == 0) return std::nullopt;
  std::vector<std::string> codings;
  for (auto it = fields.find(http::field::transfer_encoding);
       it != fields.end() && it->name() == http::field::transfer_encoding; ++it) {
    for (std::string& c : Codings(it->value())) codings.push_back(std::move(c));
  }
  const beast::string_view value = fields[http::field::transfer_encoding];
  const std::string shown = cluster::Excerpt(std::string_view(value.data(), value.size()));
  if (codings.back() != "chunked") {
    return Malformed("Transfer-Encoding '" + shown +
                     "' does not end with chunked, so the body's length is unknown (RFC 9112 6.1)");
  }
  if (codings.size() > 1) {
    return ApiError{501,
                    "Transfer-Encoding '" + shown +
                        "' is not implemented; send the body with Content-Length or Transfer-Encoding: chunked.",
                    "invalid_request_error",
                    std::nullopt,
                    "unsupported_transfer_encoding",
                    std::nullopt,
                    std::nullopt};
  }
  return std::nullopt;
}

}  // namespace

RequestReader::RequestReader(const RequestLimits& limits) : limits_(limits) {
  parser_.eager(true);  // go on into the body in the same Feed
  parser_.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  parser_.body_limit(limits_.max_body_bytes);
}

bool RequestReader::header_done() const { return parser_.is_header_done(); }

bool RequestReader::expects_continue() const {
  return header_done() && !parser_.is_done() &&
         beast::iequals(parser_.get()[http::field::expect], "100-continue");
}

void RequestReader::Fail(ApiError error) {
  state_ = State::kFailed;
  error_ = std::move(error);
}

std::size_t RequestReader::Feed(std::string_view bytes) {
  if (state_ != State::kNeedMore) return 0;
  const std::size_t start = consumed_;
  auto fail = [&](ApiError error) {
    Fail(std::move(error));
    return consumed_ - start;
  };
  try {
    while (state_ == State::kNeedMore && !bytes.empty()) {
      const bool had_header = header_done();
      beast::error_code ec;
      const std::size_t used = parser_.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      consumed_ += used;
      if (consumed_ > limits_.max_request_bytes()) return fail(RequestTooLarge(limits_.max_request_bytes()));
      if (!had_header && header_done()) {
        if (auto refused = CheckTransferEncoding(parser_)) return fail(std::move(*refused));
      }
      if (ec == http::error::need_more) break;
      if (ec == http::error::header_limit) return fail(HeadersTooLarge(limits_.max_header_bytes));
      if (ec == http::error::body_limit) return fail(PayloadTooLarge(limits_.max_body_bytes));
      if (ec) return fail(Malformed(ec.message()));
      if (parser_.is_done()) state_ = State::kDone;
      if (used == 0) break;
    }
  } catch (const std::exception& e) {
    // Beast's field storage throws for a name or value over 64 KiB, and any
    // allocation may fail: a bad request, not a server crash.
    return fail(Malformed(cluster::Excerpt(e.what(), 200)));
  }
  if (state_ != State::kNeedMore) return consumed_ - start;
  // What waits unparsed must be seen whole (the header block, one chunk-size
  // line, the trailers): bounded, and counted against the whole request.
  if (bytes.size() >= limits_.max_header_bytes) {
    if (!header_done()) return fail(HeadersTooLarge(limits_.max_header_bytes));
    return fail(Malformed("a chunk-size line with its extensions, or the trailers, exceed " +
                          std::to_string(limits_.max_header_bytes) + " bytes"));
  }
  if (consumed_ + bytes.size() > limits_.max_request_bytes()) {
    return fail(RequestTooLarge(limits_.max_request_bytes()));
  }
  return consumed_ - start;
}

FramedRequest RequestReader::TakeRequest() {
  http::request<http::string_body> message = parser_.release();
  FramedRequest framed;
  framed.keep_alive = message.keep_alive();
  framed.http11 = message.version() >= 11;
  framed.request.method = std::string(message.method_string());
  framed.request.target = std::string(message.target());
  framed.request.authorization = std::string(message[http::field::authorization]);
  framed.request.body = std::move(message.body());
  return framed;
}

}  // namespace engine::server
