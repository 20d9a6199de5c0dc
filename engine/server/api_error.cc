#include "engine/server/api_error.h"

#include <nlohmann/json.hpp>

#include "common/untrusted_text.h"

namespace engine::server {

ApiError InvalidRequest(std::string message, std::optional<std::string> param, std::string code) {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), std::move(code), std::nullopt};
}

ApiError ModelNotFound(std::string_view requested, std::string_view served) {
  return ApiError{404,
                  "The model '" + cluster::Excerpt(requested) + "' does not exist; this server serves '" +
                      std::string(served) + "' (see GET /v1/models).",
                  "invalid_request_error", "model", "model_not_found", std::nullopt};
}

ApiError Unauthorized(bool provided) {
  std::string message =
      provided ? "Incorrect API key provided. Send the server's key as 'Authorization: Bearer KEY'."
               : "You didn't provide an API key. Send it in an Authorization header using Bearer auth "
                 "('Authorization: Bearer KEY').";
  return ApiError{401, std::move(message), "authentication_error", std::nullopt, "invalid_api_key", std::nullopt};
}

ApiError PayloadTooLarge(std::size_t limit_bytes) {
  return ApiError{413,
                  "The request body is larger than this server's limit of " + std::to_string(limit_bytes) +
                      " bytes; send a shorter prompt (or raise --max-body-bytes).",
                  "invalid_request_error", std::nullopt, "request_too_large", std::nullopt};
}

ApiError RouteNotFound(std::string_view method, std::string_view path) {
  return ApiError{404,
                  "Unknown route: " + cluster::Excerpt(method) + " " + cluster::Excerpt(path, 200) +
                      ". This server has GET /v1/models, POST /v1/completions, POST /v1/chat/completions, "
                      "GET /health and GET /metrics.",
                  "invalid_request_error", std::nullopt, "unknown_url", std::nullopt};
}

ApiError MethodNotAllowed(std::string_view method, std::string_view path, std::string_view allowed) {
  return ApiError{405,
                  "Method " + cluster::Excerpt(method) + " is not allowed on " + std::string(path) + "; use " +
                      std::string(allowed) + ".",
                  "invalid_request_error", std::nullopt, "method_not_allowed", std::nullopt, std::string(allowed)};
}

ApiError Overloaded(std::string message, int retry_after_seconds) {
  return ApiError{429, std::move(message), "rate_limit_error", std::nullopt, "rate_limit_exceeded",
                  retry_after_seconds};
}

ApiError ServerError(std::string message) {
  return ApiError{500, std::move(message), "server_error", std::nullopt, std::nullopt, std::nullopt};
}

ApiError ApiErrorFromStatus(const Status& status, std::optional<std::string> param) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return InvalidRequest(status.message(), std::move(param));
    case StatusCode::kNotFound:
      return ApiError{404, status.message(), "invalid_request_error", std::move(param), "not_found", std::nullopt};
    case StatusCode::kResourceExhausted:
      return Overloaded("The server is busy: " + status.message() + ". Retry after a second.");
    case StatusCode::kUnavailable:
      return ApiError{503, "The server is unavailable: " + status.message() + ".", "server_error", std::nullopt,
                      "service_unavailable", 1};
    case StatusCode::kPermissionDenied:
      return Unauthorized(/*provided=*/true);
    default:
      return ServerError(status.ToString());
  }
}

std::string ApiErrorBody(const ApiError& error) {
  nlohmann::json body = {{"error",
                          {{"message", error.message},
                           {"type", error.type},
                           {"param", error.param ? nlohmann::json(*error.param) : nlohmann::json(nullptr)},
                           {"code", error.code ? nlohmann::json(*error.code) : nlohmann::json(nullptr)}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace engine::server
