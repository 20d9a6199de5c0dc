// `clusterd stop` (agent/daemon.h StopAgent) after the agent was killed: it
// ends the units' process groups recorded in units.json, but only groups
// that are provably still the units' (common/recorded_group.h).
#include "agent/daemon.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent/supervisor.h"
#include "common/subprocess.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace cluster;
using namespace cluster::agent;
using cluster::testing::TempDir;

namespace {

// HOME pointing into a fresh folder for the length of a test.
struct FakeHome {
  FakeHome() {
    const char* old = std::getenv("HOME");
    previous = old != nullptr ? old : "";
    ::setenv("HOME", dir.path.c_str(), 1);
  }
  ~FakeHome() { ::setenv("HOME", previous.c_str(), 1); }
  TempDir dir{"stop_agent"};
  std::string previous;
};

}  // namespace

TEST_CASE("clusterd stop never signals a recorded group id that now belongs to another program") {
  FakeHome home;
  const fs::path state = AgentStateDir("lab");
  fs::create_directories(state);
  // An unrelated program leading its own group, whose id the kernel gave out
  // again after the recorded unit had ended: units.json names that id.
  SpawnOptions options;
  options.pipe_stdin = false;
  options.new_session = true;
  auto other = Subprocess::Start({"sleep", "30"}, options);
  REQUIRE(other.ok());
  const RecordedGroup stale{other->pid(), ProcessStartTicks(other->pid()).value() + 1, BootId(), NewGroupMarker()};
  REQUIRE(SaveUnitGroups(state, {{"rank 0", stale}}).ok());

  auto outcome = StopAgent("lab", /*purge=*/false);
  REQUIRE(outcome.ok());
  CHECK(outcome->stopped.empty());
  CHECK(outcome->left.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(other->WaitFor(0));  // still running: it was not ours to stop
  other->Kill(SIGKILL);
  other->Wait();
}

TEST_CASE("clusterd stop ends the recorded groups of units a killed agent left running") {
  FakeHome home;
  const fs::path state = AgentStateDir("lab");
  fs::create_directories(state);
  boost::asio::io_context io;
  auto supervisor = std::make_unique<Supervisor>(io, LogRotation{}, nullptr);
  UnitSpec unit;
  unit.name = "rank 0";
  unit.argv = {"/bin/sh", "-c", "sleep 30 & wait"};
  unit.log_file = state / "rank-0.log";
  REQUIRE(supervisor->Start(unit).ok());
  std::vector<UnitGroup> groups;
  for (auto& [name, group] : supervisor->RunningGroups()) groups.push_back({name, group});
  REQUIRE(groups.size() == 1);
  REQUIRE(SaveUnitGroups(state, groups).ok());
  const pid_t leader = static_cast<pid_t>(groups[0].group.pgid);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the shell has started its child

  auto outcome = StopAgent("lab", /*purge=*/false);
  REQUIRE(outcome.ok());
  CHECK(outcome->stopped == std::vector<std::string>{"rank 0 (process group " + std::to_string(leader) + ")"});
  CHECK(outcome->left.empty());
  CHECK(WaitEnded(leader, std::chrono::seconds(5)));
  supervisor.reset();  // reaps the leader
}
