// RequestCounters: HTTP requests answered, by endpoint and outcome, for
// GET /metrics. Owned and used by the server's I/O thread only (no locking).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace engine::server {

enum class Outcome {
  kOk,            // 2xx, answered completely
  kClientError,   // 4xx other than 429: the request was wrong (or unauthorized)
  kRejected,      // 429: the queue was full
  kServerError,   // 5xx, or a stream that ended with an error event
  kCancelled,     // the client went away before the answer was complete
};

// "ok", "client_error", "rejected", "server_error", "cancelled".
std::string_view OutcomeName(Outcome outcome);
// The outcome of a whole response with this HTTP status.
Outcome OutcomeOfStatus(int http_status);

class RequestCounters {
 public:
  void Record(std::string_view endpoint, Outcome outcome) { ++counts_[{std::string(endpoint), outcome}]; }
  // (endpoint, outcome) -> count, in a stable order.
  const std::map<std::pair<std::string, Outcome>, std::uint64_t>& counts() const { return counts_; }

 private:
  std::map<std::pair<std::string, Outcome>, std::uint64_t> counts_;
};

}  // namespace engine::server
