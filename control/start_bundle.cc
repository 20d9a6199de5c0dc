#include "control/start_bundle.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/untrusted_text.h"
#include "control/json_codec.h"

namespace cluster::control::codec {

// Decoded strictly with the protocol's codec: a port must be a JSON integer
// (1.5 and 1e10 are refused, not truncated), strings and lists are bounded.
Status Decode(const json& j, const Where& w, AgentConfig* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("cluster", &out->cluster));
  CLUSTER_RETURN_IF_ERROR(o.Required("host", &out->host));
  CLUSTER_RETURN_IF_ERROR(o.Required("listen_address", &out->listen_address));
  CLUSTER_RETURN_IF_ERROR(o.Required("port", &out->port));
  CLUSTER_RETURN_IF_ERROR(o.Required("peers", &out->peers));
  CLUSTER_RETURN_IF_ERROR(o.Optional("start_at_boot", &out->start_at_boot));
  auto port_in_range = [](const Where& where, int port) {
    if (port >= 1 && port <= 65535) return Status::Ok();
    return where.Error(fmt::format("port {} is not in 1-65535", port));
  };
  CLUSTER_RETURN_IF_ERROR(port_in_range(w.Field("port"), out->port));
  for (std::size_t i = 0; i < out->peers.size(); ++i) {
    CLUSTER_RETURN_IF_ERROR(port_in_range(w.Field("peers").Index(i).Field("port"), out->peers[i].port));
  }
  return Status::Ok();
}

Status Decode(const json& j, const Where& w, Credentials* out) {
  CLUSTER_ASSIGN_OR_RETURN(Object o, Object::Open(j, w));
  CLUSTER_RETURN_IF_ERROR(o.Required("ca_pem", &out->ca_pem));
  CLUSTER_RETURN_IF_ERROR(o.Required("cert_pem", &out->cert_pem));
  return o.Required("key_pem", &out->key_pem);
}

}  // namespace cluster::control::codec

namespace cluster::control {
namespace {

using Json = nlohmann::json;

Json ConfigJson(const AgentConfig& config) {
  Json peers = Json::array();
  for (const auto& p : config.peers) peers.push_back({{"host", p.host}, {"address", p.address}, {"port", p.port}});
  Json j = {{"cluster", config.cluster},
            {"host", config.host},
            {"listen_address", config.listen_address},
            {"port", config.port},
            {"peers", peers}};
  // Only when set: the agent.json (and fingerprint) of every other agent stays as it was.
  if (config.start_at_boot) j["start_at_boot"] = true;
  return j;
}

StatusOr<Json> Parse(const std::string& text, const char* what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return InvalidArgumentError(std::string(what) + " is not JSON: " + Excerpt(e.what(), 200));
  }
}

}  // namespace

std::string ConfigToJson(const AgentConfig& config) { return ConfigJson(config).dump(2) + "\n"; }

StatusOr<AgentConfig> ConfigFromJson(const std::string& text) {
  CLUSTER_ASSIGN_OR_RETURN(Json j, Parse(text, "the agent configuration"));
  AgentConfig c;
  CLUSTER_RETURN_IF_ERROR(codec::Decode(j, codec::Where{"config", true}, &c));
  return c;
}

std::string BundleToJson(const StartBundle& b) {
  Json j = {{"config", ConfigJson(b.config)},
            {"credentials",
             {{"ca_pem", b.credentials.ca_pem}, {"cert_pem", b.credentials.cert_pem}, {"key_pem", b.credentials.key_pem}}}};
  if (!b.api_key.empty()) j["api_key"] = b.api_key;
  return j.dump();
}

StatusOr<StartBundle> BundleFromJson(const std::string& text) {
  CLUSTER_ASSIGN_OR_RETURN(Json j, Parse(text, "the start bundle"));
  CLUSTER_ASSIGN_OR_RETURN(codec::Object o, codec::Object::Open(j, codec::Where{"bundle", true}));
  StartBundle b;
  CLUSTER_RETURN_IF_ERROR(o.Required("config", &b.config));
  CLUSTER_RETURN_IF_ERROR(o.Required("credentials", &b.credentials));
  CLUSTER_RETURN_IF_ERROR(o.Optional("api_key", &b.api_key));
  return b;
}

}  // namespace cluster::control
