// The supervisor of unit processes, with /bin/sh scripts as units. Every wait
// is bounded; every process a test starts is a unit the Supervisor kills.
#include "agent/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "agent/unit_log.h"

namespace fs = std::filesystem;
using cluster::testing::TempDir;
using namespace std::chrono_literals;
using cluster::agent::LogRotation;
using cluster::agent::ReadUnitLog;
using cluster::agent::Supervisor;
using cluster::agent::UnitSpec;
using cluster::control::UnitState;
using cluster::control::UnitStatus;

namespace {


UnitSpec ShellUnit(const std::string& name, const fs::path& dir, const std::string& script) {
  UnitSpec spec;
  spec.name = name;
  spec.argv = {"/bin/sh", "-c", script};
  spec.log_file = dir / (name + ".log");
  return spec;
}

// Runs the io_context until `done` holds or `timeout` passes.
bool RunUntil(boost::asio::io_context& io, const std::function<bool()>& done,
              std::chrono::milliseconds timeout = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(10ms);
  }
  return true;
}

std::string LogText(const fs::path& log) {
  auto lines = ReadUnitLog(log, 0, -1);
  if (!lines.ok()) return "";
  std::string text;
  for (const auto& l : *lines) text += l.text + "\n";
  return text;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

UnitStatus UnitNamed(const Supervisor& sup, const std::string& name) {
  for (const auto& u : sup.Units()) {
    if (u.name == name) return u;
  }
  return {};
}

// Records the units reported to on_exit.
struct ExitRecorder {
  std::vector<UnitStatus> exits;
  Supervisor::ExitCallback Callback() {
    return [this](const UnitStatus& u) { exits.push_back(u); };
  }
};

// True when `pid` no longer runs (gone, or a zombie waiting for its reaper).
bool ProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  return close == std::string::npos || text.substr(close + 2, 1) == "Z";
}

}  // namespace

TEST_CASE("A unit's stdout and stderr reach its log, a line each") {
  TempDir tmp("output");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  UnitSpec spec = ShellUnit("rank 0", dir, "echo to stdout; echo to stderr >&2; printf 'no newline'; echo $GREETING");
  spec.rank = 0;
  spec.env["GREETING"] = "hello from env";
  REQUIRE(sup.Start(spec).ok());
  CHECK(UnitNamed(sup, "rank 0").state == UnitState::kRunning);
  REQUIRE(RunUntil(io, [&] { return !recorder.exits.empty(); }));
  std::string log = LogText(spec.log_file);
  CHECK(Contains(log, "\nto stdout\n"));
  CHECK(Contains(log, "\nto stderr\n"));
  CHECK(Contains(log, "\nno newlinehello from env\n"));
  UnitStatus unit = UnitNamed(sup, "rank 0");
  CHECK(unit.state == UnitState::kExited);
  CHECK(unit.exit_code == 0);
  CHECK(unit.rank == 0);
  CHECK(unit.restarts == 0);
  CHECK(unit.ended_unix_ms >= unit.started_unix_ms);
  CHECK(unit.log_file == spec.log_file.string());
}

TEST_CASE("A unit that exits with code 3 is failed with code 3 and reported once") {
  TempDir tmp("exit3");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  UnitSpec spec = ShellUnit("rank 1", dir, "echo failing; exit 3");
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return !recorder.exits.empty(); }));
  RunUntil(io, [] { return false; }, 200ms);  // a second report would come now
  REQUIRE(recorder.exits.size() == 1);
  CHECK(recorder.exits[0].name == "rank 1");
  CHECK(recorder.exits[0].state == UnitState::kFailed);
  CHECK(recorder.exits[0].exit_code == 3);
  CHECK(UnitNamed(sup, "rank 1").state == UnitState::kFailed);
  CHECK(Contains(LogText(spec.log_file), "clusterd: exited with code 3"));
}

TEST_CASE("A unit killed by SIGKILL from outside is failed with code 137 and its log names the signal") {
  TempDir tmp("killed");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  UnitSpec spec = ShellUnit("rank 0", dir, "sleep 60; echo not reached");
  REQUIRE(sup.Start(spec).ok());
  pid_t pid = static_cast<pid_t>(UnitNamed(sup, "rank 0").pid);
  REQUIRE(pid > 0);
  REQUIRE(::kill(pid, SIGKILL) == 0);
  REQUIRE(RunUntil(io, [&] { return !recorder.exits.empty(); }));
  CHECK(recorder.exits[0].state == UnitState::kFailed);
  CHECK(recorder.exits[0].exit_code == 128 + 9);
  CHECK(Contains(LogText(spec.log_file), "killed by signal 9 (SIGKILL)"));
}

TEST_CASE("A missing program exits with code 127 and the log says why") {
  TempDir tmp("missing");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  UnitSpec spec;
  spec.name = "rank 0";
  spec.argv = {"/nonexistent/engine", "--serve"};
  spec.log_file = dir / "rank0.log";
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return !recorder.exits.empty(); }));
  CHECK(recorder.exits[0].state == UnitState::kFailed);
  CHECK(recorder.exits[0].exit_code == 127);
  CHECK(Contains(LogText(spec.log_file), "clusterd: cannot run /nonexistent/engine: No such file or directory"));
}

TEST_CASE("A unit gets no descriptor of the agent beyond stdin, stdout and stderr") {
  TempDir tmp("descriptors");
  const fs::path& dir = tmp.path;
  // Descriptors without O_CLOEXEC, numbered above what the shell's own
  // listing of the folder uses.
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  int leaky[2] = {::dup2(fds[0], 100), ::dup2(fds[1], 101)};
  REQUIRE(leaky[0] == 100);
  REQUIRE(leaky[1] == 101);
  ::close(fds[0]);
  ::close(fds[1]);
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  UnitSpec spec = ShellUnit("rank 0", dir, "for f in /proc/$$/fd/*; do echo \"fd ${f##*/}\"; done");
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return !recorder.exits.empty(); }));
  std::string log = LogText(spec.log_file);
  CHECK(Contains(log, "\nfd 1\n"));
  CHECK_FALSE(Contains(log, "\nfd " + std::to_string(leaky[0]) + "\n"));
  CHECK_FALSE(Contains(log, "\nfd " + std::to_string(leaky[1]) + "\n"));
  ::close(leaky[0]);
  ::close(leaky[1]);
}

TEST_CASE("Starting a unit whose name is running is AlreadyExists") {
  TempDir tmp("twice");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  Supervisor sup(io, LogRotation{}, nullptr);
  UnitSpec spec = ShellUnit("rank 0", dir, "sleep 60");
  REQUIRE(sup.Start(spec).ok());
  cluster::Status again = sup.Start(spec);
  CHECK(again.code() == cluster::StatusCode::kAlreadyExists);
  CHECK(sup.Units().size() == 1);
}

TEST_CASE("Stop kills a unit that ignores SIGTERM once the grace is over, and on_exit is not called") {
  TempDir tmp("ignores_term");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  UnitSpec spec = ShellUnit("rank 0", dir, "trap '' TERM; echo ready; sleep 60");
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return Contains(LogText(spec.log_file), "\nready\n"); }));
  auto begin = std::chrono::steady_clock::now();
  REQUIRE(sup.Stop("rank 0", 300ms).ok());
  auto took = std::chrono::steady_clock::now() - begin;
  CHECK(took >= 300ms);
  CHECK(took < 2s);
  UnitStatus unit = UnitNamed(sup, "rank 0");
  CHECK(unit.state == UnitState::kStopped);
  CHECK(unit.exit_code == 128 + 9);
  RunUntil(io, [] { return false; }, 200ms);
  CHECK(recorder.exits.empty());
  std::string log = LogText(spec.log_file);
  CHECK(Contains(log, "sending SIGTERM"));
  CHECK(Contains(log, "sending SIGKILL"));
  // Stopping a unit that is no longer running is fine.
  CHECK(sup.Stop("rank 0", 300ms).ok());
  CHECK(sup.Stop("no such unit", 300ms).ok());
}

TEST_CASE("Stop reaches the children of a unit through its process group") {
  TempDir tmp("children");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  Supervisor sup(io, LogRotation{}, nullptr);
  fs::path pid_file = dir / "child.pid";
  UnitSpec spec = ShellUnit("rank 0", dir, "sleep 60 & echo $! > " + pid_file.string() + "; wait");
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return fs::exists(pid_file) && fs::file_size(pid_file) > 0; }));
  pid_t child = 0;
  std::ifstream(pid_file) >> child;
  REQUIRE(child > 0);
  CHECK_FALSE(ProcessGone(child));
  REQUIRE(sup.Stop("rank 0", 1000ms).ok());
  CHECK(RunUntil(io, [&] { return ProcessGone(child); }, 2000ms));
}

TEST_CASE("StopAll stops every unit in reverse start order and leaves none alive") {
  TempDir tmp("stop_all");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  ExitRecorder recorder;
  Supervisor sup(io, LogRotation{}, recorder.Callback());
  fs::path order = dir / "order";
  for (std::string name : {"a", "b", "c"}) {
    UnitSpec spec = ShellUnit(name, dir,
                              "trap 'echo " + name + " >> " + order.string() +
                                  "; exit 0' TERM; echo ready; while :; do sleep 0.05; done");
    REQUIRE(sup.Start(spec).ok());
    REQUIRE(RunUntil(io, [&] { return Contains(LogText(spec.log_file), "\nready\n"); }));
  }
  std::vector<std::string> left = sup.StopAll(2000ms);
  CHECK(left.empty());
  for (const auto& unit : sup.Units()) CHECK(unit.state == UnitState::kStopped);
  std::ifstream in(order);
  std::string stopped((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(stopped == "c\nb\na\n");
  RunUntil(io, [] { return false; }, 200ms);
  CHECK(recorder.exits.empty());
  sup.ClearEnded();
  CHECK(sup.Units().empty());
}

TEST_CASE("The stop command runs to completion before the unit is signalled, its output in the unit's log") {
  TempDir tmp("stop_argv");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  Supervisor sup(io, LogRotation{}, nullptr);
  fs::path termed = dir / "termed";
  UnitSpec spec = ShellUnit("container demo", dir,
                            "trap 'touch " + termed.string() + "; exit 0' TERM; echo ready; while :; do sleep 0.05; done");
  spec.stop_argv = {"/bin/sh", "-c",
                    "sleep 0.2; if [ -e " + termed.string() + " ]; then echo signalled too early; else echo unit not yet signalled; fi"};
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return Contains(LogText(spec.log_file), "\nready\n"); }));
  REQUIRE(sup.Stop("container demo", 2000ms).ok());
  std::string log = LogText(spec.log_file);
  CHECK(Contains(log, "\nunit not yet signalled\n"));
  CHECK(Contains(log, "clusterd: stop command exited with code 0"));
  CHECK(fs::exists(termed));
  CHECK(UnitNamed(sup, "container demo").state == UnitState::kStopped);
}

TEST_CASE("A unit that ends during its stop command is stopped without signals") {
  TempDir tmp("stop_argv_ends");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  Supervisor sup(io, LogRotation{}, nullptr);
  fs::path quit = dir / "quit";
  UnitSpec spec = ShellUnit("container demo", dir,
                            "echo ready; while [ ! -e " + quit.string() + " ]; do sleep 0.02; done; exit 0");
  spec.stop_argv = {"/bin/sh", "-c", "touch " + quit.string() + "; sleep 0.5"};
  REQUIRE(sup.Start(spec).ok());
  REQUIRE(RunUntil(io, [&] { return Contains(LogText(spec.log_file), "\nready\n"); }));
  REQUIRE(sup.Stop("container demo", 3000ms).ok());
  UnitStatus unit = UnitNamed(sup, "container demo");
  CHECK(unit.state == UnitState::kStopped);
  CHECK(unit.exit_code == 0);
  CHECK_FALSE(Contains(LogText(spec.log_file), "sending SIGTERM"));
}

TEST_CASE("Destroying the supervisor kills the units still running") {
  TempDir tmp("destroy");
  const fs::path& dir = tmp.path;
  boost::asio::io_context io;
  pid_t pid = 0;
  {
    Supervisor sup(io, LogRotation{}, nullptr);
    REQUIRE(sup.Start(ShellUnit("rank 0", dir, "sleep 60")).ok());
    pid = static_cast<pid_t>(sup.Units()[0].pid);
  }
  CHECK(::kill(pid, 0) != 0);  // killed and reaped: the pid is gone
  io.restart();
  io.run_for(50ms);  // handlers left queued must not touch the destroyed supervisor
}
