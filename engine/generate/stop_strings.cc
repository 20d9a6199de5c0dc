#include "engine/generate/stop_strings.h"

#include <algorithm>

namespace engine {

std::string StopStringMatcher::Push(std::string_view chunk) {
  if (stopped_) return "";
  pending_.append(chunk);
  // Earliest occurrence of any stop string (the longest one on a tie).
  std::size_t first = std::string::npos;
  for (const std::string& stop : stops_) {
    const std::size_t at = pending_.find(stop);
    if (at == std::string::npos) continue;
    if (first == std::string::npos || at < first || (at == first && stop.size() > matched_.size())) {
      first = at;
      matched_ = stop;
    }
  }
  if (first != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, first);
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  std::size_t keep = 0;
  for (const std::string& stop : stops_) {
    const std::size_t max_len = std::min(stop.size() - 1, pending_.size());
    for (std::size_t len = max_len; len > keep; --len) {
      if (pending_.compare(pending_.size() - len, len, stop, 0, len) == 0) {
        keep = len;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return out;
}

std::string StopStringMatcher::Flush() {
  if (stopped_) return "";
  std::string out = std::move(pending_);
  pending_.clear();
  return out;
}

}  // namespace engine
