// TestCluster: N hosts on this machine for multi-host tests, each a network
// namespace running Debian's sshd with its own host key and its own view of
// the file system, plus an operator namespace from which clusterctl runs.
//
// Network (the test network rule: only 127.0.0.0/8, only inside namespaces):
//   - a switch namespace holds a bridge; every node (operator, host1..N) has a
//     veth "eth0" into it;
//   - node k owns 127.0.10.k/32 on its `lo` (the operator is k = 1, host i is
//     k = i + 2), route_localnet=1, and a /32 route to every other node via eth0.
// File system: each host's sshd (and all it starts) runs in a private mount
// namespace where /root (home) is a bind mount of DIR/hostI/home and /srv is
// DIR/hostI/srv (or a tmpfs of a chosen size); HostPath() reaches them from
// the test. A host's dockerd (options.docker) runs in a mount namespace of
// its own with the same /root and /srv binds (not a tmpfs /srv), so that
// `docker run -v /srv/...` sees what was pushed over SSH.
// Nothing is mounted in the test's own mount namespace.
// Teardown (destructor): every process in the namespaces is killed by pid,
// the namespaces are deleted and DIR is removed.
//
// Used from one test thread. Requires root, `ip netns` and /usr/sbin/sshd;
// WhyUnavailable() says what is missing so the test can skip.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/subprocess.h"

namespace cluster::harness {

// GPUs a host pretends to have, for hosts of a machine without GPUs. Such a
// host gets stand-ins (see FakeGpuBin in test_cluster.cc) on its PATH, in
// /usr/local/bin of its mount namespace (sshd's and dockerd's):
//   nvidia-smi    answers the --query-gpu line the agent's facts use and -L;
//                 anything else exits 1;
//   nvidia-container-runtime-hook
//                 dockerd (20.10) registers its `--gpus` driver when this
//                 program is on its PATH at start; runc runs it as the OCI
//                 prestart hook. The stand-in logs its argv to
//                 GpuHookLog(i), reads the OCI state on stdin and exits 0:
//                 it exposes no device (the real one mounts /dev/nvidia*).
struct FakeGpus {
  int count = 1;
  std::string name = "Tesla T4";
  std::string compute_capability = "7.5";
  int memory_mib = 15360;
  std::string driver = "535.104.05";
};

struct TestClusterOptions {
  int hosts = 2;
  // Host index -> size of a tmpfs at /srv on that host (e.g. "1m"), to test a full disk.
  std::map<int, std::string> srv_tmpfs_size;
  // Host index -> run dockerd there (DOCKER_HOST is set for SSH sessions).
  std::map<int, bool> docker;
  // Host index -> stand-in GPUs (nvidia-smi and the NVIDIA hook, above).
  std::map<int, FakeGpus> fake_gpus;
  // Host index -> a Debian root with systemd and openssh-server: that host
  // is a container that boots a copy of it with systemd as PID 1
  // (systemd-nspawn --boot) in the host's network namespace, serving SSH
  // with the harness's keys, instead of a namespaced sshd. Its HostPath,
  // RunOnHost and StartOnHost reach the container; the other options do not
  // apply to it.
  std::map<int, std::filesystem::path> booted_root;
};

class TestCluster {
 public:
  // Empty when the harness can run here; else the reason ("not root", ...).
  static std::optional<std::string> WhyUnavailable();
  // The same for booted hosts (booted_root): systemd-nspawn must be there.
  static std::optional<std::string> WhyBootUnavailable();
  static StatusOr<std::unique_ptr<TestCluster>> Create(const TestClusterOptions& options);
  ~TestCluster();

  int host_count() const { return static_cast<int>(hosts_.size()); }
  std::string HostName(int i) const { return "h" + std::to_string(i + 1); }
  std::string HostAddress(int i) const;  // 127.0.10.(i+2)
  std::string HostNamespace(int i) const { return hosts_[i].ns; }
  std::string OperatorNamespace() const { return prefix_ + "-op"; }
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path IdentityFile() const { return dir_ / "id_ed25519"; }
  std::filesystem::path KnownHostsFile() const { return dir_ / "known_hosts"; }
  std::filesystem::path OperatorHome() const { return dir_ / "operator-home"; }
  // "ADDRESS ssh-ed25519 KEY" of host i, as known_hosts has it.
  std::string KnownHostsLine(int i) const;
  // The same address with a key that is not the host's (a "changed" key).
  std::string WrongKnownHostsLine(int i) const;

  // Where a host's absolute path (under /srv or /root) is, seen from the test.
  std::filesystem::path HostPath(int i, const std::string& host_path) const;

  // Runs argv in the operator namespace (HOME=OperatorHome(), USER=root).
  StatusOr<ProcessResult> RunOnOperator(const std::vector<std::string>& argv) const;
  StatusOr<Subprocess> StartOnOperator(const std::vector<std::string>& argv) const;
  // Runs argv in host i's network and mount namespaces (as its sshd sees them).
  StatusOr<ProcessResult> RunOnHost(int i, const std::vector<std::string>& argv) const;
  // Starts argv there in the background; the caller owns (and ends) it.
  StatusOr<Subprocess> StartOnHost(int i, const std::vector<std::string>& argv,
                                   const Subprocess::Options& options) const;

  Status StopSshd(int i);
  // A booted host (booted_root): shuts the container down cleanly (as
  // `systemctl poweroff` would) and boots it again from the same disk.
  Status RebootHost(int i);
  // Link faults and shaping, on host i's side and the switch's side of its veth.
  Status SetLinkUp(int i, bool up);
  Status LimitRate(int i, const std::string& rate);  // tc tbf, e.g. "200mbit"
  Status LimitOperatorRate(const std::string& rate);
  // The docker CLI's DOCKER_HOST for host i (with options.docker).
  std::string DockerHost(int i) const;
  // Where host i's stand-in NVIDIA hook appends one line per run (fake_gpus).
  std::filesystem::path GpuHookLog(int i) const { return hosts_[i].dir / "nvidia-hook.log"; }

 private:
  struct HostState {
    std::string ns;
    std::filesystem::path dir;
    pid_t sshd_pid = -1;  // a booted host: the container's init, seen from here
    bool booted = false;
    pid_t dockerd_pid = -1;
    std::optional<Subprocess> sshd, dockerd;
  };
  TestCluster() = default;
  Status Setup(const TestClusterOptions& options);
  Status AddNode(const std::string& ns, const std::string& switch_port, int k);
  Status StartSshd(int i, const TestClusterOptions& options);
  Status PrepareBootedRoot(int i, const std::filesystem::path& root);
  Status BootHost(int i);
  Status WaitForSsh(int i, int tries);
  std::vector<std::string> EnterHost(int i) const;
  Status StartDockerd(int i, const TestClusterOptions& options);
  Status WriteFakeGpuBin(int i, const FakeGpus& gpus);
  // The shell words that put host i's stand-in bin folder over /usr/local/bin
  // (or "true" when the host has no fake GPUs).
  std::string MountFakeGpuBin(int i, const TestClusterOptions& options) const;
  void Teardown();

  std::string prefix_;
  std::filesystem::path dir_;
  std::vector<HostState> hosts_;
  std::vector<std::string> namespaces_;  // created, to delete
  int node_count_ = 0;
};

// Runs a command in the test's namespace; fails with its stderr when it exits non-zero.
Status Sh(const std::vector<std::string>& argv);

}  // namespace cluster::harness
