#include "agent/stop_command.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/subprocess.h"

namespace cluster::agent {
namespace {

using Clock = std::chrono::steady_clock;

// Splits one stream's bytes into lines for the log.
struct LineSplitter {
  std::string partial;
  void Add(std::string_view bytes, UnitLogWriter& log) {
    partial.append(bytes);
    size_t pos = 0;
    for (size_t nl; (nl = partial.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      log.AppendLine(std::string_view(partial).substr(pos, nl - pos));
    }
    partial.erase(0, pos);
  }
  void Finish(UnitLogWriter& log) {
    if (!partial.empty()) log.AppendLine(partial);
    partial.clear();
  }
};

}  // namespace

void RunStopCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout, UnitLogWriter& log) {
  const std::string command = fmt::format("{}", fmt::join(argv, " "));
  log.AppendLine(fmt::format("clusterd: running stop command: {}", command));
  Subprocess::Options options;
  options.new_process_group = true;  // so a timeout reaches what it started
  StatusOr<Subprocess> started = Subprocess::Start(argv, options);
  if (!started.ok()) {
    log.AppendLine(fmt::format("clusterd: stop command failed: {}", started.status().message()));
    return;
  }
  Subprocess& process = *started;
  process.CloseStdin();
  const auto deadline = Clock::now() + timeout;
  LineSplitter out, err;
  int fds[2] = {process.stdout_fd(), process.stderr_fd()};
  LineSplitter* splitters[2] = {&out, &err};
  bool open[2] = {true, true};
  char buf[16384];
  bool timed_out = false;
  while (open[0] || open[1]) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfds[2];
    int count = 0, which[2];
    for (int i = 0; i < 2; ++i) {
      if (open[i]) {
        which[count] = i;
        pfds[count++] = {fds[i], POLLIN, 0};
      }
    }
    int r = ::poll(pfds, static_cast<nfds_t>(count), static_cast<int>(std::min<long long>(left, 100)));
    if (r < 0 && errno != EINTR) break;
    for (int k = 0; r > 0 && k < count; ++k) {
      if (pfds[k].revents == 0) continue;
      int i = which[k];
      ssize_t n = ::read(fds[i], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        open[i] = false;
        continue;
      }
      splitters[i]->Add(std::string_view(buf, static_cast<size_t>(n)), log);
    }
  }
  out.Finish(log);
  err.Finish(log);
  if (!timed_out) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    timed_out = !WaitEnded(process.pid(), std::chrono::milliseconds(std::max<long long>(left, 0)));
  }
  if (timed_out) {
    process.Kill(SIGKILL);
    process.Wait();
    log.AppendLine(fmt::format("clusterd: stop command did not finish within {} ms: killed", timeout.count()));
    return;
  }
  log.AppendLine(fmt::format("clusterd: stop command exited with code {}", process.Wait()));
}

}  // namespace cluster::agent
