#include "agent/daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/deployment_file.h"
#include "agent/node_facts.h"
#include "agent/vllm_docker.h"
#include "common/files.h"
#include "common/subprocess.h"

namespace cluster::agent {
namespace fs = std::filesystem;

namespace {

void SleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

bool SameNamespace(const char* kind) {
  std::error_code a, b;
  const fs::path mine = fs::read_symlink(fmt::format("/proc/self/ns/{}", kind), a);
  const fs::path init = fs::read_symlink(fmt::format("/proc/1/ns/{}", kind), b);
  return !a && !b && mine == init;
}

bool UseSystemd() {
  if (::geteuid() != 0 || !fs::exists("/run/systemd/system")) return false;
  if (::access("/usr/bin/systemd-run", X_OK) != 0 && ::access("/bin/systemd-run", X_OK) != 0) return false;
  return SameNamespace("net") && SameNamespace("mnt");
}

std::string UnitName(const std::string& cluster) { return "clusterd-" + cluster + ".service"; }

std::string LogTail(const fs::path& dir) {
  auto text = ReadFile(dir / "clusterd.log");
  if (!text.ok()) return "";
  std::string t = *text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  std::size_t pos = t.size();
  for (int lines = 0; lines < 10 && pos != std::string::npos && pos > 0; ++lines) pos = t.rfind('\n', pos - 1);
  return pos == std::string::npos ? t : t.substr(pos + 1);
}

// Waits for `pid` to end (it is not our child: poll). True when it did.
bool WaitGone(long pid, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 50) {
    if (!IsAgentProcess(pid)) return true;
    SleepMs(50);
  }
  return !IsAgentProcess(pid);
}

Status StartDetached(const fs::path& self, const fs::path& dir) {
  const fs::path log = dir / "clusterd.log";
  const pid_t child = ::fork();
  if (child < 0) return UnavailableError(fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    ::setsid();
    if (::fork() != 0) ::_exit(0);  // the grandchild is adopted by init: no session, no terminal
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    ::execl(self.c_str(), "clusterd", "serve", "--state", dir.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return Status::Ok();
}

// Where the unit file of an agent that starts at boot lives.
fs::path BootUnitPath(const std::string& cluster) { return fs::path("/etc/systemd/system") / UnitName(cluster); }

// The environment the agent keeps from `clusterd start`'s caller.
constexpr const char* kKeptVariables[] = {"HOME", "PATH", "DOCKER_HOST"};

// A value of a unit file with '%' doubled (systemd's specifiers). Text with
// a quote, a backslash or a control character is refused rather than
// escaped: the paths are ours and hold none.
StatusOr<std::string> UnitText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return InvalidArgumentError(fmt::format("cannot write \"{}\" into a systemd unit file", text));
    out += c == '%' ? std::string("%%") : std::string(1, c);
  }
  return out;
}

// An argument of ExecStart= or Environment=: UnitText, double-quoted.
StatusOr<std::string> UnitWord(const std::string& text) {
  CLUSTER_ASSIGN_OR_RETURN(std::string out, UnitText(text));
  return "\"" + out + "\"";
}

// The unit file of an agent that starts at boot: what the transient unit
// gets from systemd-run, plus [Install].
StatusOr<std::string> BootUnitText(const fs::path& self, const fs::path& dir, const std::string& cluster) {
  std::string exec;
  for (const std::string& a : {self.string(), std::string("serve"), std::string("--state"), dir.string()}) {
    CLUSTER_ASSIGN_OR_RETURN(std::string word, UnitWord(a));
    exec += (exec.empty() ? "" : " ") + word;
  }
  std::string env;
  for (const char* name : kKeptVariables) {
    if (const char* v = std::getenv(name)) {
      CLUSTER_ASSIGN_OR_RETURN(std::string word, UnitWord(fmt::format("{}={}", name, v)));
      env += "Environment=" + word + "\n";
    }
  }
  CLUSTER_ASSIGN_OR_RETURN(const std::string log, UnitText((dir / "clusterd.log").string()));
  CLUSTER_ASSIGN_OR_RETURN(const std::string folder, UnitText(dir.string()));
  return fmt::format(
      "# Written by `clusterd start` for cluster {0} (runtime.restart always); `clusterctl down --purge` "
      "removes it.\n"
      "[Unit]\nDescription=clusterd agent of cluster {0}\nWants=network-online.target\n"
      "After=network-online.target\n\n"
      "[Service]\nExecStart={1}\n{2}WorkingDirectory={3}\nStandardOutput=append:{4}\nStandardError=append:{4}\n"
      "Restart=on-failure\n\n"
      "[Install]\nWantedBy=multi-user.target\n",
      cluster, exec, env, folder, log);
}

// Disables and removes the unit file of an agent that started at boot, if
// there is one.
void RemoveBootUnit(const std::string& cluster) {
  std::error_code ec;
  if (!fs::exists(BootUnitPath(cluster), ec)) return;
  (void)RunProcess({"systemctl", "disable", "--now", UnitName(cluster)});
  fs::remove(BootUnitPath(cluster), ec);
  (void)RunProcess({"systemctl", "daemon-reload"});
}

Status StartAtBoot(const fs::path& self, const fs::path& dir, const std::string& cluster) {
  CLUSTER_ASSIGN_OR_RETURN(std::string text, BootUnitText(self, dir, cluster));
  (void)RunProcess({"systemctl", "reset-failed", UnitName(cluster)});
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(BootUnitPath(cluster), text, 0644));
  for (const std::vector<std::string>& argv : {std::vector<std::string>{"systemctl", "daemon-reload"},
                                                {"systemctl", "enable", "--now", UnitName(cluster)}}) {
    CLUSTER_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv));
    if (r.exit_code != 0) return UnavailableError(fmt::format("{} failed: {}", fmt::join(argv, " "), r.err));
  }
  return Status::Ok();
}

Status StartSystemd(const fs::path& self, const fs::path& dir, const std::string& cluster, bool at_boot) {
  if (at_boot) return StartAtBoot(self, dir, cluster);
  // An agent that started at boot before (runtime.restart always then) no longer does.
  RemoveBootUnit(cluster);
  // A failed unit of an earlier run would block the name.
  (void)RunProcess({"systemctl", "reset-failed", UnitName(cluster)});
  std::vector<std::string> argv = {"systemd-run", "--unit", UnitName(cluster), "--collect",
                                   "--property", "Restart=on-failure",
                                   "--property", "StandardOutput=append:" + (dir / "clusterd.log").string(),
                                   "--property", "StandardError=append:" + (dir / "clusterd.log").string(),
                                   "--property", "WorkingDirectory=" + dir.string()};
  for (const char* name : kKeptVariables) {
    if (const char* v = std::getenv(name)) argv.push_back(fmt::format("--setenv={}={}", name, v));
  }
  for (const std::string& a : {self.string(), std::string("serve"), std::string("--state"), dir.string()})
    argv.push_back(a);
  CLUSTER_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv));
  if (r.exit_code != 0) return UnavailableError("systemd-run failed: " + r.err);
  return Status::Ok();
}

void StopProcess(long pid, const std::string& cluster, bool systemd, StopOutcome& outcome) {
  if (systemd) (void)RunProcess({"systemctl", "stop", UnitName(cluster)});
  if (IsAgentProcess(pid)) {
    ::kill(static_cast<pid_t>(pid), SIGTERM);
    // The agent stops its units first (each gets a grace period).
    if (!WaitGone(pid, 30000)) {
      ::kill(static_cast<pid_t>(pid), SIGKILL);
      WaitGone(pid, 5000);
    }
  }
  outcome.stopped.push_back(fmt::format("agent pid {}", pid));
}

}  // namespace

std::string BootUnitOf(const std::string& cluster) {
  std::error_code ec;
  if (!fs::exists("/run/systemd/system", ec)) return "";
  for (const std::string& unit : {UnitName(cluster), "clusterd@" + cluster + ".service"}) {
    auto r = RunProcessWithin({"systemctl", "is-enabled", unit}, 5000);
    if (r.ok() && r->exit_code == 0 && r->out == "enabled\n") return unit;
  }
  return "";
}

std::vector<std::string> ListClusterContainers(const std::string& cluster) {
  auto r = RunProcessWithin(DockerListByLabelArgs(cluster), 30000);  // a hung dockerd must not hang `stop`
  std::vector<std::string> out;
  if (!r.ok() || r->exit_code != 0) return out;
  std::size_t start = 0;
  while (start < r->out.size()) {
    std::size_t end = r->out.find('\n', start);
    if (end == std::string::npos) end = r->out.size();
    if (end > start) out.push_back(r->out.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<UnitGroup> LiveUnitGroups(const fs::path& dir) {
  std::vector<UnitGroup> live;
  for (const UnitGroup& g : LoadUnitGroups(dir)) {
    if (!MembersOf(g.group).empty()) live.push_back(g);
  }
  return live;
}

StatusOr<StartOutcome> StartAgent(const fs::path& self, const AgentConfig& config,
                                  const control::Credentials& credentials) {
  CLUSTER_RETURN_IF_ERROR(CheckClusterName(config.cluster));
  const fs::path dir = AgentStateDir(config.cluster);
  const bool systemd = UseSystemd();
  StartOutcome outcome;
  outcome.systemd = systemd;

  auto running = ReadPidFile(dir);
  const bool alive = running.ok() && IsAgentProcess(running->pid);
  CLUSTER_ASSIGN_OR_RETURN(const std::string wanted, Fingerprint(self, config, credentials));
  if (alive && running->fingerprint == wanted) {
    outcome.what = StartOutcome::What::kAlreadyRunning;
    outcome.pid = running->pid;
    return outcome;
  }
  if (alive) {
    StopOutcome ignored;
    StopProcess(running->pid, config.cluster, systemd, ignored);
    if (IsAgentProcess(running->pid))
      return UnavailableError(fmt::format("the running agent (pid {}) did not stop; stop it by hand", running->pid));
    outcome.what = StartOutcome::What::kReplaced;
  }
  // A port another program holds would keep the new agent from listening:
  // say so now, not after the wait for its pid file below.
  if (const control::PortFacts port = ProbePort(config.listen_address, config.port); !port.free) {
    if (port.error == "address already in use") {
      return FailedPreconditionError(fmt::format(
          "port {} on host {} ({}) is in use by another program; set network.agent_port to a free port",
          config.port, config.host, config.listen_address));
    }
    return UnavailableError(fmt::format("the agent cannot listen on {}:{} on host {}: {}", config.listen_address,
                                        config.port, config.host, port.error));
  }
  CLUSTER_RETURN_IF_ERROR(SaveState(dir, config, credentials));
  std::error_code ec;
  fs::remove(PidFilePath(dir), ec);

  if (systemd) {
    CLUSTER_RETURN_IF_ERROR(StartSystemd(self, dir, config.cluster, config.start_at_boot));
  } else {
    CLUSTER_RETURN_IF_ERROR(StartDetached(self, dir));
  }
  // The serving agent writes its pid file once it listens.
  for (int waited = 0; waited < 15000; waited += 50) {
    auto pid = ReadPidFile(dir);
    if (pid.ok() && IsAgentProcess(pid->pid)) {
      outcome.pid = pid->pid;
      return outcome;
    }
    SleepMs(50);
  }
  return UnavailableError(fmt::format("the agent did not start listening on {}:{} within 15 s; its log says: {}",
                                      config.listen_address, config.port, LogTail(dir)));
}

StatusOr<StopOutcome> StopAgent(const std::string& cluster, bool purge) {
  CLUSTER_RETURN_IF_ERROR(CheckClusterName(cluster));
  const fs::path dir = AgentStateDir(cluster);
  StopOutcome outcome;
  auto running = ReadPidFile(dir);
  if (running.ok() && IsAgentProcess(running->pid)) {
    outcome.agent_was_running = true;
    StopProcess(running->pid, cluster, UseSystemd(), outcome);
  }
  // Stopped on purpose: no later agent of this folder takes the deployment up again.
  RemoveDeploymentFile(dir);
  // What a killed agent could not stop itself.
  for (const UnitGroup& g : LiveUnitGroups(dir)) {
    SignalRecordedGroup(g.group, SIGKILL);
    outcome.stopped.push_back(fmt::format("{} (process group {})", g.unit, g.group.pgid));
  }
  for (const std::string& c : ListClusterContainers(cluster)) {
    auto r = RunProcessWithin(DockerRemoveArgs(c), 30000);
    if (r.ok() && r->exit_code == 0) outcome.stopped.push_back("container " + c);
  }
  for (int waited = 0; waited < 2000 && !LiveUnitGroups(dir).empty(); waited += 50) SleepMs(50);

  if (running.ok() && IsAgentProcess(running->pid)) outcome.left.push_back(fmt::format("agent pid {}", running->pid));
  for (const UnitGroup& g : LiveUnitGroups(dir))
    outcome.left.push_back(fmt::format("{} (process group {})", g.unit, g.group.pgid));
  for (const std::string& c : ListClusterContainers(cluster)) outcome.left.push_back("container " + c);

  if (purge && outcome.left.empty()) {
    RemoveBootUnit(cluster);
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) return UnavailableError(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
    const fs::path all = dir.parent_path();
    if (fs::is_empty(all, ec)) {
      fs::remove(all, ec);
      const char* home = std::getenv("HOME");
      if (home && *home) fs::remove_all(fs::path(home) / ".cache/clusterd", ec);
    }
  }
  return outcome;
}

}  // namespace cluster::agent
