#include "common/recorded_group.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string_view>

#include <fmt/format.h>

#include "common/files.h"

namespace cluster {
namespace {

struct ProcStat {
  char state = '?';  // 'Z': a zombie, which no signal reaches
  long pgrp = 0;
  std::uint64_t start = 0;
};

// Fields of /proc/PID/stat after the command name (which may hold spaces
// and parentheses: the last ')' ends it).
std::optional<ProcStat> ReadStat(long pid) {
  auto text = ReadFile(fmt::format("/proc/{}/stat", pid), 4096);
  if (!text.ok()) return std::nullopt;
  const auto close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  // After ") ": state(3) ppid(4) pgrp(5) ... starttime(22).
  std::vector<std::string_view> fields;
  std::string_view rest(*text);
  rest.remove_prefix(close + 1);
  while (!rest.empty()) {
    const auto begin = rest.find_first_not_of(' ');
    if (begin == std::string_view::npos) break;
    rest.remove_prefix(begin);
    const auto end = rest.find(' ');
    fields.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end);
  }
  if (fields.size() < 20) return std::nullopt;
  ProcStat stat;
  stat.state = fields[0].empty() ? '?' : fields[0].front();
  stat.pgrp = std::strtol(std::string(fields[2]).c_str(), nullptr, 10);
  stat.start = std::strtoull(std::string(fields[19]).c_str(), nullptr, 10);
  return stat;
}

bool CarriesMarker(pid_t pid, const std::string& marker) {
  auto environ_text = ReadFile(fmt::format("/proc/{}/environ", pid), 1 << 20);
  if (!environ_text.ok()) return false;
  const std::string entry = std::string(kGroupMarkerVariable) + "=" + marker;
  std::string_view rest(*environ_text);
  while (!rest.empty()) {
    const auto end = rest.find('\0');
    if (rest.substr(0, end) == entry) return true;
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return false;
}

bool IsMember(pid_t pid, const RecordedGroup& group) {
  auto stat = ReadStat(pid);
  if (!stat || stat->state == 'Z' || stat->pgrp != group.pgid) return false;
  if (pid == group.pgid && stat->start == group.leader_start) return true;
  return CarriesMarker(pid, group.marker);
}

}  // namespace

std::string NewGroupMarker() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
}

std::string BootId() {
  auto text = ReadFile("/proc/sys/kernel/random/boot_id", 256);
  if (!text.ok()) return "";
  std::string id = *text;
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

std::optional<std::uint64_t> ProcessStartTicks(long pid) {
  auto stat = ReadStat(pid);
  if (!stat) return std::nullopt;
  return stat->start;
}

RecordedGroup RecordGroup(pid_t leader, const std::string& marker) {
  return RecordedGroup{leader, ProcessStartTicks(leader).value_or(0), BootId(), marker};
}

std::vector<pid_t> MembersOf(const RecordedGroup& group) {
  std::vector<pid_t> members;
  if (group.pgid <= 1 || group.leader_start == 0 || group.marker.empty()) return members;
  if (group.boot_id.empty() || group.boot_id != BootId()) return members;  // recorded before a reboot
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return members;
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (IsMember(static_cast<pid_t>(pid), group)) members.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return members;
}

int SignalRecordedGroup(const RecordedGroup& group, int signal) {
  int signalled = 0;
  for (pid_t pid : MembersOf(group)) {
    // Hold the process by a pidfd, check it again, then signal through the
    // pidfd: if it ended in between, the signal fails instead of reaching
    // whatever took its pid.
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) continue;
    if (IsMember(pid, group) && ::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) == 0) ++signalled;
    ::close(pidfd);
  }
  return signalled;
}

}  // namespace cluster
