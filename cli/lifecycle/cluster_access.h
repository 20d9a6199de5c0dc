// What every lifecycle command (check, up, status, logs, down) needs first:
// the inventory, the operator's credentials for the agent protocol, and a way
// to reach each host's agent, over its mutual-TLS control channel or, to
// start and stop agents, over SSH (or locally for `transport: local`).
//
// The operator's state folder holds the cluster CA (docs/agent-protocol.md):
//   $CLUSTERCTL_STATE_DIR, else $XDG_STATE_HOME/clusterctl/CLUSTER,
//   else ~/.local/state/clusterctl/CLUSTER.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/transfer/agent_install.h"
#include "cli/transfer/transport.h"
#include "common/inventory/inventory.h"
#include "common/status.h"
#include "control/channel.h"
#include "control/pki.h"

namespace cluster::cli {

struct ClusterAccessOptions {
  bool accept_new_host_keys = false;
  std::string agent_path;                       // --agent: the clusterd to install (default: beside clusterctl)
  std::string bundle_path;                      // --bundle: the host bundle to install instead (docs/install.md)
  std::chrono::milliseconds connect_timeout{5000};
};

class KnownHostsFiles;

class ClusterAccess {
 public:
  // Loads (or creates on first use) the cluster CA and the operator's
  // certificate. The inventory must outlive this object.
  static StatusOr<std::unique_ptr<ClusterAccess>> Open(const inventory::Inventory& inventory,
                                                       const ClusterAccessOptions& options);

  ~ClusterAccess();

  const inventory::Inventory& inventory() const { return inventory_; }
  const std::filesystem::path& state_dir() const { return state_dir_; }
  const control::Credentials& operator_credentials() const { return operator_; }

  // The address the agent of `host` listens on: its cluster address, a DNS
  // name resolved to its first IPv4 address (the name itself if it does not resolve).
  std::string AgentAddress(const inventory::Host& host) const;
  int agent_port() const { return inventory_.network.agent_port; }

  // A control connection to the agent of `host`. Unavailable names the host
  // and what to do ("is its agent running? `clusterctl up` starts it").
  StatusOr<std::unique_ptr<control::ControlClient>> Connect(const inventory::Host& host) const;

  // Opens the host's SSH (or local) transport.
  StatusOr<std::unique_ptr<Transport>> OpenTransport(const inventory::Host& host) const;

  // Installs clusterd (the host bundle, or the bare binary and, with
  // `with_engine`, the engine beside it) and starts its daemon with this
  // cluster's config and a certificate for the host; harmless when the same
  // agent already serves. Then removes the other installs no process runs
  // from (an upgrade's old agent). Returns "started", "running" or "replaced".
  // On failure `*ssh_failed` (when given) says whether the SSH connection
  // itself failed (connect, host key, login), so that a caller can give SSH's
  // fix rather than the agent's.
  StatusOr<std::string> StartAgent(const inventory::Host& host, bool with_engine, bool* ssh_failed = nullptr) const;

  // Stops the host's agent and all it started over SSH (`clusterd stop`),
  // for hosts whose agent does not answer, and for --purge. Returns the
  // lines of what is left (empty: nothing).
  struct SshStop {
    std::vector<std::string> stopped;
    std::vector<std::string> left;
  };
  StatusOr<SshStop> StopOverSsh(const inventory::Host& host, bool purge) const;

 private:
  ClusterAccess(const inventory::Inventory& inventory, ClusterAccessOptions options);

  // The local clusterd and infer-engine with their content hashes, found and
  // hashed on first use (StartAgent and StopOverSsh run on a thread per host).
  struct LocalPrograms {
    StatusOr<LocalAgent> agent;
    StatusOr<std::filesystem::path> engine;
    std::string engine_hash;
  };
  const LocalPrograms& Programs() const;

  const inventory::Inventory& inventory_;
  ClusterAccessOptions options_;
  mutable std::once_flag programs_once_;
  mutable std::unique_ptr<LocalPrograms> programs_;
  std::filesystem::path state_dir_;
  std::optional<control::ClusterCa> ca_;
  control::Credentials operator_;
  std::unique_ptr<KnownHostsFiles> known_hosts_;
};

// Runs `work(i)` for every host index at once (one thread each) and waits.
void ForEachHost(std::size_t count, const std::function<void(std::size_t)>& work);

// The operator's state folder of `cluster` (see above).
std::filesystem::path OperatorStateDir(const std::string& cluster);

}  // namespace cluster::cli
