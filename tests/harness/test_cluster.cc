#include "harness/test_cluster.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common/files.h"

namespace cluster::harness {
namespace fs = std::filesystem;

namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Status WriteText(const fs::path& path, const std::string& text, unsigned mode = 0644) {
  return WriteFileAtomically(path, text, mode);
}

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

}  // namespace

Status Sh(const std::vector<std::string>& argv) {
  CLUSTER_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv));
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return InternalError(fmt::format("`{}` failed (exit {}): {}", cmd, r.exit_code, Trim(r.err)));
  }
  return Status::Ok();
}

std::optional<std::string> TestCluster::WhyUnavailable() {
  if (::geteuid() != 0) return "not root (network namespaces need CAP_SYS_ADMIN)";
  if (::access("/usr/sbin/sshd", X_OK) != 0) return "no /usr/sbin/sshd (apt-get install openssh-server)";
  if (::access("/usr/bin/ssh-keygen", X_OK) != 0) return "no ssh-keygen (apt-get install openssh-client)";
  auto probe = RunProcess({"ip", "netns", "list"});
  if (!probe.ok() || probe->exit_code != 0) return "`ip netns` does not work here (apt-get install iproute2)";
  return std::nullopt;
}

std::optional<std::string> TestCluster::WhyBootUnavailable() {
  if (auto why = WhyUnavailable()) return why;
  if (::access("/usr/bin/systemd-nspawn", X_OK) != 0) return "no systemd-nspawn (apt-get install systemd-container)";
  return std::nullopt;
}

StatusOr<std::unique_ptr<TestCluster>> TestCluster::Create(const TestClusterOptions& options) {
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<TestCluster> c(new TestCluster());
  static int counter = 0;  // unique names within this test process
  c->prefix_ = fmt::format("cpush{}x{}", ::getpid(), counter++);
  c->dir_ = fs::temp_directory_path() / c->prefix_;
  Status s = c->Setup(options);
  if (!s.ok()) return s;  // the destructor tears down what was made
  return c;
}

TestCluster::~TestCluster() { Teardown(); }

std::string TestCluster::HostAddress(int i) const { return fmt::format("127.0.10.{}", i + 2); }

Status TestCluster::AddNode(const std::string& ns, const std::string& port, int k) {
  const std::string sw = prefix_ + "-sw";
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", sw, "link", "set", port, "master", "br0", "up"}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1",
                              "net.ipv4.conf.lo.route_localnet=1", "net.ipv4.conf.eth0.route_localnet=1"}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", ns, "link", "set", "lo", "up"}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", ns, "link", "set", "eth0", "up"}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", ns, "addr", "add", fmt::format("127.0.10.{}/32", k), "dev", "lo"}));
  return Status::Ok();
}

Status TestCluster::Setup(const TestClusterOptions& options) {
  fs::create_directories(dir_);
  fs::create_directories(OperatorHome());
  ::chmod(dir_.c_str(), 0755);
  // Nodes: the switch, the operator, the hosts.
  const std::string sw = prefix_ + "-sw";
  std::vector<std::string> nodes = {OperatorNamespace()};
  for (int i = 0; i < options.hosts; ++i) {
    HostState h;
    h.ns = fmt::format("{}-h{}", prefix_, i + 1);
    h.dir = dir_ / fmt::format("host{}", i + 1);
    hosts_.push_back(std::move(h));
    nodes.push_back(hosts_.back().ns);
  }
  for (const auto& ns : std::vector<std::string>{sw}) {
    CLUSTER_RETURN_IF_ERROR(Sh({"ip", "netns", "add", ns}));
    namespaces_.push_back(ns);
  }
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", sw, "link", "add", "br0", "type", "bridge"}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", sw, "link", "set", "br0", "up"}));
  node_count_ = static_cast<int>(nodes.size());
  for (int k = 0; k < node_count_; ++k) {
    CLUSTER_RETURN_IF_ERROR(Sh({"ip", "netns", "add", nodes[k]}));
    namespaces_.push_back(nodes[k]);
    CLUSTER_RETURN_IF_ERROR(AddNode(nodes[k], fmt::format("p{}", k + 1), k + 1));
  }
  for (int k = 0; k < node_count_; ++k) {
    for (int m = 0; m < node_count_; ++m) {
      if (m == k) continue;
      CLUSTER_RETURN_IF_ERROR(Sh({"ip", "-n", nodes[k], "route", "add", fmt::format("127.0.10.{}/32", m + 1), "dev",
                                  "eth0", "src", fmt::format("127.0.10.{}", k + 1)}));
    }
  }
  // Keys: the operator's identity, a spare key for "changed key" tests, one host key per host.
  CLUSTER_RETURN_IF_ERROR(Sh({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "operator", "-f", IdentityFile().string()}));
  CLUSTER_RETURN_IF_ERROR(Sh({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "spare", "-f", (dir_ / "spare_key").string()}));
  fs::copy_file(dir_ / "id_ed25519.pub", dir_ / "authorized_keys", fs::copy_options::overwrite_existing);
  CLUSTER_RETURN_IF_ERROR(Sh({"mkdir", "-p", "/run/sshd"}));  // sshd's privilege-separation folder
  std::string known;
  for (int i = 0; i < options.hosts; ++i) {
    fs::create_directories(hosts_[i].dir / "home");
    fs::create_directories(hosts_[i].dir / "srv");
    CLUSTER_RETURN_IF_ERROR(Sh({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", HostName(i), "-f",
                                (hosts_[i].dir / "ssh_host_ed25519_key").string()}));
    if (options.fake_gpus.count(i)) CLUSTER_RETURN_IF_ERROR(WriteFakeGpuBin(i, options.fake_gpus.at(i)));
    if (options.booted_root.count(i)) {
      CLUSTER_RETURN_IF_ERROR(PrepareBootedRoot(i, options.booted_root.at(i)));
      CLUSTER_RETURN_IF_ERROR(BootHost(i));
      known += KnownHostsLine(i) + "\n";
      continue;
    }
    if (options.docker.count(i) && options.docker.at(i)) CLUSTER_RETURN_IF_ERROR(StartDockerd(i, options));
    CLUSTER_RETURN_IF_ERROR(StartSshd(i, options));
    known += KnownHostsLine(i) + "\n";
  }
  return WriteText(KnownHostsFile(), known);
}

std::string TestCluster::KnownHostsLine(int i) const {
  auto pub = ReadFile(hosts_[i].dir / "ssh_host_ed25519_key.pub");
  auto words = std::istringstream(pub.ok() ? *pub : "");
  std::string type, key;
  words >> type >> key;
  return fmt::format("{} {} {}", HostAddress(i), type, key);
}

std::string TestCluster::WrongKnownHostsLine(int i) const {
  auto pub = ReadFile(dir_ / "spare_key.pub");
  auto words = std::istringstream(pub.ok() ? *pub : "");
  std::string type, key;
  words >> type >> key;
  return fmt::format("{} {} {}", HostAddress(i), type, key);
}

std::string TestCluster::DockerHost(int i) const { return "unix://" + (hosts_[i].dir / "docker.sock").string(); }

Status TestCluster::StartSshd(int i, const TestClusterOptions& options) {
  HostState& h = hosts_[i];
  std::string config = fmt::format(
      "ListenAddress {}:22\nHostKey {}\nPidFile {}\nAuthorizedKeysFile {}\nPermitRootLogin prohibit-password\n"
      "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
      "PubkeyAuthentication yes\nLogLevel ERROR\nSubsystem sftp internal-sftp\nMaxStartups 50\n",
      HostAddress(i), (h.dir / "ssh_host_ed25519_key").string(), (h.dir / "sshd.pid").string(),
      (dir_ / "authorized_keys").string());
  // Unix sockets are not per network namespace: a host without our dockerd
  // points at a socket nobody serves, never at a system daemon of this machine.
  const bool docker = options.docker.count(i) && options.docker.at(i);
  config += fmt::format("SetEnv DOCKER_HOST={}\n",
                        docker ? DockerHost(i) : "unix://" + (h.dir / "no-docker.sock").string());
  CLUSTER_RETURN_IF_ERROR(WriteText(h.dir / "sshd_config", config));
  std::string srv = fmt::format("mount --bind {} /srv", (h.dir / "srv").string());
  if (options.srv_tmpfs_size.count(i)) srv = fmt::format("mount -t tmpfs -o size={} tmpfs /srv", options.srv_tmpfs_size.at(i));
  const std::string script = fmt::format(
      "set -e; mount --bind {} /root; {}; {}; exec /usr/sbin/sshd -D -f {} -E {} </dev/null >/dev/null 2>&1",
      (h.dir / "home").string(), srv, MountFakeGpuBin(i, options), (h.dir / "sshd_config").string(),
      (h.dir / "sshd.log").string());
  Subprocess::Options o;
  o.pipe_stdin = o.pipe_stdout = o.pipe_stderr = false;
  CLUSTER_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Start({"ip", "netns", "exec", h.ns, "unshare", "-m",
                                                            "--propagation", "private", "sh", "-c", script}, o));
  h.sshd_pid = p.pid();
  h.sshd = std::move(p);
  return WaitForSsh(i, 100);
}

// Ready when sshd accepts connections from the operator's side.
Status TestCluster::WaitForSsh(int i, int tries) {
  for (int t = 0; t < tries; ++t) {
    auto r = RunProcess({"ip", "netns", "exec", OperatorNamespace(), "bash", "-c",
                         fmt::format("exec 3<>/dev/tcp/{}/22", HostAddress(i))});
    if (r.ok() && r->exit_code == 0) return Status::Ok();
    SleepMs(50);
  }
  const fs::path log = hosts_[i].booted ? hosts_[i].dir / "console.log" : hosts_[i].dir / "sshd.log";
  auto text = ReadFile(log);
  return UnavailableError(fmt::format("sshd of {} did not start: {}", HostName(i), text.ok() ? *text : ""));
}

// A copy of `root` (the original stays as it is) with the harness's host key
// as its only host key and the operator's key authorized for root.
Status TestCluster::PrepareBootedRoot(int i, const fs::path& root) {
  HostState& h = hosts_[i];
  const fs::path copy = h.dir / "root";
  CLUSTER_RETURN_IF_ERROR(Sh({"cp", "-a", "--reflink=auto", root.string(), copy.string()}));
  for (const auto& e : fs::directory_iterator(copy / "etc/ssh")) {
    if (e.path().filename().string().rfind("ssh_host_", 0) == 0) fs::remove(e.path());
  }
  fs::copy_file(h.dir / "ssh_host_ed25519_key", copy / "etc/ssh/ssh_host_ed25519_key");
  fs::copy_file(h.dir / "ssh_host_ed25519_key.pub", copy / "etc/ssh/ssh_host_ed25519_key.pub");
  fs::create_directories(copy / "root/.ssh");
  ::chmod((copy / "root/.ssh").c_str(), 0700);
  fs::copy_file(dir_ / "authorized_keys", copy / "root/.ssh/authorized_keys", fs::copy_options::overwrite_existing);
  CLUSTER_RETURN_IF_ERROR(WriteText(copy / "etc/hostname", HostName(i) + "\n"));
  h.booted = true;
  return Status::Ok();
}

Status TestCluster::BootHost(int i) {
  HostState& h = hosts_[i];
  const std::string script = fmt::format(
      "exec systemd-nspawn --quiet --directory {} --boot --register=no --keep-unit --console=read-only "
      "--network-namespace-path=/run/netns/{} --machine {} </dev/null >>{} 2>&1",
      (h.dir / "root").string(), h.ns, h.ns, (h.dir / "console.log").string());
  Subprocess::Options o;
  o.pipe_stdin = o.pipe_stdout = o.pipe_stderr = false;
  CLUSTER_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Start({"sh", "-c", script}, o));
  // The container's init is nspawn's child named systemd (a first child of
  // nspawn's own comes and goes before it).
  h.sshd_pid = -1;
  for (int tries = 0; tries < 200 && h.sshd_pid < 0; ++tries) {
    auto children = ReadFile(fmt::format("/proc/{}/task/{}/children", p.pid(), p.pid()));
    std::istringstream in(children.ok() ? *children : "");
    for (pid_t child; in >> child;) {
      auto comm = ReadFile(fmt::format("/proc/{}/comm", child));
      if (comm.ok() && Trim(*comm) == "systemd") h.sshd_pid = child;
    }
    if (h.sshd_pid < 0) SleepMs(50);
  }
  h.sshd = std::move(p);
  if (h.sshd_pid < 0) return UnavailableError(fmt::format("the container of {} did not start", HostName(i)));
  return WaitForSsh(i, 1200);  // a boot takes a few seconds
}

Status TestCluster::RebootHost(int i) {
  HostState& h = hosts_[i];
  if (!h.booted || !h.sshd) return FailedPreconditionError(HostName(i) + " is not a booted host");
  h.sshd->Kill(SIGTERM);  // nspawn powers the container off
  if (!h.sshd->WaitFor(60000)) return UnavailableError(fmt::format("{} did not power off within 60 s", HostName(i)));
  h.sshd.reset();
  return BootHost(i);
}

Status TestCluster::StartDockerd(int i, const TestClusterOptions& options) {
  HostState& h = hosts_[i];
  const fs::path d = h.dir;
  // The host's file system as its sshd sees it (/root, /srv), so that a
  // `docker run -v /srv/models/m:...` mounts what was pushed over SSH. A tmpfs
  // /srv (srv_tmpfs_size) is sshd's alone: dockerd keeps the machine's /srv.
  std::string folders = fmt::format("mount --bind {} /root", (d / "home").string());
  if (!options.srv_tmpfs_size.count(i)) folders += fmt::format("; mount --bind {} /srv", (d / "srv").string());
  // dockerd looks for nvidia-container-runtime-hook in its PATH once, at
  // start: /usr/local/bin must be in it (it is not in every caller's PATH).
  const std::string script = fmt::format(
      "set -e; {}; {}; PATH=/usr/local/bin:$PATH; export PATH; "
      "exec dockerd --iptables=false --ip6tables=false --bridge=none --storage-driver vfs --data-root {} "
      "--exec-root {} --pidfile {} -H {} </dev/null >{} 2>&1",
      folders, MountFakeGpuBin(i, options), (d / "docker-data").string(), (d / "docker-exec").string(),
      (d / "docker.pid").string(), DockerHost(i), (d / "dockerd.log").string());
  Subprocess::Options o;
  o.pipe_stdin = o.pipe_stdout = o.pipe_stderr = false;
  // nsenter, not `ip netns exec`: the latter remounts /sys and hides the cgroup mounts dockerd needs.
  CLUSTER_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Start({"nsenter", "--net=/run/netns/" + h.ns, "--", "unshare",
                                                            "-m", "--propagation", "private", "sh", "-c", script}, o));
  h.dockerd_pid = p.pid();
  h.dockerd = std::move(p);
  for (int tries = 0; tries < 300; ++tries) {
    auto r = RunProcess({"docker", "-H", DockerHost(i), "version", "--format", "{{.Server.Version}}"});
    if (r.ok() && r->exit_code == 0) return Status::Ok();
    SleepMs(100);
  }
  auto log = ReadFile(d / "dockerd.log");
  return UnavailableError(fmt::format("dockerd of {} did not start: {}", HostName(i),
                                      log.ok() ? log->substr(log->size() > 2000 ? log->size() - 2000 : 0) : ""));
}

// The stand-ins of FakeGpus (test_cluster.h). Their text is fixed here so
// that each host's answers follow its options.
Status TestCluster::WriteFakeGpuBin(int i, const FakeGpus& gpus) {
  const fs::path bin = hosts_[i].dir / "bin";
  fs::create_directories(bin);
  std::string query, list;
  for (int g = 0; g < gpus.count; ++g) {
    query += fmt::format("{}, {}, {}, 0, {}, {}, {}, 0\n", g, gpus.name, gpus.memory_mib, gpus.memory_mib,
                         gpus.compute_capability, gpus.driver);
    list += fmt::format("GPU {}: {} (UUID: GPU-00000000-0000-0000-0000-{:012d})\n", g, gpus.name, g);
  }
  const std::string smi = fmt::format(
      "#!/bin/sh\n"
      "# STAND-IN nvidia-smi of the test harness (TestClusterOptions.fake_gpus): not NVIDIA's.\n"
      "# It answers only the query the agent makes and -L; anything else exits 1.\n"
      "case \"$*\" in\n"
      "  '--query-gpu=index,name,memory.total,memory.used,memory.free,compute_cap,driver_version,"
      "utilization.gpu --format=csv,noheader,nounits') printf '{}' ;;\n"
      "  -L) printf '{}' ;;\n"
      "  *) echo \"nvidia-smi stand-in: unsupported arguments: $*\" >&2; exit 1 ;;\n"
      "esac\n",
      query, list);
  const std::string hook = fmt::format(
      "#!/bin/sh\n"
      "# STAND-IN nvidia-container-runtime-hook of the test harness: runc runs it as the\n"
      "# OCI prestart hook of `docker run --gpus`. It logs its argv, reads the OCI state\n"
      "# on stdin and exits 0; it exposes no device.\n"
      "echo \"$*\" >> {}\n"
      "cat >/dev/null\n"
      "exit 0\n",
      GpuHookLog(i).string());
  CLUSTER_RETURN_IF_ERROR(WriteText(bin / "nvidia-smi", smi, 0755));
  return WriteText(bin / "nvidia-container-runtime-hook", hook, 0755);
}

std::string TestCluster::MountFakeGpuBin(int i, const TestClusterOptions& options) const {
  if (!options.fake_gpus.count(i)) return "true";
  // An overlay, not a bind mount: the stand-ins go over /usr/local/bin while
  // what it holds stays visible (the docker CLI lives there on some machines).
  return fmt::format("mount -t overlay overlay -o lowerdir={}:/usr/local/bin /usr/local/bin",
                     (hosts_[i].dir / "bin").string());
}

fs::path TestCluster::HostPath(int i, const std::string& host_path) const {
  // The sshd's root as its mount namespace sees it.
  return fs::path(fmt::format("/proc/{}/root", hosts_[i].sshd_pid)) / fs::path(host_path).relative_path();
}

StatusOr<ProcessResult> TestCluster::RunOnOperator(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {"ip", "netns", "exec", OperatorNamespace(), "env",
                                   "HOME=" + OperatorHome().string(), "USER=root"};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunProcess(full);
}

StatusOr<Subprocess> TestCluster::StartOnOperator(const std::vector<std::string>& argv) const {
  std::vector<std::string> full = {"ip", "netns", "exec", OperatorNamespace(), "env",
                                   "HOME=" + OperatorHome().string(), "USER=root"};
  full.insert(full.end(), argv.begin(), argv.end());
  return Subprocess::Start(full);
}

// nsenter's words for host i: its mount and network namespaces; a booted
// host's pid, IPC, UTS and cgroup namespaces too (systemctl needs them).
std::vector<std::string> TestCluster::EnterHost(int i) const {
  std::vector<std::string> words = {"nsenter", "-t", std::to_string(hosts_[i].sshd_pid), "-m", "-n"};
  if (hosts_[i].booted) words.insert(words.end(), {"-p", "-i", "-u", "-C"});
  words.push_back("--");
  return words;
}

StatusOr<ProcessResult> TestCluster::RunOnHost(int i, const std::vector<std::string>& argv) const {
  std::vector<std::string> full = EnterHost(i);
  full.insert(full.end(), argv.begin(), argv.end());
  return RunProcess(full);
}

StatusOr<Subprocess> TestCluster::StartOnHost(int i, const std::vector<std::string>& argv,
                                             const Subprocess::Options& options) const {
  std::vector<std::string> full = EnterHost(i);
  full.insert(full.end(), argv.begin(), argv.end());
  return Subprocess::Start(full, options);
}

Status TestCluster::StopSshd(int i) {
  HostState& h = hosts_[i];
  if (h.sshd) {
    h.sshd->Kill(SIGTERM);
    h.sshd->Wait();
    h.sshd.reset();
  }
  return Status::Ok();
}

Status TestCluster::SetLinkUp(int i, bool up) {
  return Sh({"ip", "-n", hosts_[i].ns, "link", "set", "eth0", up ? "up" : "down"});
}

Status TestCluster::LimitRate(int i, const std::string& rate) {
  CLUSTER_RETURN_IF_ERROR(Sh({"tc", "-n", hosts_[i].ns, "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate,
                              "burst", "256kb", "latency", "100ms"}));
  return Sh({"tc", "-n", prefix_ + "-sw", "qdisc", "replace", "dev", fmt::format("p{}", i + 2), "root", "tbf", "rate",
             rate, "burst", "256kb", "latency", "100ms"});
}

Status TestCluster::LimitOperatorRate(const std::string& rate) {
  CLUSTER_RETURN_IF_ERROR(Sh({"tc", "-n", OperatorNamespace(), "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate",
                              rate, "burst", "256kb", "latency", "100ms"}));
  return Sh({"tc", "-n", prefix_ + "-sw", "qdisc", "replace", "dev", "p1", "root", "tbf", "rate", rate, "burst",
             "256kb", "latency", "100ms"});
}

void TestCluster::Teardown() {
  // dockerd and booted containers first, gently: they clean up their own state.
  for (auto& h : hosts_) {
    if (h.booted && h.sshd) {
      h.sshd->Kill(SIGTERM);
      h.sshd->WaitFor(30000);
    }
    if (h.dockerd) {
      h.dockerd->Kill(SIGTERM);
      h.dockerd->WaitFor(10000);
      h.dockerd.reset();  // SIGKILL if still running
    }
    if (h.sshd) h.sshd.reset();
  }
  // Every process still in our namespaces (sessions, receivers) was started by this test.
  for (const auto& ns : namespaces_) {
    auto pids = RunProcess({"ip", "netns", "pids", ns});
    if (!pids.ok()) continue;
    std::istringstream in(pids->out);
    pid_t pid;
    while (in >> pid) {
      if (pid > 1) ::kill(pid, SIGKILL);
    }
  }
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) (void)Sh({"ip", "netns", "del", *it});
  namespaces_.clear();
  std::error_code ec;
  if (!dir_.empty() && std::getenv("CLUSTER_KEEP_HARNESS") == nullptr) fs::remove_all(dir_, ec);
}

}  // namespace cluster::harness
