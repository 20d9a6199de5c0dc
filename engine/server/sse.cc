#include "engine/server/sse.h"

namespace engine::server {

std::string SseEvent(std::string_view payload) {
  std::string event;
  event.reserve(payload.size() + 8);
  event.append("data: ").append(payload).append("\n\n");
  return event;
}

std::string SseDone() { return "data: [DONE]\n\n"; }

}  // namespace engine::server
