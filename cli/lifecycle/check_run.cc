#include "common/clock.h"
#include "cli/lifecycle/check_run.h"

#include <chrono>

#include <fmt/format.h>

#include "cli/lifecycle/agent_calls.h"
#include "cli/lifecycle/runtime.h"
#include "common/logging.h"

namespace cluster::cli {
using inventory::Host;

namespace {

control::FactsRequest FactsFor(const inventory::Inventory& inv, const HostNeeds& needs, const Host& host,
                               const CheckRunOptions& options) {
  control::FactsRequest req;
  if (const inventory::Model* model = inv.FindModel(inv.runtime.model)) {
    req.model_path = inv.ModelPathOn(host, *model).string();
  }
  req.hash_model = options.hash_model;
  if (options.check_ports) req.ports = RequiredPorts(inv, needs, host);
  // The ports are bound on the host's address (the API) and on its cluster
  // address (rendezvous, Ray); where those differ, probing every address
  // ("" = 0.0.0.0) finds a program on either.
  req.bind_address = host.data_address ? "" : host.address;
  req.image = needs.image;
  req.engine_device = needs.engine_device;
  return req;
}

}  // namespace

std::vector<int> RequiredPorts(const inventory::Inventory& inv, const HostNeeds& needs, const Host& host) {
  if (&host != inv.Head()) return {};
  return needs.head_ports;
}

CheckReport RunCheck(const ClusterAccess& access, const Runtime& runtime, const CheckRunOptions& options) {
  const inventory::Inventory& inv = access.inventory();
  const HostNeeds needs = runtime.Needs();
  const Host* head = inv.Head();
  std::vector<HostObservation> observed(inv.hosts.size());
  ForEachHost(inv.hosts.size(), [&](std::size_t i) {
    const Host& host = inv.hosts[i];
    HostObservation& o = observed[i];
    o.host = host.name;
    if (options.start_agents) {
      LOG_INFO("{}: starting the agent over {}", host.name,
               host.transport == inventory::Transport::kLocal ? "the local transport" : "SSH");
      auto started = access.StartAgent(host, needs.engine, &o.ssh_failed);
      if (!started.ok()) {
        o.unreachable_error = started.status().message();
        return;
      }
      LOG_INFO("{}: agent {}", host.name, *started);
      if (*started != "running") o.agent_action = *started;
    }
    auto client = access.Connect(host);
    if (!client.ok()) {
      o.unreachable_error = client.status().message();
      return;
    }
    // Clock offset: the agent's time against the middle of the round trip.
    const std::int64_t t0 = UnixMillis();
    auto hello = CallAgent<control::HelloReply>(**client, control::HelloRequest{}, control::HelloReplyFromJson);
    const std::int64_t t1 = UnixMillis();
    if (hello.ok()) o.clock_offset_ms = hello->unix_time_ms - (t0 + t1) / 2;
    // Ports our own running deployment holds are not a problem for `check`.
    auto status = CallAgent<control::StatusReply>(**client, control::StatusRequest{}, control::StatusReplyFromJson);
    control::FactsRequest request = FactsFor(inv, needs, host, options);
    for (const auto& u : status.ok() ? status->units : std::vector<control::UnitStatus>{}) {
      if (u.state != control::UnitState::kRunning) continue;
      for (int port : request.ports) o.ports_held_by_deployment[port] = u.name;
      request.ports.clear();
    }
    LOG_INFO("{}: asking the agent for its facts{}", host.name,
             request.hash_model && !request.model_path.empty() ? " (hashing the model at " + request.model_path + ")"
                                                               : "");
    const std::int64_t asked = UnixMillis();
    auto facts = CallAgent<control::NodeFacts>(**client, request, control::NodeFactsFromJson,
                                               std::chrono::minutes(30));
    if (!facts.ok()) {
      o.unreachable_error = fmt::format("{}: {}", host.name, facts.status().message());
      return;
    }
    LOG_INFO("{}: facts in {} ms: {} GPU{}, {} interface{}", host.name, UnixMillis() - asked, facts->gpus.size(),
             facts->gpus.size() == 1 ? "" : "s", facts->interfaces.size(), facts->interfaces.size() == 1 ? "" : "s");
    o.facts = std::move(*facts);

    if (&host != head && head) {
      auto probe = CallAgent<control::ProbeReply>(**client, control::ProbeRequest{head->name},
                                                  control::ProbeReplyFromJson);
      if (probe.ok()) o.probe_to_head = *probe;
      else o.probe_to_head = control::ProbeReply{false, 0, "", probe.status().message()};
      if (o.probe_to_head->reachable) {
        LOG_INFO("{}: reached the agent of {} in {} ms from {}", host.name, head->name, o.probe_to_head->rtt_ms,
                 o.probe_to_head->source_address);
      } else {
        LOG_INFO("{}: cannot reach the agent of {}: {}", host.name, head->name, o.probe_to_head->error);
      }
    }
  });
  CheckReport report = EvaluateCheck(inv, runtime, observed);
  for (CheckRow& row : runtime.SummaryRows()) report.rows.push_back(std::move(row));
  if (options.comm) AddCommRows(access, runtime, observed, options, report);
  return report;
}

}  // namespace cluster::cli
