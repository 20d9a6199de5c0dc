#include "cli/lifecycle/cluster_status.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/lifecycle/agent_calls.h"
#include "cli/lifecycle/deployment.h"
#include "cli/lifecycle/endpoint_probe.h"
#include "cli/transfer/transport.h"
#include "common/files.h"

namespace cluster::cli {

std::vector<HostStatus> GatherStatus(const ClusterAccess& access) {
  const auto& hosts = access.inventory().hosts;
  std::vector<HostStatus> out(hosts.size());
  ForEachHost(hosts.size(), [&](std::size_t i) {
    out[i].host = hosts[i].name;
    auto client = access.Connect(hosts[i]);
    if (!client.ok()) {
      out[i].error = client.status().message();
      return;
    }
    auto reply = CallAgent<control::StatusReply>(**client, control::StatusRequest{}, control::StatusReplyFromJson);
    if (!reply.ok()) out[i].error = fmt::format("{}: {}", hosts[i].name, reply.status().message());
    else out[i].reply = std::move(*reply);
  });
  return out;
}

std::optional<control::GangFailure> FirstFailure(const std::vector<HostStatus>& hosts, const std::string& deployment) {
  std::optional<control::GangFailure> first;
  for (const auto& h : hosts) {
    if (!h.reply || h.reply->deployment != deployment || !h.reply->failure) continue;
    if (!first || h.reply->failure->unix_ms < first->unix_ms) first = h.reply->failure;
  }
  return first;
}

std::optional<control::RestartState> GangRestartState(const std::vector<HostStatus>& hosts,
                                                      const std::string& deployment) {
  std::optional<control::RestartState> best;
  auto decided = [](const control::RestartState& s) { return !s.not_restarted.empty() || s.next_unix_ms != 0; };
  for (const auto& h : hosts) {
    if (!h.reply || h.reply->deployment != deployment || !h.reply->restart) continue;
    const control::RestartState& s = *h.reply->restart;
    if (!best || s.restarts > best->restarts || (s.restarts == best->restarts && decided(s) && !decided(*best))) best = s;
  }
  return best;
}

bool AllUnitsRunning(const std::vector<HostStatus>& hosts, const std::string& deployment) {
  for (const auto& h : hosts) {
    if (!h.reply || h.reply->deployment != deployment) return false;
    for (const auto& u : h.reply->units) {
      if (u.state != control::UnitState::kRunning) return false;
    }
  }
  return true;
}

std::string ReadApiKey(const inventory::Inventory& inv) {
  if (!inv.runtime.api_key_file) return "";
  auto key = ReadFile(*inv.runtime.api_key_file);
  return key.ok() ? TrimOutput(*key) : "";
}

EndpointHealth ProbeEndpoint(const inventory::Inventory& inv, const std::string& api_key) {
  const Endpoint e = EndpointOf(inv);
  EndpointHealth h;
  h.url = fmt::format("http://{}:{}", e.address, e.port);
  constexpr auto kTimeout = std::chrono::milliseconds(3000);
  auto health = HttpGet(e.address, e.port, "/health", api_key, kTimeout);
  if (!health.ok()) {
    h.error = health.status().message();
    return h;
  }
  h.healthy = health->status == 200;
  if (!h.healthy) h.error = fmt::format("/health answered {}", health->status);
  auto models = HttpGet(e.address, e.port, "/v1/models", api_key, kTimeout);
  if (models.ok() && models->status == 200) {
    try {
      const nlohmann::json list = nlohmann::json::parse(models->body);
      for (const auto& m : list.at("data")) h.models.push_back(m.at("id").get<std::string>());
    } catch (const nlohmann::json::exception& ex) {
      h.error = fmt::format("/v1/models answered what is not a model list: {}", ex.what());
    }
    for (const auto& m : h.models) h.models_ok = h.models_ok || m == e.model;
    if (!h.models_ok && h.error.empty()) h.error = fmt::format("/v1/models does not list {}", e.model);
  } else if (h.error.empty()) {
    h.error = models.ok() ? fmt::format("/v1/models answered {}", models->status) : models.status().message();
  }
  auto metrics = HttpGet(e.address, e.port, "/metrics", api_key, kTimeout);
  if (metrics.ok() && metrics->status == 200) h.metrics = ParsePrometheus(metrics->body);
  return h;
}

}  // namespace cluster::cli
