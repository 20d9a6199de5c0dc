// Recorded process groups (common/recorded_group.h): a group is signalled
// only through processes that are provably its own, never through a group id
// that an unrelated program got after the recorded group had ended.
#include "common/recorded_group.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/subprocess.h"

using namespace cluster;

namespace {

// `sh` leading its own session, with a background child: a unit's shape.
Subprocess StartGroup(const std::string& marker) {
  SpawnOptions options;
  options.pipe_stdin = false;
  options.new_session = true;
  if (!marker.empty()) options.env[kGroupMarkerVariable] = marker;
  auto started = Subprocess::Start({"sh", "-c", "sleep 30 & echo $!; wait"}, options);
  REQUIRE(started.ok());
  return std::move(*started);
}

// The background child's pid, once it runs `sleep`: while it is still
// between fork and exec, its /proc entries are in flux.
pid_t ReadPid(const Subprocess& p) {
  std::string line;
  for (char c; ::read(p.stdout_fd(), &c, 1) == 1 && c != '\n';) line += c;
  const auto pid = static_cast<pid_t>(std::stol(line));
  for (int i = 0; i < 200; ++i) {
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "sleep") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pid;
}

}  // namespace

TEST_CASE("A recorded group's members are its leader and the processes carrying its marker") {
  const std::string marker = NewGroupMarker();
  Subprocess unit = StartGroup(marker);
  const pid_t child = ReadPid(unit);
  const RecordedGroup group = RecordGroup(unit.pid(), marker);
  CHECK(group.pgid == unit.pid());
  CHECK(group.leader_start > 0);
  CHECK_FALSE(group.boot_id.empty());
  std::vector<pid_t> members = MembersOf(group);
  std::sort(members.begin(), members.end());
  CHECK(members == std::vector<pid_t>{std::min(unit.pid(), child), std::max(unit.pid(), child)});

  CHECK(SignalRecordedGroup(group, SIGKILL) == 2);
  CHECK(unit.Wait() == 128 + SIGKILL);
}

TEST_CASE("A group id that now belongs to another program is never signalled") {
  // What units.json held for a unit whose processes are gone, when the
  // kernel has handed its pid to an unrelated program that leads a group of
  // its own: same id, another start time, no marker.
  Subprocess other = StartGroup("");
  (void)ReadPid(other);
  RecordedGroup stale{other.pid(), ProcessStartTicks(other.pid()).value() + 1, BootId(), NewGroupMarker()};
  CHECK(MembersOf(stale).empty());
  CHECK(SignalRecordedGroup(stale, SIGKILL) == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(other.WaitFor(0));  // still running

  // Recorded in another boot, or by an agent that recorded no proof: left alone.
  RecordedGroup other_boot = RecordGroup(other.pid(), "m");
  other_boot.boot_id = "00000000-0000-0000-0000-000000000000";
  CHECK(MembersOf(other_boot).empty());
  CHECK(MembersOf(RecordedGroup{other.pid(), 0, BootId(), ""}).empty());
  other.Kill(SIGKILL);
  other.Wait();
}
