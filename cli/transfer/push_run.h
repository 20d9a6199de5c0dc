// Running a push on every host at once: one worker per host, at most
// `parallel` at a time. Each worker connects (SSH or local), installs the
// agent, and runs a HostPush. One host failing never stops the others.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cli/ssh/known_hosts.h"
#include "cli/transfer/agent_install.h"
#include "cli/transfer/push_job.h"
#include "cli/transfer/push_observer.h"
#include "cli/transfer/transport.h"
#include "common/inventory/inventory.h"

namespace cluster::cli {

struct PushOptions {
  bool accept_new_host_keys = false;
  bool chain = false;                              // --relay chain (chain_push.h)
  int parallel = 8;                                // hosts pushed at the same time
  std::string image_dir = "~/.cache/clusterd/images";  // where image tarballs go on hosts
};

// The jobs of every host: each model to the host's model path, each image to
// image_dir. `artifacts` must outlive the jobs.
std::vector<HostJob> PlanJobs(const inventory::Inventory& inventory, const std::vector<Artifact>& artifacts,
                              const PushOptions& options);

// The known_hosts files of a run, one KnownHosts each (hosts may name their own).
class KnownHostsFiles {
 public:
  KnownHostsFiles(const inventory::Inventory& inventory, bool accept_new);
  KnownHosts& For(const inventory::Host& host);

 private:
  std::map<std::filesystem::path, std::unique_ptr<KnownHosts>> files_;
};

// Opens a host's transport: SSH (host key checked, key authentication), or
// LocalTransport for `transport: local`. Errors name the host.
StatusOr<std::unique_ptr<Transport>> ConnectHost(const inventory::Host& host, KnownHosts& known_hosts);

// "gpu1 (10.0.0.11)": how messages name a host.
std::string HostLabel(const inventory::Host& host);

// Pushes every job; returns one report per host, in inventory order.
// `cancel` (set by Ctrl-C) stops all hosts between chunks, leaving them resumable.
std::vector<HostReport> RunPush(const inventory::Inventory& inventory, const std::vector<HostJob>& jobs,
                                const LocalAgent& agent, const PushOptions& options, PushObserver& observer,
                                const std::atomic<bool>& cancel);

}  // namespace cluster::cli
