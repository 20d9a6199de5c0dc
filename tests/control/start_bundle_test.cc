// What `clusterd start` reads on its stdin (control/start_bundle.h): decoded
// as strictly as a protocol request, so a malformed bundle is refused with
// the field's path instead of becoming a wrong port.
#include "control/start_bundle.h"

#include <catch2/catch.hpp>

#include <string>

using namespace cluster;
using namespace cluster::control;

namespace {

std::string Bundle(const std::string& port, const std::string& peer_port = "7411") {
  return R"({"config": {"cluster": "lab", "host": "h1", "listen_address": "10.0.0.1", "port": )" + port +
         R"(, "peers": [{"host": "h2", "address": "10.0.0.2", "port": )" + peer_port +
         R"(}]}, "credentials": {"ca_pem": "CA", "cert_pem": "CERT", "key_pem": "KEY"}, "api_key": "k"})";
}

}  // namespace

TEST_CASE("A start bundle round-trips") {
  StartBundle b;
  b.config = {"lab", "h1", "10.0.0.1", 7411, {{"h2", "10.0.0.2", 7412}}};
  b.credentials = {"CA", "CERT", "KEY"};
  b.api_key = "secret";
  auto back = BundleFromJson(BundleToJson(b));
  REQUIRE(back.ok());
  CHECK(back->config.port == 7411);
  CHECK(back->config.peers.at(0).port == 7412);
  CHECK(back->credentials.key_pem == "KEY");
  CHECK(back->api_key == "secret");
  auto config = ConfigFromJson(ConfigToJson(b.config));
  REQUIRE(config.ok());
  CHECK(config->host == "h1");
}

TEST_CASE("Ports of a start bundle must be JSON integers in 1-65535, never truncated or wrapped") {
  // Read with get<int>, 1.5 became port 1 and 1e10 a negative number.
  auto r = BundleFromJson(Bundle("1.5"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == "bundle.config.port: expected an integer");
  CHECK(BundleFromJson(Bundle("1e10")).status().message() == "bundle.config.port: expected an integer");
  CHECK(BundleFromJson(Bundle("10000000000")).status().message() ==
        "bundle.config.port: expected an integer from -2147483648 to 2147483647");
  CHECK(BundleFromJson(Bundle("0")).status().message() == "bundle.config.port: port 0 is not in 1-65535");
  CHECK(BundleFromJson(Bundle("7411", "70000")).status().message() ==
        "bundle.config.peers[0].port: port 70000 is not in 1-65535");
  CHECK(BundleFromJson(Bundle("\"7411\"")).status().message() == "bundle.config.port: expected an integer");
  CHECK(ConfigFromJson(R"({"cluster": "lab", "host": "h1", "listen_address": "::1", "port": 2.0, "peers": []})")
            .status()
            .message() == "config.port: expected an integer");
}

TEST_CASE("A start bundle that is not JSON or misses a part names what is wrong") {
  CHECK(BundleFromJson("{").status().message().starts_with("the start bundle is not JSON: "));
  CHECK(BundleFromJson(R"({"config": {"cluster": "lab", "host": "h1", "listen_address": "10.0.0.1", "port": 1,
                           "peers": []}})")
            .status()
            .message() == "bundle.credentials: required field is missing");
  CHECK(BundleFromJson("[]").status().message() == "bundle: expected an object");
}

TEST_CASE("start_at_boot is written only when set, so the configuration of every other agent stays as it was") {
  AgentConfig config{"lab", "h1", "10.0.0.1", 7411, {}};
  CHECK(ConfigToJson(config).find("start_at_boot") == std::string::npos);
  auto back = ConfigFromJson(ConfigToJson(config));
  REQUIRE(back.ok());
  CHECK_FALSE(back->start_at_boot);
  config.start_at_boot = true;
  back = ConfigFromJson(ConfigToJson(config));
  REQUIRE(back.ok());
  CHECK(back->start_at_boot);
  CHECK(ConfigFromJson(R"({"cluster": "lab", "host": "h1", "listen_address": "::1", "port": 1, "peers": [],
                           "start_at_boot": "yes"})")
            .status()
            .message() == "config.start_at_boot: expected a boolean");
}
