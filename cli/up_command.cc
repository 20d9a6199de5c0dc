// clusterctl up [-f FILE] [--force] [--timeout SECONDS] [--json]
//
// Brings the cluster up (the phases are cli/lifecycle/up_run.h) and prints
// the endpoint with a curl example, or the first failure with its log tail.
// Exit 0 serving, 1 failed (nothing left running), 2 usage or inventory
// error.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/lifecycle/cluster_status.h"
#include "cli/lifecycle/deployment.h"
#include "cli/lifecycle/up_run.h"
#include "cli/lifecycle_support.h"
#include "cli/lifecycle/runtime.h"
#include "common/untrusted_text.h"

namespace cluster::cli {
namespace {

using Json = nlohmann::ordered_json;

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

// The --json document: ok, cluster, agents, check, deployment, then endpoint
// (and model or already_up), or failure and error.
Json ResultJson(const inventory::Inventory& inv, const UpResult& up) {
  Json result{{"ok", up.ok()}, {"cluster", inv.cluster_name}};
  Json agents = Json::object();
  for (const auto& [host, action] : up.agents) agents[host] = action;
  result["agents"] = agents;
  if (up.check) result["check"] = CheckReportJson(*up.check);
  if (!up.deployment.empty()) result["deployment"] = up.deployment;
  if (up.failure) {
    const control::GangFailure& f = *up.failure;
    result["failure"] = Json{{"host", f.host}, {"unit", f.unit}, {"message", f.message}, {"log_tail", f.log_tail}};
  }
  if (!up.ok()) {
    result["error"] = up.error;
    return result;
  }
  result["endpoint"] = up.url + "/v1";
  if (up.already_up) result["already_up"] = true;
  else result["model"] = inv.runtime.model;
  return result;
}

int RunUp(const UpFlags& flags, const GlobalOptions& global) {
  auto opened = OpenCluster(flags.lifecycle, global);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  LoadedCluster& cluster = std::get<LoadedCluster>(opened);
  const inventory::Inventory& inv = cluster.inventory();
  UpOptions options;
  options.force = flags.force;
  options.timeout_s = flags.timeout_s;
  options.api_key = ReadApiKey(inv);
  options.file = cluster.file;
  UpProgress progress;
  progress.say = [&global](const std::string& line) { Say(global, line); };
  progress.check_failed = [&global](const CheckReport& report) {
    if (!global.json) PrintCheckTable(report, std::cerr);
  };
  auto runtime = global.runtimes->For(inv);
  if (!runtime.ok()) return ReportError(runtime.status(), global);
  const UpResult up = RunUp(*cluster.access, **runtime, options, progress);
  if (!up.invalid.ok()) return ReportError(up.invalid, global);
  if (global.json) {
    PrintJson(ResultJson(inv, up));
  } else if (!up.ok()) {
    std::cerr << "error: " << PrintableText(up.error) << "\n";
  } else if (up.already_up) {
    std::cout << fmt::format("already up: serving '{}' at {}/v1 (deployment {})\n", inv.runtime.model, up.url,
                             up.deployment);
  } else {
    std::cout << fmt::format("serving '{}' at {}/v1 (deployment {})\n", inv.runtime.model, up.url, up.deployment)
              << "try:\n  " << CurlExample(EndpointOf(inv), !options.api_key.empty()) << "\n";
  }
  return up.ok() ? kExitOk : kExitFailure;
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
