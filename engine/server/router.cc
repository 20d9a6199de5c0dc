#include "engine/server/router.h"

#include <array>

namespace engine::server {
namespace {

struct RouteEntry {
  Endpoint endpoint;
  std::string_view method;
  std::string_view path;
};

constexpr std::array<RouteEntry, 5> kRoutes = {{
    {Endpoint::kModels, "GET", "/v1/models"},
    {Endpoint::kCompletions, "POST", "/v1/completions"},
    {Endpoint::kChatCompletions, "POST", "/v1/chat/completions"},
    {Endpoint::kHealth, "GET", "/health"},
    {Endpoint::kMetrics, "GET", "/metrics"},
}};

}  // namespace

std::string_view EndpointPath(Endpoint endpoint) {
  for (const RouteEntry& r : kRoutes) {
    if (r.endpoint == endpoint) return r.path;
  }
  return "";
}

std::string_view TargetPath(std::string_view target) {
  const std::size_t query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

ApiResult<Endpoint> Route(std::string_view method, std::string_view target) {
  const std::string_view path = TargetPath(target);
  for (const RouteEntry& r : kRoutes) {
    if (r.path != path) continue;
    if (r.method == method) return r.endpoint;
    return MethodNotAllowed(method, path, r.method);
  }
  return RouteNotFound(method, path);
}

}  // namespace engine::server
