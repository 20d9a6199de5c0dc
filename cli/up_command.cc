// clusterctl up [-f FILE] [--force] [--timeout SECONDS] [--json]
//
// Brings the cluster up: agents first (started or upgraded on every host),
// then `check` (a failure stops `up` unless --force), then the placement of
// `plan`, then every rank (runtime engine) or container (vllm-docker) on
// every host; waits until the endpoint answers /health and /v1/models and
// prints it with a curl example. Gang semantics: when any rank or container
// fails while starting, every host stops everything and `up` reports the
// first failure with its log tail. An unchanged cluster that already serves
// is left as it is. Exit 0 serving, 1 failed (nothing left running), 2 usage
// or inventory error.
#include <chrono>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "cli/command.h"
#include "common/untrusted_text.h"
#include "cli/lifecycle/agent_calls.h"
#include "cli/lifecycle/check_run.h"
#include "cli/lifecycle/cluster_status.h"
#include "cli/lifecycle/deployment.h"
#include "cli/lifecycle/deployment_record.h"
#include "cli/lifecycle/stop_run.h"
#include "cli/lifecycle_support.h"
#include "common/inventory/placement.h"
#include "common/logging.h"

namespace cluster::cli {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kFooter =
    "Examples:\n"
    "  clusterctl up -f cluster.yaml\n"
    "  clusterctl up -f cluster.yaml --timeout 1800    # a 70B model takes a while to load\n"
    "  clusterctl up -f cluster.yaml --force           # start even though `check` fails\n"
    "\n"
    "Exit codes: 0 serving, 1 failed (everything stopped again), 2 usage or inventory error.";

constexpr const char* kJsonHelp = "one document: ok, cluster, agents, check, deployment, endpoint or error, failure";
constexpr const char* kVerboseHelp =
    "progress detail on stderr: the placement, each host's network environment, each unit's state as it changes "
    "while up waits";

struct UpFlags {
  LifecycleFlags lifecycle;
  bool force = false;
  int timeout_s = 600;
};

// Progress goes to stderr so that stdout holds only the result.
void Say(const GlobalOptions& global, const std::string& line) {
  if (!global.json) std::cerr << PrintableText(line) << "\n";
}

std::string CurlExample(const Endpoint& e, bool api_key) {
  return fmt::format(
      "curl http://{}:{}/v1/chat/completions -H 'Content-Type: application/json'{} "
      "-d '{{\"model\": \"{}\", \"messages\": [{{\"role\": \"user\", \"content\": \"Hello!\"}}]}}'",
      e.address, e.port, api_key ? " -H \"Authorization: Bearer $API_KEY\"" : "", e.model);
}

int Fail(const GlobalOptions& global, Json detail, const std::string& message) {
  if (global.json) {
    detail["ok"] = false;
    detail["error"] = message;
    PrintJson(detail);
  } else {
    std::cerr << "error: " << PrintableText(message) << "\n";
  }
  return kExitFailure;
}

Json FailureJson(const control::GangFailure& f) {
  return Json{{"host", f.host}, {"unit", f.unit}, {"message", f.message}, {"log_tail", f.log_tail}};
}

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

int RunUp(const UpFlags& flags, const GlobalOptions& global) {
  auto opened = OpenCluster(flags.lifecycle, global);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  LoadedCluster& cluster = std::get<LoadedCluster>(opened);
  const ClusterAccess& access = *cluster.access;
  const inventory::Inventory& inv = cluster.inventory();
  const Endpoint endpoint = EndpointOf(inv);
  const std::string api_key = ReadApiKey(inv);
  Json result{{"ok", false}, {"cluster", inv.cluster_name}};

  // 1. Agents.
  std::vector<StatusOr<std::string>> agents(inv.hosts.size(), std::string());
  ForEachHost(inv.hosts.size(), [&](std::size_t i) {
    agents[i] = access.StartAgent(inv.hosts[i], inv.runtime.kind == inventory::RuntimeKind::kEngine);
  });
  Json agents_json = Json::object();
  std::string agent_errors;
  for (std::size_t i = 0; i < agents.size(); ++i) {
    if (agents[i].ok()) {
      agents_json[inv.hosts[i].name] = *agents[i];
      Say(global, fmt::format("{}: agent {}", inv.hosts[i].name, *agents[i]));
    } else {
      agents_json[inv.hosts[i].name] = "unreachable";
      agent_errors += (agent_errors.empty() ? "" : "\n") + agents[i].status().message();
    }
  }
  result["agents"] = agents_json;
  if (!agent_errors.empty()) return Fail(global, result, agent_errors + "\nno rank was started");

  // 2. Already up, unchanged and healthy?
  const std::string fingerprint = InventoryFingerprint(inv);
  if (auto record = LoadDeploymentRecord(access.state_dir()); record && record->fingerprint == fingerprint) {
    const auto status = GatherStatus(access);
    const EndpointHealth health = ProbeEndpoint(inv, api_key);
    if (AllUnitsRunning(status, record->id) && !FirstFailure(status, record->id) && health.healthy && health.models_ok) {
      result["ok"] = true;
      result["deployment"] = record->id;
      result["endpoint"] = health.url + "/v1";
      result["already_up"] = true;
      if (global.json) PrintJson(result);
      else std::cout << fmt::format("already up: serving '{}' at {}/v1 (deployment {})\n", endpoint.model, health.url, record->id);
      return kExitOk;
    }
  }

  // 3. Whatever ran before stops, so that its ports are free for the checks.
  for (const auto& r : StopEverywhere(access, "replaced by a new `clusterctl up`", false)) {
    if (!r.error.empty()) return Fail(global, result, r.error);
    if (!r.left.empty()) return Fail(global, result, fmt::format("{}: could not stop {}", r.host, fmt::join(r.left, ", ")));
  }

  // 4. Check.
  CheckRunOptions check_options;
  check_options.start_agents = false;
  const CheckReport report = RunCheck(access, check_options);
  result["check"] = CheckReportJson(report);
  if (report.failed()) {
    if (!global.json) PrintCheckTable(report, std::cerr);
    if (!flags.force) return Fail(global, result, "check failed: fix the failures above, or pass --force to start anyway");
    Say(global, "check failed; starting anyway (--force)");
  } else {
    Say(global, "check: passed");
  }

  // 5. Placement and start.
  auto placement = inventory::PlaceRanks(inv, std::nullopt);
  if (!placement.ok()) return ReportError(placement.status(), global);
  const std::string deployment = NewDeploymentId();
  result["deployment"] = deployment;
  if (Status s = SaveDeploymentRecord(access.state_dir(), {deployment, fingerprint, UnixMillis()}); !s.ok())
    return ReportError(s, global);
  LogPlan(*placement, report);
  const auto requests = BuildStartRequests(inv, *placement, report, deployment);
  std::vector<std::string> start_errors(inv.hosts.size());
  ForEachHost(inv.hosts.size(), [&](std::size_t i) {
    const auto& host = inv.hosts[i];
    auto client = access.Connect(host);
    auto reply = client.ok() ? CallAgent<control::StartReply>(**client, requests.at(host.name),
                                                              control::StartReplyFromJson, std::chrono::seconds(120))
                             : StatusOr<control::StartReply>(client.status());
    if (!reply.ok()) start_errors[i] = fmt::format("{}: {}", host.name, reply.status().message());
    else if (!reply->started.empty()) Say(global, fmt::format("{}: started {}", host.name, fmt::join(reply->started, ", ")));
  });
  for (const auto& e : start_errors) {
    if (e.empty()) continue;
    StopEverywhere(access, "`clusterctl up` failed to start: " + e, false);
    return Fail(global, result, e + "\neverything that had started was stopped");
  }

  // 6. Wait for the endpoint, watching for failures anywhere.
  Say(global, fmt::format("waiting for {}:{} to serve (up to {} s)", endpoint.address, endpoint.port, flags.timeout_s));
  const auto started = Clock::now();
  const auto deadline = started + std::chrono::seconds(flags.timeout_s);
  auto next_progress = started + std::chrono::seconds(10);
  EndpointHealth health;
  std::map<std::string, std::string> unit_states;  // for -v
  while (true) {
    const auto status = GatherStatus(access);
    LogUnitChanges(status, deployment, unit_states);
    if (auto failure = FirstFailure(status, deployment)) {
      StopEverywhere(access, "gang stop after a failure", false);
      result["failure"] = FailureJson(*failure);
      return Fail(global, result, FailureText(*failure) + fmt::format("\nsee: clusterctl logs -f {} --host {}",
                                                                    cluster.file, failure->host));
    }
    for (const auto& h : status) {
      if (!h.error.empty()) {
        StopEverywhere(access, "gang stop: an agent went away", false);
        return Fail(global, result, h.error + "\nevery rank and container was stopped");
      }
    }
    health = ProbeEndpoint(inv, api_key);
    if (health.healthy && health.models_ok) break;
    if (Clock::now() >= deadline) {
      StopEverywhere(access, "the endpoint did not become ready in time", false);
      return Fail(global, result,
                  fmt::format("{} did not serve within {} s ({}); everything was stopped. "
                              "See `clusterctl logs -f {}`; a large model may need a longer --timeout",
                              health.url, flags.timeout_s, health.error, cluster.file));
    }
    if (Clock::now() >= next_progress) {
      Say(global, fmt::format("still waiting after {} s: {}",
                              std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count(),
                              health.error));
      next_progress += std::chrono::seconds(10);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }

  result["ok"] = true;
  result["endpoint"] = health.url + "/v1";
  result["model"] = endpoint.model;
  if (global.json) {
    PrintJson(result);
  } else {
    std::cout << fmt::format("serving '{}' at {}/v1 (deployment {})\n", endpoint.model, health.url, deployment)
              << "try:\n  " << CurlExample(endpoint, !api_key.empty()) << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddUpCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("up", "Start agents, check, start every rank or container, wait until serving");
  auto flags = std::make_shared<UpFlags>();
  AddLifecycleFlags(cmd, flags->lifecycle);
  cmd->add_flag("--force", flags->force, "Start even when `check` reports failures");
  cmd->add_option("--timeout", flags->timeout_s, "Seconds to wait for the endpoint to serve")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd->footer(std::string(kFooter) + "\n\n" + GlobalFlagsHelp(kJsonHelp, "", kVerboseHelp));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunUp(*flags, global); }; });
}

}  // namespace cluster::cli
