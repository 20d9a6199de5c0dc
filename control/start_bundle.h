// What clusterctl hands to `clusterd start` on its stdin over SSH: the
// agent's configuration, its credentials and, when the runtime has one, the
// API key of the endpoint. One JSON object:
//   {"config": {"cluster", "host", "listen_address", "port", "peers": [{"host", "address", "port"}]},
//    "credentials": {"ca_pem", "cert_pem", "key_pem"},
//    "api_key": "..."}                       (optional)
// It travels only over SSH (or a local pipe), never over the network in clear.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "control/messages.h"
#include "control/pki.h"

namespace cluster::control {

struct AgentConfig {
  std::string cluster;
  std::string host;                   // inventory host name
  std::string listen_address;         // the host's cluster address (or 127.0.0.1)
  int port = kDefaultAgentPort;
  std::vector<PeerAgent> peers;       // every other host's agent
};

struct StartBundle {
  AgentConfig config;
  Credentials credentials;
  std::string api_key;                // "" for none
};

std::string ConfigToJson(const AgentConfig& config);
StatusOr<AgentConfig> ConfigFromJson(const std::string& text);
std::string BundleToJson(const StartBundle& bundle);
StatusOr<StartBundle> BundleFromJson(const std::string& text);

}  // namespace cluster::control
