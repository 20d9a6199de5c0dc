// ApiError: an error as the client sees it - an HTTP status and OpenAI's
// error object
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// - and ApiResult<T>, a value or such an error.
//
// Inside the server, request handling produces ApiErrors directly (they carry
// the `param` a Status cannot); library Statuses (tokenizer, chat template,
// scheduler) are mapped at the call with ApiErrorFromStatus.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "engine/status.h"

namespace engine::server {

struct ApiError {
  int http_status = 500;
  std::string message;           // what happened and what to do, for a person
  std::string type;              // "invalid_request_error", "authentication_error", "rate_limit_error", ...
  std::optional<std::string> param;  // the request field at fault (null when none)
  std::optional<std::string> code;   // a stable machine code ("invalid_value", "model_not_found", ...)
  std::optional<int> retry_after_seconds;  // sent as Retry-After (429, 503)
  std::optional<std::string> allow;        // sent as Allow (405)
};

// Text of the client's that a message quotes (a model name, a path, a
// method) is an excerpt (common/untrusted_text.h): a 4 MB model name must
// not come back as a 4 MB error, nor drive a terminal that shows it.

// 400 invalid_request_error naming `param`.
ApiError InvalidRequest(std::string message, std::optional<std::string> param = std::nullopt,
                        std::string code = "invalid_value");
// 404 invalid_request_error "model_not_found".
ApiError ModelNotFound(std::string_view requested, std::string_view served);
// 401 authentication_error; `provided` says whether an Authorization header came at all.
ApiError Unauthorized(bool provided);
// 413: the body is larger than `limit_bytes`.
ApiError PayloadTooLarge(std::size_t limit_bytes);
// 404 for a path the server does not have; 405 for a known path and the wrong method.
ApiError RouteNotFound(std::string_view method, std::string_view path);
ApiError MethodNotAllowed(std::string_view method, std::string_view path, std::string_view allowed);
// 429 rate_limit_error with Retry-After.
ApiError Overloaded(std::string message, int retry_after_seconds = 1);
// 500 server_error; the message is the detail, already safe to show.
ApiError ServerError(std::string message);

// Maps a library Status to what the client sees: InvalidArgument -> 400,
// NotFound -> 404, ResourceExhausted -> 429 (Retry-After 1), Unavailable ->
// 503 (Retry-After 1), PermissionDenied -> 401, anything else -> 500.
// `param` names the request field the input came from, if any.
ApiError ApiErrorFromStatus(const Status& status, std::optional<std::string> param = std::nullopt);

// The JSON body {"error": {...}} (param/code null when absent).
std::string ApiErrorBody(const ApiError& error);

// A value, or the ApiError that replaces it. Like StatusOr, but the error is
// the client's. Accessing the value of an error is a bug, never undefined
// behaviour: std::get throws std::bad_variant_access in every build type,
// which ApiHandler answers with a 500, or the server's I/O loop logs.
template <typename T>
class [[nodiscard]] ApiResult {
 public:
  ApiResult(T value) : v_(std::move(value)) {}          // NOLINT(runtime/explicit)
  ApiResult(ApiError error) : v_(std::move(error)) {}   // NOLINT(runtime/explicit)

  bool ok() const { return v_.index() == 0; }
  const ApiError& error() const { return std::get<1>(v_); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, ApiError> v_;
};

}  // namespace engine::server
