#include "engine/server/request_counters.h"

namespace engine::server {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "ok";
    case Outcome::kClientError: return "client_error";
    case Outcome::kRejected: return "rejected";
    case Outcome::kServerError: return "server_error";
    case Outcome::kCancelled: return "cancelled";
  }
  return "unknown";
}

Outcome OutcomeOfStatus(int http_status) {
  if (http_status < 400) return Outcome::kOk;
  if (http_status == 429) return Outcome::kRejected;
  if (http_status < 500) return Outcome::kClientError;
  return Outcome::kServerError;
}

}  // namespace engine::server
