// AgentService: what clusterd does with each request of the agent protocol
// (docs/agent-protocol.md). It owns the Supervisor of the current
// deployment's units and applies gang semantics: when any unit of the
// deployment ends on its own, every unit here is stopped, the failure (unit,
// exit, log tail) is recorded and sent to every peer agent, which stops its
// units too. `status` on any host then names the first failure. The head's
// agent then applies the deployment's restart policy (restart_budget.h):
// after the backoff it starts the gang again, its units and, through
// `gang-restart`, every peer's.
//
// Threading: Handle() and everything it touches run on the io_context's
// thread. Slow work (facts, GPU queries, docker commands, calls to peers)
// runs on a small worker pool and posts its result back.
#pragma once

#include <boost/asio/io_context.hpp>

#include <filesystem>
#include <memory>

#include "agent/agent_state.h"
#include "agent/launcher.h"
#include "control/channel.h"

namespace cluster::agent {

class AgentService {
 public:
  // `state_dir` is the agent's folder (agent_state.h); `self` this binary;
  // `launchers` the runtimes it can start (clusterd's: runtimes/launchers.h).
  AgentService(boost::asio::io_context& io, AgentConfig config, control::Credentials credentials,
               std::filesystem::path state_dir, std::filesystem::path self, Launchers launchers);
  ~AgentService();

  void Handle(control::Request request, std::shared_ptr<control::Responder> responder);

  // Stops every unit (SIGTERM/SIGINT, shutdown). Runs on the io thread.
  // deployment.json stays: a host that shuts down comes back to it.
  void StopEverything(const std::string& reason);
  // Takes up the deployment of deployment.json after the agent restarted
  // (deployment_file.h); call once, when the agent listens.
  void Resume();
  // Set by the `shutdown` request; the caller ends the io_context after the reply.
  void OnShutdown(std::function<void()> callback);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Ends what a previous agent of this folder left running (it was killed
// without stopping its units): process groups in units.json and containers
// labelled with the cluster. Returns what it stopped, for the log.
std::vector<std::string> CleanUpLeftovers(const std::filesystem::path& state_dir, const std::string& cluster);

}  // namespace cluster::agent
