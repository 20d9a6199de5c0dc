#include "cli/lifecycle/stop_run.h"

#include <fmt/format.h>

#include "cli/lifecycle/agent_calls.h"

namespace cluster::cli {

std::vector<HostStopResult> StopEverywhere(const ClusterAccess& access, const std::string& reason, bool purge) {
  const auto& hosts = access.inventory().hosts;
  std::vector<HostStopResult> results(hosts.size());
  ForEachHost(hosts.size(), [&](std::size_t i) {
    HostStopResult& r = results[i];
    r.host = hosts[i].name;
    std::string agent_error;
    auto client = access.Connect(hosts[i]);
    if (client.ok()) {
      control::StopRequest request;
      request.reason = reason;
      auto reply = CallAgent<control::StopReply>(**client, request, control::StopReplyFromJson,
                                                 std::chrono::seconds(120));
      if (reply.ok()) {
        r.stopped = reply->stopped;
        r.left = reply->left;
        if (!purge) return;
      } else {
        agent_error = reply.status().message();
      }
    } else {
      agent_error = client.status().message();
    }
    // The agent did not answer, or it is to be removed: over SSH.
    r.via_ssh = true;
    auto ssh = access.StopOverSsh(hosts[i], purge);
    if (!ssh.ok()) {
      r.error = agent_error.empty() ? ssh.status().message()
                                    : fmt::format("{}; over SSH: {}", agent_error, ssh.status().message());
      return;
    }
    r.stopped.insert(r.stopped.end(), ssh->stopped.begin(), ssh->stopped.end());
    r.left = ssh->left;
  });
  return results;
}

bool NothingLeft(const std::vector<HostStopResult>& results) {
  for (const auto& r : results) {
    if (!r.error.empty() || !r.left.empty()) return false;
  }
  return true;
}

}  // namespace cluster::cli
