// Routes: five endpoints; a known path with the wrong method is 405 with
// Allow, anything else 404.
#include "engine/server/router.h"

#include <catch2/catch.hpp>

using namespace engine::server;

TEST_CASE("Each endpoint is reached by its method and path, whatever the query string") {
  CHECK(*Route("GET", "/v1/models") == Endpoint::kModels);
  CHECK(*Route("POST", "/v1/completions") == Endpoint::kCompletions);
  CHECK(*Route("POST", "/v1/chat/completions?x=1") == Endpoint::kChatCompletions);
  CHECK(*Route("GET", "/health") == Endpoint::kHealth);
  CHECK(*Route("GET", "/metrics") == Endpoint::kMetrics);
}

TEST_CASE("A known path with another method is 405 naming the allowed method") {
  auto r = Route("GET", "/v1/completions");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().http_status == 405);
  CHECK(r.error().message == "Method GET is not allowed on /v1/completions; use POST.");
  CHECK(r.error().allow == "POST");
}

TEST_CASE("An unknown path is 404 listing the routes") {
  auto r = Route("POST", "/v1/embeddings");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().http_status == 404);
  CHECK(r.error().message ==
        "Unknown route: POST /v1/embeddings. This server has GET /v1/models, POST /v1/completions, POST "
        "/v1/chat/completions, GET /health and GET /metrics.");
}
