#include "cli/lifecycle/deployment.h"

#include <chrono>
#include <ctime>
#include <random>

#include <fmt/format.h>


namespace cluster::cli {
using inventory::Host;

namespace {

std::vector<control::PeerAgent> PeersOf(const inventory::Inventory& inv, const Host& host) {
  std::vector<control::PeerAgent> peers;
  for (const Host& h : inv.hosts) {
    if (&h != &host) peers.push_back({h.name, h.address, inv.network.agent_port});
  }
  return peers;
}

}  // namespace

std::string NewDeploymentId() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &utc);
  std::random_device random;
  return fmt::format("{}-{:04x}", stamp, random() & 0xffff);
}

Endpoint EndpointOf(const inventory::Inventory& inv) {
  Endpoint e;
  const Host* head = inv.Head();
  e.address = head ? head->address : "";
  // A specific bind address is where the API is; a wildcard one is on every address, the head's too.
  if (inv.runtime.bind && *inv.runtime.bind != "0.0.0.0") e.address = *inv.runtime.bind;
  e.port = inv.runtime.port;
  e.model = inv.runtime.model;
  return e;
}

control::RestartPolicy RestartPolicyOf(const inventory::RestartPolicy& p) {
  control::RestartPolicy out;
  out.policy = p.policy == inventory::RestartPolicyKind::kAlways      ? control::RestartPolicyKind::kAlways
               : p.policy == inventory::RestartPolicyKind::kOnFailure ? control::RestartPolicyKind::kOnFailure
                                                                        : control::RestartPolicyKind::kNever;
  out.max_restarts = p.max_restarts;
  out.window_s = p.window_s;
  out.backoff_s = p.backoff_s;
  return out;
}

std::map<std::string, control::StartRequest> BuildStartRequests(const Runtime& runtime, const StartPlan& plan) {
  const inventory::Inventory& inv = *plan.inventory;
  std::vector<control::StartRequest> per_host(inv.hosts.size());
  for (std::size_t i = 0; i < inv.hosts.size(); ++i) {
    per_host[i].deployment = plan.deployment;
    per_host[i].peers = PeersOf(inv, inv.hosts[i]);
    per_host[i].restart = RestartPolicyOf(inv.runtime.restart);
  }
  runtime.AddUnits(plan, per_host);
  std::map<std::string, control::StartRequest> requests;
  for (std::size_t i = 0; i < inv.hosts.size(); ++i) requests[inv.hosts[i].name] = std::move(per_host[i]);
  return requests;
}

}  // namespace cluster::cli
