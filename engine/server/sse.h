// Server-sent events as the OpenAI streaming API uses them: each event is
// "data: <one JSON document>\n\n", and the stream ends with "data: [DONE]\n\n".
// JSON documents are single-line (no raw newlines), so one data line suffices.
#pragma once

#include <string>
#include <string_view>

namespace engine::server {

// "data: " + payload + "\n\n". REQUIRES: payload has no '\n' or '\r'.
std::string SseEvent(std::string_view payload);

// "data: [DONE]\n\n"
std::string SseDone();

}  // namespace engine::server
