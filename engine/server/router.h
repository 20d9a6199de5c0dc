// The routes of the HTTP API: which endpoint a method and target name.
// Pure; the handler (api_handler.h) dispatches on the result.
//
//   GET  /v1/models            the served model
//   POST /v1/completions       text completion
//   POST /v1/chat/completions  chat completion
//   GET  /health               liveness (no API key needed)
//   GET  /metrics              Prometheus text
//
// The query string is ignored. A known path with another method is 405 (with
// Allow); anything else is 404.
#pragma once

#include <string_view>

#include "engine/server/api_error.h"

namespace engine::server {

enum class Endpoint { kModels, kCompletions, kChatCompletions, kHealth, kMetrics };

// The path, e.g. "/v1/completions" (also the endpoint label in /metrics).
std::string_view EndpointPath(Endpoint endpoint);

// The endpoint for `method` and `target`, or the 404/405 ApiError.
ApiResult<Endpoint> Route(std::string_view method, std::string_view target);

// The target without its query string ("/v1/models?x=1" -> "/v1/models").
std::string_view TargetPath(std::string_view target);

}  // namespace engine::server
