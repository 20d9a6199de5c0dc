// Parsing a request body into JSON: the one place a body's syntax is judged.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

#include "engine/server/api_error.h"

namespace engine::server {

// The body as a JSON object. 400 "We could not parse the JSON body of your
// request: <where>" for malformed JSON or a number beyond a double (the
// parser's words, at most about 200 bytes of them), 400 for a JSON value
// that is not an object. Never throws.
ApiResult<nlohmann::json> ParseJsonObject(std::string_view body);

}  // namespace engine::server
