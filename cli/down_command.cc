// clusterctl down [-f FILE] [--purge] [--json]
//
// Stops every rank and container on every host: through each agent, or over
// SSH where an agent does not answer; then verifies that nothing is left (no
// process, no container). With --purge the agents are stopped and removed
// too. Safe to run twice, or after a half-finished `up`. Exit 0 when nothing
// is left anywhere, 1 otherwise (what is left, or which host could not be
// reached, is printed), 2 usage or inventory error.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "common/untrusted_text.h"
#include "cli/lifecycle/deployment_record.h"
#include "cli/lifecycle/stop_run.h"
#include "cli/lifecycle_support.h"
#include "cli/table.h"

namespace cluster::cli {
namespace {

constexpr const char* kFooter =
    "Examples:\n"
    "  clusterctl down -f cluster.yaml\n"
    "  clusterctl down -f cluster.yaml --purge   # leave nothing of clusterctl on the hosts\n"
    "\n"
    "Exit codes: 0 nothing left, 1 something left or a host unreachable, 2 usage or inventory error.";

struct DownFlags {
  LifecycleFlags lifecycle;
  bool purge = false;
};

// What a clean `down` leaves, in words: the agents stay unless purged.
std::string DownSummary(const std::vector<HostStopResult>& results, bool purged) {
  if (purged) return "down: nothing left running; agents removed";
  std::size_t agents = 0;
  for (const auto& r : results) agents += r.via_ssh ? 0 : 1;
  if (agents == 0) return "down: nothing left running";
  return fmt::format("down: nothing of the deployment left running; agents still running on {} host{} "
                     "(clusterctl down --purge removes them)",
                     agents, agents == 1 ? "" : "s");
}

int RunDown(const DownFlags& flags, const GlobalOptions& global) {
  auto opened = OpenCluster(flags.lifecycle, global);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  LoadedCluster& cluster = std::get<LoadedCluster>(opened);
  const auto results = StopEverywhere(*cluster.access, "clusterctl down", flags.purge);
  const bool clean = NothingLeft(results);
  if (clean) ForgetDeploymentRecord(cluster.access->state_dir());

  if (global.json) {
    nlohmann::ordered_json hosts = nlohmann::ordered_json::array();
    for (const auto& r : results) {
      nlohmann::ordered_json j{{"host", r.host}, {"via_ssh", r.via_ssh}, {"stopped", r.stopped}, {"left", r.left}};
      j["error"] = r.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.error);
      hosts.push_back(j);
    }
    std::size_t agents = 0;
    for (const auto& r : results) agents += flags.purge || r.via_ssh ? 0 : 1;
    PrintJson(nlohmann::ordered_json{
        {"ok", clean}, {"purged", flags.purge && clean}, {"agents_running", agents}, {"hosts", hosts}});
  } else {
    Table table({"HOST", "STOPPED", "LEFT", "VIA"});
    const auto& hosts = cluster.inventory().hosts;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      const bool local = hosts[i].transport == inventory::Transport::kLocal;
      table.AddRow({r.host, r.stopped.empty() ? "-" : fmt::format("{}", fmt::join(r.stopped, ", ")),
                    !r.error.empty() ? "unknown" : r.left.empty() ? "nothing" : fmt::format("{}", fmt::join(r.left, ", ")),
                    r.via_ssh ? (local ? "local" : "ssh") : "agent"});
    }
    std::cout << table.Render();
    for (const auto& r : results) {
      if (!r.error.empty()) std::cerr << "error: " << PrintableText(r.error) << "\n";
    }
    if (clean) std::cout << DownSummary(results, flags.purge) << "\n";
    else std::cerr << "down: something is left (above); run `clusterctl down` again once the hosts are reachable\n";
  }
  return clean ? kExitOk : kExitFailure;
}

}  // namespace

void AddDownCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("down", "Stop every rank and container everywhere; verify nothing is left");
  auto flags = std::make_shared<DownFlags>();
  AddLifecycleFlags(cmd, flags->lifecycle);
  cmd->add_flag("--purge", flags->purge, "Also stop and remove the agents");
  cmd->footer(std::string(kFooter) + "\n\n" +
              GlobalFlagsHelp("one document: ok, purged, agents_running, hosts (stopped, left, via_ssh, error)", "",
                              ""));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunDown(*flags, global); }; });
}

}  // namespace cluster::cli
