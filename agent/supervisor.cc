#include "agent/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/stop_command.h"
#include "agent/unit_log.h"
#include "common/logging.h"
#include "common/subprocess.h"

namespace cluster::agent {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// How long SIGKILL is given to end a unit before Stop() reports it stuck.
constexpr milliseconds kKillWait{1000};
// Output read per wake-up, so a unit that prints without pause cannot keep
// the io_context's thread to itself.
constexpr size_t kMaxReadPerWake = 1 << 20;

std::int64_t NowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// One started unit. Shared with the pending read of its output, so that a
// handler that runs after the unit was forgotten still finds it alive.
struct Unit {
  UnitSpec spec;
  control::UnitStatus status;
  pid_t pid = -1;
  RecordedGroup group;    // how units.json proves its processes are this unit's
  bool ended = false;     // reaped: `status` is final
  bool stopping = false;  // Stop() began: ends as kStopped, no on_exit
  std::unique_ptr<UnitLogWriter> log;
  std::unique_ptr<asio::posix::stream_descriptor> output;
};

void CloseOutput(Unit& unit) {
  if (!unit.output) return;
  boost::system::error_code ignored;
  unit.output->close(ignored);
  unit.output.reset();
  unit.log->Flush();
}

// Reads what the unit's pipe holds now into its log. False once the pipe is
// closed (every process of the unit has ended or closed it).
bool DrainOutput(Unit& unit) {
  if (!unit.output) return false;
  char buf[65536];
  for (size_t total = 0; total < kMaxReadPerWake;) {
    ssize_t n = ::read(unit.output->native_handle(), buf, sizeof buf);
    if (n > 0) {
      unit.log->Append(std::string_view(buf, static_cast<size_t>(n)));
      total += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    CloseOutput(unit);  // EOF or a read error
    return false;
  }
  return true;
}

// Reads the unit's output as it comes. The reads themselves are ours (the
// descriptor is only waited on), so DrainOutput at exit sees every byte in
// order with none held in a pending asynchronous read.
void WatchOutput(const std::shared_ptr<Unit>& unit) {
  if (!unit->output) return;
  unit->output->async_wait(asio::posix::stream_descriptor::wait_read,
                           [unit](const boost::system::error_code& ec) {
                             if (ec) return;  // closed or cancelled
                             if (DrainOutput(*unit)) WatchOutput(unit);
                           });
}

}  // namespace

struct Supervisor::Impl {
  Impl(asio::io_context& io_context, LogRotation log_rotation, ExitCallback exit_callback)
      : io(io_context), rotation(log_rotation), on_exit(std::move(exit_callback)), sigchld(io_context) {}

  asio::io_context& io;
  LogRotation rotation;
  ExitCallback on_exit;
  asio::signal_set sigchld;
  std::vector<std::shared_ptr<Unit>> units;  // in start order
  // Expires with the Supervisor: a SIGCHLD handler already queued when it is
  // destroyed must not touch it.
  std::shared_ptr<char> alive = std::make_shared<char>();

  std::shared_ptr<Unit> Find(const std::string& name) const {
    // The newest unit of that name: a running one replaces ended ones.
    for (auto it = units.rbegin(); it != units.rend(); ++it) {
      if ((*it)->spec.name == name) return *it;
    }
    return nullptr;
  }

  void WaitForChildren() {
    sigchld.async_wait([this, token = std::weak_ptr<char>(alive)](const boost::system::error_code& ec, int) {
      if (ec || token.expired()) return;
      WaitForChildren();
      ReapEnded();
    });
  }

  // Reaps the units that ended. Only our own pids are waited for, so the
  // children of other parts of the agent stay with their owners.
  void ReapEnded() {
    std::vector<control::UnitStatus> exited;
    for (const auto& unit : units) {
      if (unit->ended || !HasEnded(unit->pid)) continue;
      Finish(*unit);
      if (unit->status.state != control::UnitState::kStopped) exited.push_back(unit->status);
    }
    // The callback may call back in (a gang stop) or even destroy us.
    ExitCallback callback = on_exit;
    std::weak_ptr<char> token = alive;
    for (const auto& status : exited) {
      if (token.expired()) return;
      if (callback) callback(status);
    }
  }

  // Records how an ended unit finished. REQUIRES: HasEnded(unit.pid).
  void Finish(Unit& unit) {
    // The leader's zombie keeps its pid, and so the group id, reserved until
    // it is reaped: the group is killed first so no helper outlives the unit.
    ::kill(-unit.pid, SIGKILL);
    int wait_status = ReapProcess(unit.pid).value_or(255 << 8);
    DrainOutput(unit);
    unit.log->Flush();
    unit.ended = true;
    unit.status.exit_code = ExitCodeOf(wait_status);
    unit.status.ended_unix_ms = NowUnixMs();
    if (unit.stopping) {
      unit.status.state = control::UnitState::kStopped;
    } else {
      unit.status.state = *unit.status.exit_code == 0 ? control::UnitState::kExited : control::UnitState::kFailed;
    }
    unit.log->AppendLine(fmt::format("clusterd: {}{}", unit.stopping ? "stopped: " : "", DescribeWaitStatus(wait_status)));
  }

  Status StopUnit(Unit& unit, milliseconds grace) {
    if (unit.ended) return Status::Ok();
    unit.stopping = true;
    const auto deadline = Clock::now() + grace;
    auto left = [&] { return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Clock::now())); };
    if (!unit.spec.stop_argv.empty()) RunStopCommand(unit.spec.stop_argv, grace, *unit.log);
    if (!HasEnded(unit.pid)) {
      unit.log->AppendLine(fmt::format("clusterd: sending SIGTERM to process group {}", unit.pid));
      ::kill(-unit.pid, SIGTERM);
      if (!WaitEnded(unit.pid, left())) {
        unit.log->AppendLine(fmt::format("clusterd: still running {} ms after the stop began: sending SIGKILL",
                                         grace.count()));
        ::kill(-unit.pid, SIGKILL);
        WaitEnded(unit.pid, kKillWait);
      }
    }
    if (!HasEnded(unit.pid)) {
      unit.log->AppendLine("clusterd: still alive after SIGKILL");
      return DeadlineExceededError(fmt::format(
          "{} (pid {}) is still alive after SIGKILL; it may be stuck in the kernel (state D in `ps -o stat {}`)",
          unit.spec.name, unit.pid, unit.pid));
    }
    Finish(unit);
    return Status::Ok();
  }
};

Supervisor::Supervisor(asio::io_context& io, LogRotation rotation, ExitCallback on_exit)
    : impl_(std::make_unique<Impl>(io, rotation, std::move(on_exit))) {
  boost::system::error_code ec;
  impl_->sigchld.add(SIGCHLD, ec);
  if (ec) {
    LOG_ERROR("clusterd: cannot handle SIGCHLD ({}): units that exit will not be noticed", ec.message());
    return;
  }
  impl_->WaitForChildren();
}

Supervisor::~Supervisor() {
  for (const auto& unit : impl_->units) {
    if (!unit->ended) ::kill(-unit->pid, SIGKILL);
  }
  // Bounded: a process stuck in the kernel is left as a zombie rather than
  // hanging the agent's exit.
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  for (const auto& unit : impl_->units) {
    if (!unit->ended) {
      auto left = std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
      if (WaitEnded(unit->pid, left)) (void)ReapProcess(unit->pid);
    }
    CloseOutput(*unit);
  }
  boost::system::error_code ignored;
  impl_->sigchld.cancel(ignored);
}

Status Supervisor::Start(const UnitSpec& spec) {
  if (spec.name.empty()) return InvalidArgumentError("a unit needs a name");
  if (spec.argv.empty()) return InvalidArgumentError(fmt::format("unit {} has no program to run", spec.name));
  if (auto existing = impl_->Find(spec.name); existing && !existing->ended) {
    return AlreadyExistsError(fmt::format("unit {} is already running (pid {}); stop it first", spec.name,
                                          existing->pid));
  }
  auto unit = std::make_shared<Unit>();
  unit->spec = spec;
  unit->log = std::make_unique<UnitLogWriter>(spec.log_file, impl_->rotation.max_bytes, impl_->rotation.keep);
  if (unit->log->write_errors() > 0) {
    return UnavailableError(fmt::format("cannot write the log {} of unit {}; check that its folder is writable",
                                        spec.log_file.string(), spec.name));
  }
  SpawnOptions options;
  options.pipe_stdin = false;        // /dev/null
  options.stderr_to_stdout = true;   // one pipe, one log, lines in order
  options.new_session = true;        // its own group: a stop reaches all it started
  options.die_with_parent = true;    // a killed agent cannot supervise it (Supervisor runs on the io thread)
  options.env = spec.env;
  const std::string marker = NewGroupMarker();
  options.env[kGroupMarkerVariable] = marker;
  StatusOr<SpawnedProcess> spawned = Spawn(spec.argv, options);
  if (!spawned.ok()) return spawned.status().WithContext(spec.name);
  unit->pid = spawned->pid;
  unit->group = RecordGroup(spawned->pid, marker);
  unit->log->AppendLine(fmt::format("clusterd: started pid {}: {}", unit->pid, fmt::join(spec.argv, " ")));
  if (spawned->exec_errno != 0) {
    // The child exits 127; SIGCHLD reports it like any other exit.
    unit->log->AppendLine(fmt::format("clusterd: cannot run {}: {}", spec.argv[0], std::strerror(spawned->exec_errno)));
  }
  ::fcntl(spawned->stdout_fd, F_SETFL, ::fcntl(spawned->stdout_fd, F_GETFL) | O_NONBLOCK);
  unit->output = std::make_unique<asio::posix::stream_descriptor>(impl_->io);
  boost::system::error_code ec;
  unit->output->assign(spawned->stdout_fd, ec);
  if (ec) {
    ::close(spawned->stdout_fd);
    unit->output.reset();
    unit->log->AppendLine(fmt::format("clusterd: cannot read the unit's output: {}", ec.message()));
  }

  unit->status.name = spec.name;
  unit->status.rank = spec.rank;
  unit->status.pid = unit->pid;
  unit->status.state = control::UnitState::kRunning;
  unit->status.restarts = 0;
  unit->status.started_unix_ms = NowUnixMs();
  unit->status.log_file = spec.log_file.string();

  // An ended unit of the same name is replaced by the new one.
  auto& units = impl_->units;
  units.erase(std::remove_if(units.begin(), units.end(),
                             [&](const std::shared_ptr<Unit>& u) {
                               if (u->spec.name != spec.name) return false;
                               CloseOutput(*u);
                               return true;
                             }),
              units.end());
  units.push_back(unit);
  WatchOutput(unit);
  return Status::Ok();
}

Status Supervisor::Stop(const std::string& name, milliseconds grace) {
  std::shared_ptr<Unit> unit = impl_->Find(name);
  if (!unit) return Status::Ok();
  return impl_->StopUnit(*unit, grace);
}

std::vector<std::string> Supervisor::StopAll(milliseconds grace) {
  std::vector<std::shared_ptr<Unit>> units = impl_->units;  // Stop() may not change the list, but be safe
  std::vector<std::string> left;
  for (auto it = units.rbegin(); it != units.rend(); ++it) {
    Status s = impl_->StopUnit(**it, grace);
    if (!s.ok()) {
      LOG_WARNING("clusterd: {}", s.message());
      left.push_back((*it)->spec.name);
    }
  }
  return left;
}

std::vector<control::UnitStatus> Supervisor::Units() const {
  std::vector<control::UnitStatus> out;
  out.reserve(impl_->units.size());
  for (const auto& unit : impl_->units) out.push_back(unit->status);
  return out;
}

std::vector<std::pair<std::string, RecordedGroup>> Supervisor::RunningGroups() const {
  std::vector<std::pair<std::string, RecordedGroup>> out;
  for (const auto& unit : impl_->units) {
    if (!unit->ended) out.emplace_back(unit->spec.name, unit->group);
  }
  return out;
}

void Supervisor::ClearEnded() {
  auto& units = impl_->units;
  units.erase(std::remove_if(units.begin(), units.end(),
                             [](const std::shared_ptr<Unit>& u) {
                               if (!u->ended) return false;
                               CloseOutput(*u);
                               return true;
                             }),
              units.end());
}

void Supervisor::Note(const std::string& name, const std::string& text) {
  if (std::shared_ptr<Unit> unit = impl_->Find(name)) unit->log->AppendLine("clusterd: " + text);
}

}  // namespace cluster::agent
