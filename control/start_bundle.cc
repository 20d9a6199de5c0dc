#include "control/start_bundle.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace cluster::control {
namespace {

using Json = nlohmann::json;

Json ConfigJson(const AgentConfig& config) {
  Json peers = Json::array();
  for (const auto& p : config.peers) peers.push_back({{"host", p.host}, {"address", p.address}, {"port", p.port}});
  return {{"cluster", config.cluster},
          {"host", config.host},
          {"listen_address", config.listen_address},
          {"port", config.port},
          {"peers", peers}};
}

AgentConfig ConfigOf(const Json& j) {
  AgentConfig c;
  c.cluster = j.at("cluster").get<std::string>();
  c.host = j.at("host").get<std::string>();
  c.listen_address = j.at("listen_address").get<std::string>();
  c.port = j.at("port").get<int>();
  for (const auto& p : j.at("peers")) {
    c.peers.push_back({p.at("host").get<std::string>(), p.at("address").get<std::string>(), p.at("port").get<int>()});
  }
  return c;
}

Status CheckConfig(const AgentConfig& c) {
  if (c.port < 1 || c.port > 65535) return InvalidArgumentError(fmt::format("port {} is not in 1-65535", c.port));
  if (c.peers.size() > 256) return InvalidArgumentError("more than 256 peers");
  return Status::Ok();
}

}  // namespace

std::string ConfigToJson(const AgentConfig& config) { return ConfigJson(config).dump(2) + "\n"; }

StatusOr<AgentConfig> ConfigFromJson(const std::string& text) {
  try {
    AgentConfig c = ConfigOf(Json::parse(text));
    CLUSTER_RETURN_IF_ERROR(CheckConfig(c));
    return c;
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("agent configuration: ") + e.what());
  }
}

std::string BundleToJson(const StartBundle& b) {
  Json j = {{"config", ConfigJson(b.config)},
            {"credentials",
             {{"ca_pem", b.credentials.ca_pem}, {"cert_pem", b.credentials.cert_pem}, {"key_pem", b.credentials.key_pem}}}};
  if (!b.api_key.empty()) j["api_key"] = b.api_key;
  return j.dump();
}

StatusOr<StartBundle> BundleFromJson(const std::string& text) {
  try {
    Json j = Json::parse(text);
    StartBundle b;
    b.config = ConfigOf(j.at("config"));
    CLUSTER_RETURN_IF_ERROR(CheckConfig(b.config));
    const Json& c = j.at("credentials");
    b.credentials = {c.at("ca_pem").get<std::string>(), c.at("cert_pem").get<std::string>(),
                     c.at("key_pem").get<std::string>()};
    if (j.contains("api_key")) b.api_key = j.at("api_key").get<std::string>();
    return b;
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string("the input is not a start bundle: ") + e.what());
  }
}

}  // namespace cluster::control
