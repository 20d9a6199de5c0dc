// EvaluateCheck: the order of the rules and of the report's rows, the agent
// rows, and the report's small accessors. The rules are in check_gpu.cc,
// check_network.cc and check_node.cc.
#include "cli/lifecycle/check_report.h"

#include <algorithm>

#include <fmt/format.h>

#include "cli/lifecycle/check_rules.h"
#include "cli/lifecycle/runtime.h"

namespace cluster::cli {

namespace check {

void AddRow(CheckReport& report, const std::string& host, const std::string& area, const std::string& item,
            CheckRow::Verdict verdict, std::string detail, std::string fix) {
  report.rows.push_back(CheckRow{host, area, item, verdict, std::move(detail), std::move(fix)});
}

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " and " : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace check

const char* VerdictName(CheckRow::Verdict verdict) {
  switch (verdict) {
    case CheckRow::Verdict::kPass: return "pass";
    case CheckRow::Verdict::kWarn: return "warn";
    case CheckRow::Verdict::kFail: return "fail";
  }
  return "fail";
}

bool CheckReport::failed() const {
  return std::any_of(rows.begin(), rows.end(), [](const CheckRow& r) { return r.verdict == CheckRow::Verdict::kFail; });
}

std::map<std::string, std::string> CheckReport::EnvFor(const std::string& host) const {
  auto it = network.find(host);
  if (it == network.end()) return {};
  return {{"NCCL_SOCKET_IFNAME", it->second.interface},
          {"GLOO_SOCKET_IFNAME", it->second.interface},
          {"VLLM_HOST_IP", it->second.address}};
}

namespace {

// `error` without the "gpu2 (10.0.0.12): " or "gpu2: " it starts with: the
// row names the host already.
std::string WithoutHostLabel(const std::string& error, const inventory::Host& host) {
  for (const std::string& label : {fmt::format("{} ({}): ", host.name, host.address), host.name + ": "}) {
    if (error.rfind(label, 0) == 0) return error.substr(label.size());
  }
  return error;
}

// What to check when clusterctl cannot log in to `host` over SSH.
std::string SshFix(const inventory::Host& host) {
  return fmt::format(
      "check SSH from this machine to {} port {}: the key (ssh.identity_file, its public key in "
      "~/.ssh/authorized_keys of ssh.user there), known_hosts (--accept-new-host-keys records a new host's key), "
      "the port (ssh.port) and any firewall in between",
      host.address, host.ssh.port.value_or(22));
}

}  // namespace

CheckReport EvaluateCheck(const inventory::Inventory& inventory, const Runtime& runtime,
                          const std::vector<HostObservation>& hosts) {
  using check::AddRow;
  const HostNeeds needs = runtime.Needs();
  CheckReport report;
  std::vector<check::AnsweredHost> answered;
  for (const HostObservation& observation : hosts) {
    auto found = std::find_if(inventory.hosts.begin(), inventory.hosts.end(),
                              [&](const inventory::Host& h) { return h.name == observation.host; });
    if (found == inventory.hosts.end()) continue;
    const inventory::Host& host = *found;
    if (!observation.facts) {
      const std::string why = WithoutHostLabel(observation.unreachable_error, host);
      if (observation.ssh_failed) {
        AddRow(report, host.name, "ssh", "connection", CheckRow::Verdict::kFail, why, SshFix(host));
      } else {
        AddRow(report, host.name, "agent", "clusterd", CheckRow::Verdict::kFail,
               fmt::format("clusterd on {} ({}) does not answer: {}", host.name, host.address, why),
               "is clusterd running? run `clusterctl up` or see `clusterctl logs`");
      }
      continue;
    }
    const control::NodeFacts& facts = *observation.facts;
    check::AnsweredHost a{&host, static_cast<int>(found - inventory.hosts.begin()), &observation, &facts, &needs};
    AddRow(report, host.name, "agent", "clusterd", CheckRow::Verdict::kPass,
           fmt::format("clusterd {} on {}{}", facts.agent_version, facts.hostname,
                       observation.agent_action.empty() ? "" : " (" + observation.agent_action + " by this check)"));
    check::CheckHostGpus(inventory, a, report);
    check::CheckHostNetwork(inventory, a, report);
    check::CheckHostNode(inventory, a, report);
    answered.push_back(a);
  }
  check::CheckDriverVersions(answered, report);
  check::CheckClusterNetwork(inventory, answered, report);
  check::CheckModelHashes(inventory, answered, report);
  return report;
}

}  // namespace cluster::cli
