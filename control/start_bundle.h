// What clusterctl hands to `clusterd start` on its stdin over SSH: the
// agent's configuration, its credentials and, when the runtime has one, the
// API key of the endpoint. One JSON object:
//   {"config": {"cluster", "host", "listen_address", "port", "peers": [{"host", "address", "port"}],
//               "start_at_boot": true},  (optional, false when absent)
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
  // runtime.restart always: the agent is an enabled systemd unit that the
  // host starts at boot (where systemd manages it), so that the deployment
  // comes back after a reboot; otherwise a transient unit.
  bool start_at_boot = false;
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
