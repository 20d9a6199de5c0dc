#include "cli/transfer/push_run.h"

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "cli/ssh/known_hosts.h"
#include "cli/ssh/ssh_transport.h"
#include "cli/transfer/host_push.h"
#include "cli/transfer/local_transport.h"
#include "common/files.h"

namespace cluster::cli {
namespace fs = std::filesystem;
using inventory::Host;

namespace {

fs::path DefaultKnownHosts() { return ResolvePath("~/.ssh/known_hosts", "/"); }

SshTarget TargetFor(const Host& host) {
  SshTarget t;
  t.label = HostLabel(host);
  t.address = host.address;
  t.port = host.ssh.port.value_or(22);
  const char* user = std::getenv("USER");
  t.user = host.ssh.user.value_or(user && *user ? user : "root");
  t.identity_file = host.ssh.identity_file;
  t.connect_timeout_s = host.ssh.connect_timeout_s.value_or(10);
  return t;
}

// The host's whole push: connect, install the agent, push. Fills `report`.
void PushHost(const Host& host, const HostJob& job, const LocalAgent& agent, KnownHosts& known_hosts,
              PushObserver& observer, const std::atomic<bool>& cancel, HostReport& report) {
  const auto start = std::chrono::steady_clock::now();
  report.host = host.name;
  Status s = [&]() -> Status {
    observer.Phase(host.name, "connecting");
    CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, ConnectHost(host, known_hosts));
    observer.Phase(host.name, "installing agent");
    auto agent_command = EnsureAgent(*transport, agent);
    if (!agent_command.ok()) return agent_command.status().WithContext(HostLabel(host));
    Status pushed = HostPush(*transport, *agent_command, job, observer, cancel, report).Run();
    return pushed.ok() ? pushed : pushed.WithContext(HostLabel(host));
  }();
  report.ok = s.ok();
  if (!s.ok()) report.error = s.message();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  observer.HostDone(report);
}

}  // namespace

std::string HostLabel(const Host& host) { return fmt::format("{} ({})", host.name, host.address); }

KnownHostsFiles::KnownHostsFiles(const inventory::Inventory& inv, bool accept_new) {
  for (const auto& host : inv.hosts) {
    fs::path file = host.ssh.known_hosts_file.value_or(DefaultKnownHosts());
    if (!files_.count(file)) files_[file] = std::make_unique<KnownHosts>(file, accept_new);
  }
}

KnownHosts& KnownHostsFiles::For(const Host& host) {
  return *files_.at(host.ssh.known_hosts_file.value_or(DefaultKnownHosts()));
}

StatusOr<std::unique_ptr<Transport>> ConnectHost(const Host& host, KnownHosts& known_hosts) {
  if (host.transport == inventory::Transport::kLocal) return std::unique_ptr<Transport>(std::make_unique<LocalTransport>());
  CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<SshTransport> ssh, SshTransport::Connect(TargetFor(host), known_hosts));
  return std::unique_ptr<Transport>(std::move(ssh));
}

std::vector<HostJob> PlanJobs(const inventory::Inventory& inv, const std::vector<Artifact>& artifacts,
                              const PushOptions& options) {
  std::vector<HostJob> jobs;
  for (const auto& host : inv.hosts) {
    HostJob job;
    job.host = host.name;
    for (const auto& a : artifacts) {
      std::string root;
      if (a.kind == Artifact::Kind::kModel) {
        const inventory::Model* model = inv.FindModel(a.name);
        root = model ? inv.ModelPathOn(host, *model).string() : "";
      } else {
        root = options.image_dir;
      }
      while (root.size() > 1 && root.back() == '/') root.pop_back();
      job.artifacts.push_back({&a, root});
    }
    jobs.push_back(std::move(job));
  }
  return jobs;
}

std::vector<HostReport> RunPush(const inventory::Inventory& inv, const std::vector<HostJob>& jobs,
                                const LocalAgent& agent, const PushOptions& options, PushObserver& observer,
                                const std::atomic<bool>& cancel) {
  KnownHostsFiles known_hosts(inv, options.accept_new_host_keys);
  std::vector<HostReport> reports(inv.hosts.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < inv.hosts.size(); i = next++) {
      const Host& host = inv.hosts[i];
      if (cancel.load()) {
        reports[i].host = host.name;
        reports[i].error = "interrupted before it started";
        observer.HostDone(reports[i]);
        continue;
      }
      PushHost(host, jobs[i], agent, known_hosts.For(host), observer, cancel, reports[i]);
    }
  };
  const int workers = std::max(1, std::min<int>(options.parallel, static_cast<int>(inv.hosts.size())));
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return reports;
}

}  // namespace cluster::cli
