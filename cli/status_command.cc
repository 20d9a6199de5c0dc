// clusterctl status [-f FILE] [--json] [--watch [--interval SECONDS]] [--json-lines]
//
// Per host: the agent (version, uptime, or why it does not answer), its GPUs
// (memory used, utilisation) and the deployment's ranks or container (pid,
// state, restarts); then the endpoint's health and its request and token
// rates from /metrics, the first failure if a unit failed, and with a
// restart policy (runtime.restart) the gang's restarts, its last failure and
// whether and when it restarts or why not. Exit 0 when
// every agent answers, every unit runs and the endpoint is healthy; 1
// otherwise (also when nothing is deployed); 2 usage or inventory error.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/lifecycle/cluster_status.h"
#include "cli/lifecycle/deployment_record.h"
#include "cli/lifecycle/endpoint_probe.h"
#include "cli/lifecycle_support.h"
#include "cli/table.h"
#include "cli/transfer/size_text.h"

namespace cluster::cli {
namespace {

using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

constexpr const char* kFooter =
    "Examples:\n"
    "  clusterctl status -f cluster.yaml\n"
    "  clusterctl status -f cluster.yaml --watch\n"
    "  clusterctl status -f cluster.yaml --json | jq .endpoint\n"
    "  clusterctl status -f cluster.yaml --watch --json-lines | jq -c '.endpoint.tokens_per_s'\n"
    "\n"
    "Exit codes: 0 serving and healthy, 1 not (or nothing deployed), 2 usage or inventory error.";

struct StatusFlags {
  LifecycleFlags lifecycle;
  bool watch = false;
  double interval_s = 2;
};

// Request and token rates between two /metrics samples of the engine or vLLM.
struct Rates {
  std::optional<double> requests_per_s;
  std::optional<double> tokens_per_s;
};

// Generation requests only: the probes of `status` itself (/health,
// /v1/models, /metrics) are requests too, and must not count.
double Requests(const std::map<std::string, double>& m) {
  double sum = SumMetric(m, "vllm:request_success_total");
  for (const auto& [key, value] : m) {
    if (key.rfind("infer_http_requests_total{", 0) == 0 &&
        (key.find("endpoint=\"/v1/completions\"") != std::string::npos ||
         key.find("endpoint=\"/v1/chat/completions\"") != std::string::npos))
      sum += value;
  }
  return sum;
}
// The bundled engine exposes vLLM's names beside its own (for vLLM's
// dashboards): count its own then, vLLM's only from vLLM.
double Tokens(const std::map<std::string, double>& m) {
  const bool engine = std::any_of(m.begin(), m.end(), [](const auto& entry) {
    return entry.first.rfind("infer_generation_tokens_total", 0) == 0;
  });
  return engine ? SumMetric(m, "infer_generation_tokens_total") : SumMetric(m, "vllm:generation_tokens_total");
}

Rates RatesBetween(const EndpointHealth& a, const EndpointHealth& b, double seconds) {
  Rates r;
  if (a.metrics.empty() || b.metrics.empty() || seconds <= 0) return r;
  r.requests_per_s = std::max(0.0, (Requests(b.metrics) - Requests(a.metrics)) / seconds);
  r.tokens_per_s = std::max(0.0, (Tokens(b.metrics) - Tokens(a.metrics)) / seconds);
  return r;
}

std::string Uptime(std::int64_t s) {
  if (s < 120) return fmt::format("{}s", s);
  if (s < 7200) return fmt::format("{}m", s / 60);
  return fmt::format("{}h{:02}m", s / 3600, (s / 60) % 60);
}

struct Snapshot {
  std::optional<DeploymentRecord> record;
  std::vector<HostStatus> hosts;
  EndpointHealth endpoint;
  Rates rates;
  bool healthy = false;
};

Snapshot Take(const ClusterAccess& access, const std::string& api_key) {
  Snapshot s;
  s.record = LoadDeploymentRecord(access.state_dir());
  s.hosts = GatherStatus(access);
  s.endpoint = ProbeEndpoint(access.inventory(), api_key);
  const std::string id = s.record ? s.record->id : "";
  s.healthy = s.record && AllUnitsRunning(s.hosts, id) && !FirstFailure(s.hosts, id) && s.endpoint.healthy;
  return s;
}

Json UnitJson(const control::UnitStatus& u) {
  Json j{{"name", u.name}, {"state", control::UnitStateName(u.state)}, {"pid", u.pid}, {"restarts", u.restarts}};
  j["rank"] = u.rank ? Json(*u.rank) : Json(nullptr);
  j["exit_code"] = u.exit_code ? Json(*u.exit_code) : Json(nullptr);
  return j;
}

// Local time, as a person at the terminal reads clocks.
std::string LocalTime(std::time_t at) {
  std::tm local{};
  ::localtime_r(&at, &local);
  char stamp[32];
  const std::size_t n = std::strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &local);
  return std::string(stamp, n);
}

// The last line the unit itself wrote before it ended (the agent's own
// "clusterd: ..." lines say how it ended, which the message has already).
std::string LastLogLine(const control::GangFailure& f) {
  for (auto it = f.log_tail.rbegin(); it != f.log_tail.rend(); ++it) {
    if (it->rfind("clusterd: ", 0) != 0 && !it->empty()) return *it;
  }
  return "";
}

Json FailureJson(const control::GangFailure& f) {
  return Json{{"host", f.host}, {"unit", f.unit}, {"message", f.message}, {"unix_ms", f.unix_ms},
              {"log_tail", f.log_tail}};
}

Json RestartJson(const std::optional<control::RestartState>& r) {
  if (!r) return Json(nullptr);
  Json j{{"policy", control::RestartPolicyName(r->policy.policy)},
         {"max_restarts", r->policy.max_restarts},
         {"window_s", r->policy.window_s},
         {"backoff_s", r->policy.backoff_s},
         {"restarts", r->restarts}};
  j["last_failure"] = r->last_failure ? FailureJson(*r->last_failure) : Json(nullptr);
  j["next_restart_unix_ms"] = r->next_unix_ms ? Json(r->next_unix_ms) : Json(nullptr);
  j["waiting_for"] = r->waiting.empty() ? Json(nullptr) : Json(r->waiting);
  j["not_restarted"] = r->not_restarted.empty() ? Json(nullptr) : Json(r->not_restarted);
  return j;
}

// What the restart policy did and will do, below the failure (if any).
std::string RestartText(const control::RestartState& r, bool down) {
  std::string out;
  if (r.policy.policy != control::RestartPolicyKind::kNever) {
    out += fmt::format("restarts: {} (runtime.restart {}: at most {} within {})\n", r.restarts,
                       control::RestartPolicyName(r.policy.policy), r.policy.max_restarts,
                       control::DurationText(r.policy.window_s));
  }
  if (r.last_failure && !down) {
    const control::GangFailure& f = *r.last_failure;
    out += fmt::format("last failure: {} {} on {} {}\n", LocalTime(static_cast<std::time_t>(f.unix_ms / 1000)), f.unit,
                       f.host, f.message);
    if (const std::string line = LastLogLine(f); !line.empty()) out += "  " + line + "\n";
  }
  if (!down) return out;
  if (!r.not_restarted.empty()) {
    out += "not restarted: " + r.not_restarted + "\n";
  } else if (!r.waiting.empty()) {
    out += "restart due: waiting for " + r.waiting + "\n";
  } else if (r.next_unix_ms != 0) {
    out += fmt::format("restarting at {}\n", LocalTime(static_cast<std::time_t>(r.next_unix_ms / 1000)));
  }
  return out;
}

Json SnapshotJson(const Snapshot& s, const std::string& cluster) {
  Json hosts = Json::array();
  for (const auto& h : s.hosts) {
    Json j{{"host", h.host}, {"reachable", h.reply.has_value()}};
    j["error"] = h.error.empty() ? Json(nullptr) : Json(h.error);
    if (h.reply) {
      j["agent"] = {{"version", h.reply->agent.agent_version}, {"pid", h.reply->agent.pid},
                    {"uptime_s", h.reply->agent.uptime_s}};
      j["deployment"] = h.reply->deployment;
      Json gpus = Json::array();
      for (const auto& g : h.reply->gpus) {
        gpus.push_back({{"index", g.index}, {"name", g.name}, {"memory_used_bytes", g.memory_used_bytes},
                        {"memory_total_bytes", g.memory_total_bytes}, {"utilization_percent", g.utilization_percent}});
      }
      j["gpus"] = gpus;
      Json units = Json::array();
      for (const auto& u : h.reply->units) units.push_back(UnitJson(u));
      j["units"] = units;
    }
    hosts.push_back(j);
  }
  Json endpoint{{"url", s.endpoint.url}, {"healthy", s.endpoint.healthy}, {"models", s.endpoint.models}};
  endpoint["error"] = s.endpoint.error.empty() ? Json(nullptr) : Json(s.endpoint.error);
  endpoint["requests_per_s"] = s.rates.requests_per_s ? Json(*s.rates.requests_per_s) : Json(nullptr);
  endpoint["tokens_per_s"] = s.rates.tokens_per_s ? Json(*s.rates.tokens_per_s) : Json(nullptr);
  Json j{{"ok", s.healthy}, {"cluster", cluster}};
  j["deployment"] = s.record ? Json(s.record->id) : Json(nullptr);
  j["hosts"] = hosts;
  j["endpoint"] = endpoint;
  const auto failure = FirstFailure(s.hosts, s.record ? s.record->id : "");
  j["failure"] = failure ? FailureJson(*failure) : Json(nullptr);
  j["restart"] = RestartJson(GangRestartState(s.hosts, s.record ? s.record->id : ""));
  return j;
}

std::string SnapshotText(const Snapshot& s) {
  const std::string id = s.record ? s.record->id : "";
  Table table({"HOST", "AGENT", "UPTIME", "GPUS", "UNIT", "STATE", "PID", "RESTARTS"});
  for (const auto& h : s.hosts) {
    if (!h.reply) {
      table.AddRow({h.host, "unreachable", "-", "-", "-", "-", "-", "-"});
      continue;
    }
    std::string gpus = "none";
    if (!h.reply->gpus.empty()) {
      gpus.clear();
      for (const auto& g : h.reply->gpus) {
        gpus += fmt::format("{}{}: {}/{} {}%", gpus.empty() ? "" : ", ", g.index, SizeText(g.memory_used_bytes),
                            SizeText(g.memory_total_bytes), g.utilization_percent);
      }
    }
    const std::string agent = "clusterd " + h.reply->agent.agent_version;
    const std::string uptime = Uptime(h.reply->agent.uptime_s);
    std::vector<control::UnitStatus> units;
    if (h.reply->deployment == id) units = h.reply->units;
    if (units.empty()) table.AddRow({h.host, agent, uptime, gpus, "-", "-", "-", "-"});
    for (std::size_t i = 0; i < units.size(); ++i) {
      const auto& u = units[i];
      std::string state = control::UnitStateName(u.state);
      if (u.exit_code) state += fmt::format(" ({})", *u.exit_code);
      table.AddRow({i == 0 ? h.host : "", i == 0 ? agent : "", i == 0 ? uptime : "", i == 0 ? gpus : "", u.name, state,
                    u.pid ? std::to_string(u.pid) : "-", std::to_string(u.restarts)});
    }
  }
  std::string out = table.Render();
  for (const auto& h : s.hosts) {
    if (!h.error.empty()) out += fmt::format("{}: {}\n", h.host, h.error);
  }
  out += fmt::format("deployment: {}\n", s.record ? s.record->id : "none (run `clusterctl up`)");
  std::string endpoint = s.endpoint.healthy ? "healthy" : "not serving: " + s.endpoint.error;
  if (s.endpoint.healthy && !s.endpoint.models.empty()) endpoint += fmt::format(", models: {}", fmt::join(s.endpoint.models, ", "));
  if (s.rates.requests_per_s)
    endpoint += fmt::format(", {:.2f} requests/s, {:.1f} tokens/s", *s.rates.requests_per_s, *s.rates.tokens_per_s);
  out += fmt::format("endpoint {}: {}\n", s.endpoint.url, endpoint);
  const auto failure = FirstFailure(s.hosts, id);
  if (failure) {
    out += fmt::format("failed: {} on {} {}\n", failure->unit, failure->host, failure->message);
    for (const auto& line : failure->log_tail) out += "  " + line + "\n";
  }
  if (auto restart = GangRestartState(s.hosts, id)) out += RestartText(*restart, failure.has_value());
  return out;
}

// The first line of each --watch refresh: when it was taken (local time, as
// a person at the terminal reads clocks) and how often it comes.
std::string RefreshLine(std::time_t at, double interval_s) {
  return fmt::format("status at {} (every {:g} s; Ctrl-C to stop)\n", LocalTime(at), interval_s);
}

int RunStatus(const StatusFlags& flags, const GlobalOptions& global) {
  if (flags.watch && global.json && !global.json_lines) return JsonLinesRequired("status --watch");
  auto opened = OpenCluster(flags.lifecycle, global);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  LoadedCluster& cluster = std::get<LoadedCluster>(opened);
  const std::string api_key = ReadApiKey(cluster.inventory());
  const bool tty = ::isatty(STDOUT_FILENO);
  Snapshot previous = Take(*cluster.access, api_key);
  auto taken = Clock::now();
  // Rates need two samples: the second one a second (or an interval) later.
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int>(flags.watch ? flags.interval_s * 1000 : 1000)));
    Snapshot now = Take(*cluster.access, api_key);
    const auto at = Clock::now();
    now.rates = RatesBetween(previous.endpoint, now.endpoint, std::chrono::duration<double>(at - taken).count());
    if (global.json) {
      PrintJson(SnapshotJson(now, cluster.inventory().cluster_name));
    } else {
      if (flags.watch && tty) std::cout << "\x1b[H\x1b[2J";  // redraw in place
      if (flags.watch) std::cout << RefreshLine(std::time(nullptr), flags.interval_s);
      std::cout << SnapshotText(now) << std::flush;
    }
    if (!flags.watch) return now.healthy ? kExitOk : kExitFailure;
    previous = std::move(now);
    taken = at;
  }
}

}  // namespace

void AddStatusCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("status", "Agents, GPUs, ranks or containers, endpoint health and rates");
  auto flags = std::make_shared<StatusFlags>();
  AddLifecycleFlags(cmd, flags->lifecycle);
  cmd->add_flag("-w,--watch", flags->watch, "Refresh until Ctrl-C (with --json-lines: one object per refresh)");
  cmd->add_option("--interval", flags->interval_s, "Seconds between refreshes with --watch")
      ->check(CLI::Range(0.2, 3600.0))
      ->capture_default_str();
  cmd->footer(std::string(kFooter) + "\n\n" +
              GlobalFlagsHelp("one document: ok, cluster, deployment, hosts, endpoint, failure (docs/lifecycle.md)",
                              "with --watch, one such document per refresh (--watch --json is refused)", ""));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunStatus(*flags, global); }; });
}

}  // namespace cluster::cli
