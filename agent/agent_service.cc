#include "common/clock.h"
#include "agent/agent_service.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "agent/comm_check.h"
#include "agent/daemon.h"
#include "agent/deployment_file.h"
#include "agent/engine_rank.h"
#include "agent/gpu_facts.h"
#include "agent/launcher.h"
#include "agent/node_facts.h"
#include "agent/restart_budget.h"
#include "agent/supervisor.h"
#include "agent/unit_log.h"
#include "agent/vllm_docker.h"
#include "common/build_info.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/subprocess.h"

namespace cluster::agent {
namespace fs = std::filesystem;
namespace asio = boost::asio;
using control::Responder;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kStopGrace = std::chrono::seconds(10);
constexpr auto kPeerTimeout = std::chrono::seconds(3);
constexpr int kFailureTailLines = 30;
// Docker commands the agent waits for (rm): a hung daemon must not hold a
// worker thread for ever.
constexpr int kDockerTimeoutMs = 30000;
// A gang restart that is due waits for every peer agent to answer; it asks
// again this often (the wait counts no restart).
constexpr auto kPeerRetry = std::chrono::seconds(3);

std::string ExitMessage(const control::UnitStatus& unit) {
  if (!unit.exit_code) return "ended";
  const int code = *unit.exit_code;
  if (code > 128 && code < 128 + 65) return fmt::format("was killed by signal {}", code - 128);
  if (code == 0) return "exited with code 0 while the deployment was running";
  return fmt::format("exited with code {}", code);
}

std::vector<std::string> TailOf(const fs::path& log, int lines) {
  std::vector<std::string> out;
  auto read = ReadUnitLog(log, 0, lines);
  if (read.ok()) {
    for (auto& l : *read) out.push_back(std::move(l.text));
  }
  return out;
}

}  // namespace

std::vector<std::string> CleanUpLeftovers(const fs::path& state_dir, const std::string& cluster) {
  std::vector<std::string> done;
  for (const UnitGroup& g : LiveUnitGroups(state_dir)) {
    SignalRecordedGroup(g.group, SIGKILL);
    done.push_back(fmt::format("{} (process group {})", g.unit, g.group.pgid));
  }
  for (const std::string& c : ListClusterContainers(cluster)) {
    (void)RunProcessWithin(DockerRemoveArgs(c), kDockerTimeoutMs);
    done.push_back("container " + c);
  }
  (void)SaveUnitGroups(state_dir, {});
  return done;
}

struct AgentService::Impl final : LaunchSite {
  Impl(asio::io_context& io_context, AgentConfig cfg, control::Credentials creds, fs::path state, fs::path binary,
       Launchers runtimes)
      : io(io_context),
        config(std::move(cfg)),
        credentials(std::move(creds)),
        dir(std::move(state)),
        self(std::move(binary)),
        supervisor(io_context, LogRotation{}, [this](const control::UnitStatus& u) { OnUnitExit(u); }),
        restart_timer(io_context),
        launchers(std::move(runtimes)) {}

  asio::io_context& io;
  AgentConfig config;
  control::Credentials credentials;
  fs::path dir, self;
  asio::thread_pool workers{4};
  Supervisor supervisor;
  Clock::time_point started = Clock::now();
  std::string deployment;
  std::optional<control::GangFailure> failure;
  std::vector<control::PeerAgent> peers;
  // The restart policy's state (docs/lifecycle.md, "Restarts"):
  // the start request of `deployment`, the gang's restarts (its generation)
  // and, while the gang is down, whether and when it starts again.
  std::optional<control::StartRequest> current;
  int generation = 0;
  std::vector<std::int64_t> restarts_unix_ms;
  std::optional<control::GangFailure> last_failure;
  std::string not_restarted;
  std::string restart_waiting;
  std::int64_t next_restart_unix_ms = 0;
  asio::steady_timer restart_timer;
  int restart_epoch = 0;  // a pending restart of an older epoch is void
  std::shared_ptr<std::atomic<bool>> launcher_cancel;  // Stopped(): set by StopUnits
  const Launchers launchers;  // by runtime name
  std::function<void()> on_shutdown;
  bool stopping = false;  // units are being stopped on purpose: their exits are no failures

  // ---- LaunchSite: what the launchers use ----
  const std::string& cluster() const override { return config.cluster; }
  const std::string& host() const override { return config.host; }
  const std::string& DeploymentId() const override { return deployment; }
  fs::path LogFolder() const override { return dir / "logs" / deployment; }
  const fs::path& Self() const override { return self; }
  Status StartUnit(const UnitSpec& unit) override {
    Status s = supervisor.Start(unit);
    if (s.ok()) SaveGroups();
    return s;
  }
  void OnWorker(std::function<void()> work) override { asio::post(workers, std::move(work)); }
  void OnIo(std::function<void()> work) override { asio::post(io, std::move(work)); }
  std::shared_ptr<const std::atomic<bool>> Stopped() override {
    if (!launcher_cancel || launcher_cancel->load()) launcher_cancel = std::make_shared<std::atomic<bool>>(false);
    return launcher_cancel;
  }
  bool Current(const std::string& id) const override { return deployment == id && !failure; }
  void Fail(const control::GangFailure& f) override { RecordFailure(f, true); }

  control::HelloReply Hello() const {
    control::HelloReply h;
    h.agent_version = GetBuildInfo().version;
    h.cluster = config.cluster;
    h.host = config.host;
    h.pid = ::getpid();
    h.uptime_s = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
    h.unix_time_ms = UnixMillis();
    return h;
  }

  void SaveGroups() {
    std::vector<UnitGroup> groups;
    for (auto& [name, group] : supervisor.RunningGroups()) groups.push_back({name, group});
    if (Status s = SaveUnitGroups(dir, groups); !s.ok()) LOG_WARNING("cannot save units.json: {}", s.message());
  }

  std::vector<std::string> StopUnits(const std::string& reason) override {
    if (launcher_cancel) launcher_cancel->store(true);
    stopping = true;
    for (const auto& u : supervisor.Units()) {
      if (u.state == control::UnitState::kRunning || u.state == control::UnitState::kStarting)
        supervisor.Note(u.name, "stopping: " + reason);
    }
    std::vector<std::string> left = supervisor.StopAll(std::chrono::duration_cast<std::chrono::milliseconds>(kStopGrace));
    stopping = false;
    SaveGroups();
    return left;
  }

  void RecordFailure(const control::GangFailure& f, bool tell_peers) {
    if (failure) {
      // The first failure is the one reported: a rank that failed because a
      // peer's rank died may be seen here before the news of that death.
      if (f.unix_ms < failure->unix_ms) {
        failure = f;
        last_failure = f;
        SaveDeployment();
      }
      return;
    }
    failure = f;
    last_failure = f;
    LOG_ERROR("deployment {}: {} on {} {}; stopping every unit", deployment, f.unit, f.host, f.message);
    StopUnits(fmt::format("{} on {} {}", f.unit, f.host, f.message));
    if (IsHead()) DecideOnRestart(f);
    SaveDeployment();
    if (!tell_peers) return;
    control::GangFailureRequest request{deployment, f, generation};
    for (const auto& peer : peers) {
      OnWorker([peer, request, creds = credentials] {
        auto client = control::ControlClient::Connect(peer.address, peer.port, creds, kPeerTimeout);
        Status s = client.ok() ? (*client)->Call(request, kPeerTimeout).status() : client.status();
        if (!s.ok()) LOG_WARNING("could not tell {} about the failure: {}", peer.host, s.message());
      });
    }
  }

  void OnUnitExit(const control::UnitStatus& unit) {
    if (stopping) return;
    control::GangFailure f;
    f.host = config.host;
    f.unit = unit.name;
    f.message = ExitMessage(unit);
    f.log_tail = TailOf(unit.log_file, kFailureTailLines);
    f.unix_ms = UnixMillis();
    f.cause = unit.exit_code == 0 ? "exited" : "failed";
    RecordFailure(f, true);
  }

  // ---- the restart policy (docs/lifecycle.md, "Restarts") ----
  // The head's agent (the host of rank 0, or of the Ray head and `vllm
  // serve`) decides for the gang: every failure reaches it (gang-failure),
  // it counts the restarts, waits out the backoff, then starts its units and
  // tells every other agent to start theirs (gang-restart) as the next
  // generation. The world forms again at rank 0's rendezvous (or Ray's
  // head). The other agents only follow, so half a gang never runs on its
  // own: without the head's word their units stay stopped.
  bool IsHead() const {
    if (!current) return false;
    for (const auto& rank : current->ranks) {
      if (rank.rank == 0) return true;
    }
    return current->container && current->container->head;
  }

  void SaveDeployment() {
    if (!current) return;
    DeploymentFile file{*current, generation, restarts_unix_ms, last_failure};
    if (Status s = SaveDeploymentFile(dir, file); !s.ok()) LOG_WARNING("cannot save deployment.json: {}", s.message());
  }

  // Ends the restart policy's pending work (a stop on purpose, a new deployment).
  void CancelRestart() {
    ++restart_epoch;
    restart_timer.cancel();
    next_restart_unix_ms = 0;
    restart_waiting.clear();
  }

  void DecideOnRestart(const control::GangFailure& f) {
    const std::int64_t now = UnixMillis();
    RestartDecision d = DecideRestart(current->restart, f, restarts_unix_ms, now);
    if (!d.restart) {
      not_restarted = d.why_not;
      LOG_WARNING("deployment {}: not restarted: {}", deployment, d.why_not);
      return;
    }
    not_restarted.clear();
    next_restart_unix_ms = now + std::int64_t{d.delay_s} * 1000;
    LOG_INFO("deployment {}: restarting the gang in {} s (restart {} of at most {} within {})", deployment, d.delay_s,
             generation + 1, current->restart.max_restarts, control::DurationText(current->restart.window_s));
    ArmRestart(std::chrono::seconds(d.delay_s));
  }

  void ArmRestart(std::chrono::steady_clock::duration delay) {
    const int epoch = ++restart_epoch;
    restart_timer.expires_after(delay);
    restart_timer.async_wait([this, epoch](const boost::system::error_code& ec) {
      if (!ec && epoch == restart_epoch) TryRestart(epoch);
    });
  }

  // The gang starts again only when every peer agent answers: one that is
  // down (its host rebooting) would leave the world short of ranks.
  void TryRestart(int epoch) {
    OnWorker([this, epoch, peer_list = peers, creds = credentials] {
      std::vector<std::string> silent;
      for (const auto& peer : peer_list) {
        auto client = control::ControlClient::Connect(peer.address, peer.port, creds, kPeerTimeout);
        Status s = client.ok() ? (*client)->Call(control::HelloRequest{}, kPeerTimeout).status() : client.status();
        if (!s.ok()) silent.push_back(peer.host);
      }
      OnIo([this, epoch, silent] {
        if (epoch != restart_epoch || !failure || !current) return;
        if (!silent.empty()) {
          restart_waiting = fmt::format("the agent{} of {} to answer", silent.size() == 1 ? "" : "s",
                                        fmt::format("{}", fmt::join(silent, ", ")));
          ArmRestart(kPeerRetry);
          return;
        }
        RestartGang();
      });
    });
  }

  // The head: this host's units as generation + 1, then every peer's.
  void RestartGang() {
    const control::GangFailure cause = *failure;
    BeginGeneration(generation + 1, cause);
    LOG_INFO("deployment {}: gang restart {} after {} on {} {}", deployment, generation, cause.unit, cause.host,
             cause.message);
    control::GangRestartRequest request{deployment, generation, cause};
    for (const auto& peer : peers) {
      OnWorker([peer, request, creds = credentials] {
        auto client = control::ControlClient::Connect(peer.address, peer.port, creds, kPeerTimeout);
        // A peer stops what it still runs and starts its units: give it the start's time.
        Status s = client.ok() ? (*client)->Call(request, std::chrono::seconds(60)).status() : client.status();
        if (!s.ok()) LOG_WARNING("could not restart the units of {}: {}", peer.host, s.message());
      });
    }
    StartUnits([this, id = deployment, gen = generation](StatusOr<control::StartReply> outcome) {
      if (outcome.ok()) return;
      if (id != deployment || gen != generation) return;
      RecordFailure(StartFailure(outcome.status()), true);
    });
  }

  // Forgets the failure and counts the restart; the caller starts the units.
  void BeginGeneration(int next, const control::GangFailure& cause) {
    CancelRestart();
    if (!StopUnits("gang restart " + std::to_string(next)).empty()) LOG_WARNING("a unit did not stop before the restart");
    supervisor.ClearEnded();
    generation = next;
    restarts_unix_ms.push_back(UnixMillis());
    const std::int64_t keep_after = UnixMillis() - std::int64_t{current->restart.window_s} * 1000;
    std::erase_if(restarts_unix_ms, [&](std::int64_t t) { return t <= keep_after; });
    last_failure = cause;
    failure.reset();
    not_restarted.clear();
    SaveDeployment();
  }

  control::GangFailure StartFailure(const Status& s) const {
    control::GangFailure f;
    f.host = config.host;
    f.unit = "start";
    f.message = "could not start: " + s.message();
    f.unix_ms = UnixMillis();
    return f;
  }

  // After the agent itself restarted: the deployment of deployment.json, whose
  // units ended with the previous agent, counts as stopped by an agent
  // restart; runtime.restart always brings it back (the head decides).
  void Resume() {
    auto file = LoadDeploymentFile(dir);
    if (!file.ok()) {
      LOG_WARNING("{}", file.status().message());
      return;
    }
    if (!file->has_value()) return;
    DeploymentFile& d = **file;
    current = d.request;
    deployment = d.request.deployment;
    peers = d.request.peers;
    generation = d.generation;
    restarts_unix_ms = d.restarts_unix_ms;
    last_failure = d.last_failure;
    LOG_INFO("deployment {} (restart policy {}): its units ended with the previous agent", deployment,
             control::RestartPolicyName(current->restart.policy));
    control::GangFailure f;
    f.host = config.host;
    f.unit = "agent";
    f.message = "restarted; the units of this host had ended with the previous agent";
    f.unix_ms = UnixMillis();
    f.cause = "agent-restarted";
    RecordFailure(f, true);
  }

  // The agent's copy of the endpoint's API key, given to `clusterd start`
  // over SSH (never in a request).
  fs::path ApiKeyFile() const override { return dir / "api.key"; }
  StatusOr<std::string> ApiKey() const override {
    auto key = ReadFile(ApiKeyFile(), 64 << 10);
    if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
      return FailedPreconditionError("the endpoint needs an API key but none was installed with the agent; run "
                                     "`clusterctl up` again (it gives the agent runtime.api_key_file)");
    }
    return key;
  }

  // ---- requests ----
  void Handle(control::Request request, std::shared_ptr<Responder> r) {
    std::visit([&](auto& req) { On(req, r); }, request);
  }

  void On(const control::HelloRequest&, const std::shared_ptr<Responder>& r) { r->Send(control::ToJson(Hello()), false); }

  void On(const control::FactsRequest& req, const std::shared_ptr<Responder>& r) {
    OnWorker([this, req, r] {
      NodeProbes probes;
      probes.engine = FindEngineBinary(self);
      auto facts = CollectNodeFacts(req, probes);
      if (facts.ok()) facts->agent_boot_unit = BootUnitOf(config.cluster);
      OnIo([r, facts = std::move(facts)] {
        if (facts.ok()) r->Send(control::ToJson(*facts), false);
        else r->Fail(facts.status());
      });
    });
  }

  void On(const control::ProbeRequest& req, const std::shared_ptr<Responder>& r) {
    const control::PeerAgent* peer = nullptr;
    for (const auto& p : config.peers) {
      if (p.host == req.peer) peer = &p;
    }
    if (!peer) {
      r->Fail(InvalidArgumentError("'" + req.peer + "' is not a host of cluster " + config.cluster));
      return;
    }
    OnWorker([this, target = *peer, r] {
      control::ProbeReply reply;
      const auto t0 = Clock::now();
      auto client = control::ControlClient::Connect(target.address, target.port, credentials, kPeerTimeout);
      if (client.ok()) {
        auto hello = (*client)->Call(control::HelloRequest{}, kPeerTimeout);
        reply.source_address = (*client)->LocalAddress();
        if (hello.ok()) {
          reply.reachable = true;
          reply.rtt_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
        } else {
          reply.error = hello.status().message();
        }
      } else {
        reply.error = client.status().message();
      }
      OnIo([r, reply] { r->Send(control::ToJson(reply), false); });
    });
  }

  // REQUIRES: req.deployment is a valid id (DecodeRequest checked it).
  Status Prepare(const control::StartRequest& req) {
    CancelRestart();
    StopUnits("replaced by deployment " + req.deployment);
    supervisor.ClearEnded();
    failure.reset();
    deployment = req.deployment;
    peers = req.peers;
    current = req;
    generation = 0;
    restarts_unix_ms.clear();
    last_failure.reset();
    not_restarted.clear();
    std::error_code ec;
    fs::create_directories(dir / "logs" / deployment, ec);
    if (ec) return UnavailableError(fmt::format("cannot create the log folder: {}", ec.message()));
    SaveDeployment();
    return Status::Ok();
  }

  void On(const control::StartRequest& req, const std::shared_ptr<Responder>& r) {
    // A runtime this agent has no launcher for changes nothing here.
    if (auto launcher = launchers.For(req.runtime); !launcher.ok()) return r->Fail(launcher.status());
    if (Status s = Prepare(req); !s.ok()) return r->Fail(s);
    StartUnits([r](StatusOr<control::StartReply> reply) {
      if (reply.ok()) r->Send(control::ToJson(*reply), false);
      else r->Fail(reply.status());
    });
  }

  using StartDone = std::function<void(StatusOr<control::StartReply>)>;

  // Starts this host's units of `current` (a start, or a gang restart).
  void StartUnits(StartDone done) {
    const control::StartRequest& req = *current;
    auto launcher = launchers.For(req.runtime);  // a deployment.json of an agent with other runtimes
    if (!launcher.ok()) return done(launcher.status());
    (*launcher)->Start(req, *this, std::move(done));
  }

  void On(const control::StatusRequest&, const std::shared_ptr<Responder>& r) {
    control::StatusReply reply;
    reply.agent = Hello();
    reply.deployment = deployment;
    reply.units = supervisor.Units();
    for (auto& u : reply.units) u.restarts = generation;
    reply.failure = failure;
    if (current) {
      control::RestartState state;
      state.policy = current->restart;
      state.restarts = generation;
      state.last_failure = last_failure;
      state.next_unix_ms = next_restart_unix_ms;
      state.waiting = restart_waiting;
      state.not_restarted = failure ? not_restarted : "";
      reply.restart = state;
    }
    OnWorker([this, reply, r]() mutable {
      reply.gpus = ReadGpus(NodeProbes{}.nvidia_smi).gpus;
      OnIo([r, reply] { r->Send(control::ToJson(reply), false); });
    });
  }

  // The log files of the units a `logs` request selects: the current units,
  // or after a restart of the agent the files of the latest deployment.
  std::vector<std::pair<std::string, fs::path>> SelectLogs(const control::LogsRequest& req) {
    std::vector<std::pair<std::string, fs::path>> all;
    for (const auto& u : supervisor.Units()) {
      if (!req.unit.empty() && u.name != req.unit) continue;
      if (req.rank && u.rank != req.rank) continue;
      all.emplace_back(u.name, u.log_file);
    }
    if (!all.empty() || !supervisor.Units().empty()) return all;
    std::error_code ec;
    fs::path latest;
    fs::file_time_type latest_time;
    for (const auto& d : fs::directory_iterator(dir / "logs", ec)) {
      if (d.is_directory() && (latest.empty() || d.last_write_time() > latest_time)) {
        latest = d.path();
        latest_time = d.last_write_time();
      }
    }
    if (latest.empty()) return all;
    for (const auto& f : fs::directory_iterator(latest, ec)) {
      if (f.path().extension() != ".log") continue;
      std::string name = f.path().stem().string();
      std::replace(name.begin(), name.end(), '-', ' ');
      if (!req.unit.empty() && name != req.unit) continue;
      if (req.rank && name != fmt::format("rank {}", *req.rank)) continue;
      all.emplace_back(name, f.path());
    }
    return all;
  }

  void On(const control::LogsRequest& req, const std::shared_ptr<Responder>& r) {
    auto selected = SelectLogs(req);
    control::LogsReply reply;
    std::size_t bytes = 0;
    auto cursors = std::make_shared<std::vector<std::pair<std::string, std::pair<fs::path, LogCursor>>>>();
    for (const auto& [unit, file] : selected) {
      auto lines = ReadUnitLog(file, req.since_unix_ms, req.tail_lines);
      if (lines.ok()) {
        for (auto& l : *lines) {
          bytes += l.text.size() + unit.size() + 32;
          reply.lines.push_back({unit, l.unix_ms, std::move(l.text)});
        }
      }
      LogCursor cursor;
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0) cursor = {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size)};
      cursors->push_back({unit, {file, cursor}});
    }
    std::stable_sort(reply.lines.begin(), reply.lines.end(),
                     [](const control::LogLine& a, const control::LogLine& b) { return a.unix_ms < b.unix_ms; });
    // One frame holds at most ~1 MiB: keep the newest lines.
    const std::size_t budget = control::kMaxFrameBytes / 2;
    while (bytes > budget && !reply.lines.empty()) {
      bytes -= reply.lines.front().text.size() + reply.lines.front().unit.size() + 32;
      reply.lines.erase(reply.lines.begin());
    }
    r->Send(control::ToJson(reply), req.follow);
    if (req.follow) FollowLogs(cursors, r);
  }

  // Sends new lines every 300 ms, and an empty batch every 5 s so that the
  // client knows the agent is still there (and the agent that the client is).
  void FollowLogs(std::shared_ptr<std::vector<std::pair<std::string, std::pair<fs::path, LogCursor>>>> cursors,
                  std::shared_ptr<Responder> r, Clock::time_point last_sent = Clock::now()) {
    auto timer = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(300));
    timer->async_wait([this, timer, cursors, r, last_sent](const boost::system::error_code& ec) {
      if (ec || r->Closed()) return;
      control::LogsReply batch;
      for (auto& [unit, file_cursor] : *cursors) {
        auto lines = ReadNewLines(file_cursor.first, file_cursor.second);
        if (!lines.ok()) continue;
        for (auto& l : *lines) batch.lines.push_back({unit, l.unix_ms, std::move(l.text)});
      }
      Clock::time_point sent = last_sent;
      if (!batch.lines.empty() || Clock::now() - last_sent > std::chrono::seconds(5)) {
        r->Send(control::ToJson(batch), true);
        sent = Clock::now();
      }
      FollowLogs(cursors, r, sent);
    });
  }

  void On(const control::StopRequest& req, const std::shared_ptr<Responder>& r) {
    control::StopReply reply;
    for (const auto& u : supervisor.Units()) {
      if (u.state == control::UnitState::kRunning || u.state == control::UnitState::kStarting)
        reply.stopped.push_back(u.name);
    }
    CancelRestart();
    reply.left = StopUnits(req.reason.empty() ? "clusterctl down" : req.reason);
    // Stopped on purpose: an agent that restarts later does not bring it back.
    current.reset();
    RemoveDeploymentFile(dir);
    OnWorker([this, reply, r]() mutable {
      // Containers of this cluster that no unit accounts for (an earlier agent's).
      for (const std::string& c : ListClusterContainers(config.cluster)) {
        auto rm = RunProcessWithin(DockerRemoveArgs(c), kDockerTimeoutMs);
        (rm.ok() && rm->exit_code == 0 ? reply.stopped : reply.left).push_back("container " + c);
      }
      OnIo([r, reply] { r->Send(control::ToJson(reply), false); });
    });
  }

  void On(const control::GangFailureRequest& req, const std::shared_ptr<Responder>& r) {
    // A failure of an earlier generation (late on the wire) is no news.
    if (req.deployment == deployment && !deployment.empty() && req.generation == generation)
      RecordFailure(req.failure, false);
    r->Send(nlohmann::json::object(), false);
  }

  // A peer: the head's agent restarts the gang; start this host's units again.
  void On(const control::GangRestartRequest& req, const std::shared_ptr<Responder>& r) {
    if (!current || req.deployment != deployment) {
      return r->Fail(FailedPreconditionError(fmt::format(
          "deployment {} is not the one this agent runs ({}); run `clusterctl up`", req.deployment,
          deployment.empty() ? "none" : deployment)));
    }
    if (req.generation <= generation) return r->Send(nlohmann::json::object(), false);  // already there
    BeginGeneration(req.generation, req.failure);
    LOG_INFO("deployment {}: gang restart {} (the head's)", deployment, generation);
    StartUnits([this, r, id = deployment, gen = generation](StatusOr<control::StartReply> outcome) {
      if (!outcome.ok() && id == deployment && gen == generation) RecordFailure(StartFailure(outcome.status()), true);
      if (outcome.ok()) r->Send(nlohmann::json::object(), false);
      else r->Fail(outcome.status());
    });
  }

  void On(const control::ShutdownRequest&, const std::shared_ptr<Responder>& r) {
    CancelRestart();
    current.reset();
    RemoveDeploymentFile(dir);
    StopUnits("the agent is shutting down");
    r->Send(nlohmann::json::object(), false);
    if (on_shutdown) OnIo(on_shutdown);
  }

  void On(const control::CommCheckRequest& req, const std::shared_ptr<Responder>& r) {
    if (Status s = ValidateCommCheck(req); !s.ok()) return r->Fail(s);
    auto engine = FindEngineBinary(self);
    if (!engine.ok()) return r->Fail(engine.status());
    OnWorker([this, req, engine = *engine, r] {
      control::CommCheckReply reply = RunCommCheck(req, engine);
      OnIo([r, reply = std::move(reply)] { r->Send(control::ToJson(reply), false); });
    });
  }
};

AgentService::AgentService(asio::io_context& io, AgentConfig config, control::Credentials credentials,
                           fs::path state_dir, fs::path self, Launchers launchers)
    : impl_(std::make_unique<Impl>(io, std::move(config), std::move(credentials), std::move(state_dir),
                                   std::move(self), std::move(launchers))) {}

AgentService::~AgentService() { impl_->workers.join(); }

void AgentService::Handle(control::Request request, std::shared_ptr<Responder> responder) {
  impl_->Handle(std::move(request), std::move(responder));
}

void AgentService::StopEverything(const std::string& reason) {
  impl_->CancelRestart();
  impl_->StopUnits(reason);
}

void AgentService::Resume() { impl_->Resume(); }

void AgentService::OnShutdown(std::function<void()> callback) { impl_->on_shutdown = std::move(callback); }

}  // namespace cluster::agent
