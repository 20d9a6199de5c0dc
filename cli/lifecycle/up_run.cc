#include "cli/lifecycle/up_run.h"

#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "cli/lifecycle/agent_calls.h"
#include "cli/lifecycle/check_run.h"
#include "cli/lifecycle/cluster_status.h"
#include "cli/lifecycle/deployment.h"
#include "cli/lifecycle/deployment_record.h"
#include "cli/lifecycle/stop_run.h"
#include "common/clock.h"
#include "common/inventory/placement.h"
#include "common/logging.h"

namespace cluster::cli {
namespace {

using Clock = std::chrono::steady_clock;

std::string FailureText(const control::GangFailure& f) {
  std::string text = fmt::format("{} on {} {}; every rank and container was stopped.", f.unit, f.host, f.message);
  if (!f.log_tail.empty()) {
    text += fmt::format("\nlast lines of its log:");
    for (const auto& line : f.log_tail) text += "\n  " + line;
  }
  return text;
}

// -v: where every rank runs and the network environment each host's ranks
// or containers get.
void LogPlan(const inventory::Placement& placement, const CheckReport& report) {
  for (const inventory::HostPlacement& h : placement.hosts) {
    for (const inventory::RankPlacement& r : h.ranks) {
      LOG_INFO("{}: rank {} (stage {}, tensor-parallel rank {}) on {}", h.host, r.rank, r.stage, r.tp_rank,
               r.gpu ? fmt::format("GPU {}", *r.gpu) : std::string("the CPU"));
    }
    std::string env;
    for (const auto& [name, value] : report.EnvFor(h.host)) env += fmt::format(" {}={}", name, value);
    if (!env.empty()) LOG_INFO("{}: environment{}", h.host, env);
  }
}

// -v: each unit's state when it changes while `up` waits ("h1: rank 0 running").
void LogUnitChanges(const std::vector<HostStatus>& status, const std::string& deployment,
                    std::map<std::string, std::string>& seen) {
  for (const HostStatus& h : status) {
    if (!h.reply || h.reply->deployment != deployment) continue;
    for (const control::UnitStatus& u : h.reply->units) {
      std::string state = control::UnitStateName(u.state);
      std::string& last = seen[h.host + "\n" + u.name];
      if (state != last) LOG_INFO("{}: {} {}{}", h.host, u.name, state, u.pid ? fmt::format(" (pid {})", u.pid) : "");
      last = std::move(state);
    }
  }
}

// 1. Every host's agent, started or upgraded; false when one cannot be.
bool StartAgents(const ClusterAccess& access, const Runtime& runtime, const UpProgress& progress, UpResult& result) {
  const inventory::Inventory& inv = access.inventory();
  const bool engine = runtime.Needs().engine;
  std::vector<StatusOr<std::string>> agents(inv.hosts.size(), std::string());
  ForEachHost(inv.hosts.size(), [&](std::size_t i) { agents[i] = access.StartAgent(inv.hosts[i], engine); });
  std::string errors;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    const std::string& host = inv.hosts[i].name;
    if (agents[i].ok()) {
      result.agents.emplace_back(host, *agents[i]);
      progress.say(fmt::format("{}: agent {}", host, *agents[i]));
    } else {
      result.agents.emplace_back(host, "unreachable");
      errors += (errors.empty() ? "" : "\n") + agents[i].status().message();
    }
  }
  if (!errors.empty()) result.error = errors + "\nno rank was started";
  return errors.empty();
}

// 2. True when the cluster already serves the deployment of this very inventory.
bool AlreadyServing(const ClusterAccess& access, const std::string& fingerprint, const UpOptions& options,
                    UpResult& result) {
  const auto record = LoadDeploymentRecord(access.state_dir());
  if (!record || record->fingerprint != fingerprint) return false;
  const auto status = GatherStatus(access);
  const EndpointHealth health = ProbeEndpoint(access.inventory(), options.api_key);
  if (!AllUnitsRunning(status, record->id) || FirstFailure(status, record->id) || !health.healthy ||
      !health.models_ok) {
    return false;
  }
  result.deployment = record->id;
  result.url = health.url;
  result.already_up = true;
  return true;
}

// 3. Whatever ran before stops, so that its ports are free for the checks.
bool StopPrevious(const ClusterAccess& access, UpResult& result) {
  for (const auto& r : StopEverywhere(access, "replaced by a new `clusterctl up`", false)) {
    if (!r.error.empty()) {
      result.error = r.error;
      return false;
    }
    if (!r.left.empty()) {
      result.error = fmt::format("{}: could not stop {}", r.host, fmt::join(r.left, ", "));
      return false;
    }
  }
  return true;
}

// 4. check, on the agents that run now.
bool Check(const ClusterAccess& access, const Runtime& runtime, const UpOptions& options, const UpProgress& progress,
           UpResult& result) {
  CheckRunOptions check_options;
  check_options.start_agents = false;
  result.check = RunCheck(access, runtime, check_options);
  if (!result.check->failed()) {
    progress.say("check: passed");
    return true;
  }
  progress.check_failed(*result.check);
  if (!options.force) {
    result.error = "check failed: fix the failures above, or pass --force to start anyway";
    return false;
  }
  progress.say("check failed; starting anyway (--force)");
  return true;
}

// 5. The placement, then every host's units; on any error everything stops again.
bool StartUnits(const ClusterAccess& access, const Runtime& runtime, const std::string& fingerprint,
                const UpProgress& progress, UpResult& result) {
  const inventory::Inventory& inv = access.inventory();
  auto placement = inventory::PlaceRanks(inv, std::nullopt);
  if (!placement.ok()) {
    result.invalid = placement.status();
    return false;
  }
  result.deployment = NewDeploymentId();
  if (Status s = SaveDeploymentRecord(access.state_dir(), {result.deployment, fingerprint, UnixMillis()}); !s.ok()) {
    result.invalid = s;
    return false;
  }
  LogPlan(*placement, *result.check);
  const auto requests =
      BuildStartRequests(runtime, StartPlan{&inv, &*placement, &*result.check, result.deployment});
  std::vector<std::string> errors(inv.hosts.size());
  ForEachHost(inv.hosts.size(), [&](std::size_t i) {
    const auto& host = inv.hosts[i];
    auto client = access.Connect(host);
    auto reply = client.ok() ? CallAgent<control::StartReply>(**client, requests.at(host.name),
                                                              control::StartReplyFromJson, std::chrono::seconds(120))
                             : StatusOr<control::StartReply>(client.status());
    if (!reply.ok()) errors[i] = fmt::format("{}: {}", host.name, reply.status().message());
    else if (!reply->started.empty()) progress.say(fmt::format("{}: started {}", host.name, fmt::join(reply->started, ", ")));
  });
  for (const auto& e : errors) {
    if (e.empty()) continue;
    StopEverywhere(access, "`clusterctl up` failed to start: " + e, false);
    result.error = e + "\neverything that had started was stopped";
    return false;
  }
  return true;
}

// 6. Until the endpoint serves, watching for failures anywhere.
bool WaitUntilServing(const ClusterAccess& access, const UpOptions& options, const UpProgress& progress,
                      UpResult& result) {
  const inventory::Inventory& inv = access.inventory();
  const Endpoint endpoint = EndpointOf(inv);
  progress.say(fmt::format("waiting for {}:{} to serve (up to {} s)", endpoint.address, endpoint.port,
                           options.timeout_s));
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(options.timeout_s);
  auto next_progress = started + std::chrono::seconds(10);
  std::map<std::string, std::string> unit_states;  // for -v
  while (true) {
    const auto status = GatherStatus(access);
    LogUnitChanges(status, result.deployment, unit_states);
    if (auto failure = FirstFailure(status, result.deployment)) {
      StopEverywhere(access, "gang stop after a failure", false);
      result.failure = *failure;
      result.error = FailureText(*failure) +
                     fmt::format("\nsee: clusterctl logs -f {} --host {}", options.file, failure->host);
      return false;
    }
    for (const auto& h : status) {
      if (!h.error.empty()) {
        StopEverywhere(access, "gang stop: an agent went away", false);
        result.error = h.error + "\nevery rank and container was stopped";
        return false;
      }
    }
    const EndpointHealth health = ProbeEndpoint(inv, options.api_key);
    if (health.healthy && health.models_ok) {
      result.url = health.url;
      return true;
    }
    if (Clock::now() >= deadline) {
      StopEverywhere(access, "the endpoint did not become ready in time", false);
      result.error = fmt::format(
          "{} did not serve within {} s ({}); everything was stopped. See `clusterctl logs -f {}`; a large model "
          "may need a longer --timeout",
          health.url, options.timeout_s, health.error, options.file);
      return false;
    }
    if (Clock::now() >= next_progress) {
      progress.say(fmt::format("still waiting after {} s: {}",
                               std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count(),
                               health.error));
      next_progress += std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

UpResult RunUp(const ClusterAccess& access, const Runtime& runtime, const UpOptions& options,
               const UpProgress& progress) {
  UpResult result;
  if (!StartAgents(access, runtime, progress, result)) return result;
  const std::string fingerprint = InventoryFingerprint(access.inventory());
  if (AlreadyServing(access, fingerprint, options, result)) return result;
  if (!StopPrevious(access, result)) return result;
  if (!Check(access, runtime, options, progress, result)) return result;
  if (!StartUnits(access, runtime, fingerprint, progress, result)) return result;
  WaitUntilServing(access, options, progress, result);
  return result;
}

}  // namespace cluster::cli
