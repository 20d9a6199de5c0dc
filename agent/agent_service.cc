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
#include <nlohmann/json.hpp>

#include "agent/comm_check.h"
#include "agent/daemon.h"
#include "agent/engine_rank.h"
#include "agent/gpu_facts.h"
#include "agent/node_facts.h"
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
// Docker commands the agent waits for (rm, ray status): a hung daemon must not
// hold a worker thread for ever.
constexpr int kDockerTimeoutMs = 30000;
// How long the head waits for Ray to see every GPU of the cluster.
constexpr auto kRayWait = std::chrono::minutes(10);

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

struct AgentService::Impl {
  Impl(asio::io_context& io_context, AgentConfig cfg, control::Credentials creds, fs::path state, fs::path binary)
      : io(io_context),
        config(std::move(cfg)),
        credentials(std::move(creds)),
        dir(std::move(state)),
        self(std::move(binary)),
        supervisor(io_context, LogRotation{}, [this](const control::UnitStatus& u) { OnUnitExit(u); }) {}

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
  std::shared_ptr<std::atomic<bool>> launcher_cancel;
  std::function<void()> on_shutdown;
  bool stopping = false;  // units are being stopped on purpose: their exits are no failures

  // ---- helpers on the io thread ----
  template <typename F>
  void OnWorker(F work) {
    asio::post(workers, std::move(work));
  }
  template <typename F>
  void OnIo(F work) {
    asio::post(io, std::move(work));
  }

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

  std::vector<std::string> StopUnits(const std::string& reason) {
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
    if (failure) return;  // the first failure is the one reported
    failure = f;
    LOG_ERROR("deployment {}: {} on {} {}; stopping every unit", deployment, f.unit, f.host, f.message);
    StopUnits(fmt::format("{} on {} {}", f.unit, f.host, f.message));
    if (!tell_peers) return;
    control::GangFailureRequest request{deployment, f};
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
    RecordFailure(f, true);
  }

  // The agent's copy of the endpoint's API key, given to `clusterd start`
  // over SSH (never in a request).
  fs::path ApiKeyFile() const { return dir / "api.key"; }
  StatusOr<std::string> ApiKey() const {
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
    StopUnits("replaced by deployment " + req.deployment);
    supervisor.ClearEnded();
    failure.reset();
    deployment = req.deployment;
    peers = req.peers;
    std::error_code ec;
    fs::create_directories(dir / "logs" / deployment, ec);
    if (ec) return UnavailableError(fmt::format("cannot create the log folder: {}", ec.message()));
    return Status::Ok();
  }

  void On(const control::StartRequest& req, const std::shared_ptr<Responder>& r) {
    if (Status s = Prepare(req); !s.ok()) return r->Fail(s);
    if (req.runtime == control::RuntimeKind::kEngine) return StartRanks(req, r);
    if (!req.container) return r->Fail(InvalidArgumentError("start: runtime vllm-docker needs a container"));
    StartContainer(*req.container, r);
  }

  void StartRanks(const control::StartRequest& req, const std::shared_ptr<Responder>& r) {
    control::StartReply reply;
    if (!req.ranks.empty()) {
      auto engine = FindEngineBinary(self);
      if (!engine.ok()) return r->Fail(engine.status());
      for (const auto& rank : req.ranks) {
        Status s = ValidateRankSpec(rank);
        fs::path key;
        if (s.ok() && rank.api_key) {
          key = ApiKeyFile();
          s = ApiKey().status();
        }
        if (s.ok()) s = supervisor.Start(EngineRankUnit(rank, *engine, dir / "logs" / deployment, key));
        if (!s.ok()) {
          StopUnits("start failed");
          return r->Fail(Status(s.code(), fmt::format("rank {}: {}", rank.rank, s.message())));
        }
        reply.started.push_back(fmt::format("rank {}", rank.rank));
      }
    }
    SaveGroups();
    r->Send(control::ToJson(reply), false);
  }

  void StartContainer(const control::ContainerSpec& spec, const std::shared_ptr<Responder>& r) {
    if (Status s = ValidateContainerSpec(spec); !s.ok()) return r->Fail(s);
    if (Status s = ValidateContainerLabels({config.cluster, deployment}); !s.ok()) return r->Fail(s);
    OnWorker([this, spec, r] {
      (void)RunProcessWithin(DockerRemoveArgs(spec.name), kDockerTimeoutMs);  // a container of an earlier run
      OnIo([this, spec, r] {
        UnitSpec unit;
        unit.name = "container " + spec.name;
        unit.argv = DockerRunArgs(spec, ContainerLabels{config.cluster, deployment});
        if (spec.api_key) {
          auto key = ApiKey();
          if (!key.ok()) return r->Fail(key.status());
          unit.env[kApiKeyVariable] = *key;
        }
        unit.stop_argv = DockerStopArgs(spec.name, 8);  // within the supervisor's stop grace
        unit.log_file = dir / "logs" / deployment / "container.log";
        if (Status s = supervisor.Start(unit); !s.ok()) return r->Fail(s);
        SaveGroups();
        control::StartReply reply;
        reply.started.push_back(unit.name);
        if (spec.head) StartHeadLauncher(spec);
        r->Send(control::ToJson(reply), false);
      });
    });
  }

  // The head waits until Ray sees every GPU of the cluster, then runs `vllm serve`.
  void StartHeadLauncher(const control::ContainerSpec& spec) {
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    launcher_cancel = cancel;
    const std::string id = deployment;
    OnWorker([this, spec, cancel, id] {
      const auto deadline = Clock::now() + kRayWait;
      double seen = 0;
      std::string last;
      while (!cancel->load() && Clock::now() < deadline) {
        auto status = RunProcessWithin(RayStatusArgs(spec.name), kDockerTimeoutMs);
        if (status.ok() && status->exit_code == 0) {
          last = status->out;
          seen = ParseRayStatusGpus(status->out).value_or(0);
          if (seen >= spec.expected_gpus) break;
        } else if (status.ok()) {
          last = status->err.empty() ? status->out : status->err;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      if (cancel->load()) return;
      OnIo([this, spec, seen, last, id] {
        if (deployment != id || failure) return;
        if (seen < spec.expected_gpus) {
          control::GangFailure f;
          f.host = config.host;
          f.unit = "container " + spec.name;
          f.message = fmt::format("Ray saw {} of {} GPUs after {} s", seen, spec.expected_gpus,
                                  std::chrono::duration_cast<std::chrono::seconds>(kRayWait).count());
          f.log_tail = {last};
          f.unix_ms = UnixMillis();
          return RecordFailure(f, true);
        }
        UnitSpec serve;
        serve.name = "vllm serve";
        serve.argv = VllmServeArgs(spec);
        serve.log_file = dir / "logs" / deployment / "vllm-serve.log";
        if (Status s = supervisor.Start(serve); !s.ok()) {
          control::GangFailure f{config.host, serve.name, s.message(), {}, UnixMillis()};
          return RecordFailure(f, true);
        }
        SaveGroups();
      });
    });
  }

  void On(const control::StatusRequest&, const std::shared_ptr<Responder>& r) {
    control::StatusReply reply;
    reply.agent = Hello();
    reply.deployment = deployment;
    reply.units = supervisor.Units();
    reply.failure = failure;
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
    reply.left = StopUnits(req.reason.empty() ? "clusterctl down" : req.reason);
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
    if (req.deployment == deployment && !deployment.empty()) RecordFailure(req.failure, false);
    r->Send(nlohmann::json::object(), false);
  }

  void On(const control::ShutdownRequest&, const std::shared_ptr<Responder>& r) {
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
                           fs::path state_dir, fs::path self)
    : impl_(std::make_unique<Impl>(io, std::move(config), std::move(credentials), std::move(state_dir),
                                   std::move(self))) {}

AgentService::~AgentService() { impl_->workers.join(); }

void AgentService::Handle(control::Request request, std::shared_ptr<Responder> responder) {
  impl_->Handle(std::move(request), std::move(responder));
}

void AgentService::StopEverything(const std::string& reason) { impl_->StopUnits(reason); }

void AgentService::OnShutdown(std::function<void()> callback) { impl_->on_shutdown = std::move(callback); }

}  // namespace cluster::agent
