#include "agent/unit_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/format.h>

namespace cluster::agent {
namespace {

// Makes `fd` the descriptor `target` of the child, kept across exec. Only
// async-signal-safe calls: it runs between fork and exec.
void MoveTo(int fd, int target) {
  if (fd == target) {
    ::fcntl(fd, F_SETFD, 0);
  } else {
    ::dup2(fd, target);
  }
}

void CloseBoth(int fds[2]) {
  for (int i = 0; i < 2; ++i) {
    if (fds[i] >= 0) ::close(fds[i]);
    fds[i] = -1;
  }
}

// A bare program name ("docker") found in the PATH the child will get, like
// execvp would; a name with a '/' or one not found stays as it is (execve
// then reports ENOENT). Runs before fork: execvp is not async-signal-safe.
std::string ResolveProgram(const std::string& program, const std::map<std::string, std::string>& env) {
  if (program.empty() || program.find('/') != std::string::npos) return program;
  auto given = env.find("PATH");
  const char* inherited = ::getenv("PATH");
  const std::string path = given != env.end() ? given->second : inherited != nullptr ? inherited : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    const std::string dir = end > start ? path.substr(start, end - start) : ".";
    const std::string candidate = dir + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    start = end + 1;
  }
  return program;
}

}  // namespace

StatusOr<SpawnedProcess> SpawnProcess(const std::vector<std::string>& argv,
                                      const std::map<std::string, std::string>& env) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  // Everything the child needs is built before fork: after it, the child
  // may only make async-signal-safe calls (other threads may hold locks).
  const std::string program = ResolveProgram(argv[0], env);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string key(entry.substr(0, entry.find('=')));
    if (env.count(key) == 0) env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out[2] = {-1, -1}, exec_err[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(exec_err, O_CLOEXEC) != 0) {
    int e = errno;
    CloseBoth(out);
    return UnavailableError(fmt::format("cannot create a pipe for {}: {}", argv[0], std::strerror(e)));
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0) {
    int e = errno;
    CloseBoth(out);
    CloseBoth(exec_err);
    return UnavailableError(fmt::format("cannot open /dev/null for {}: {}", argv[0], std::strerror(e)));
  }

  // Signals stay blocked across fork so that no handler of the agent (the
  // SIGCHLD handler of Boost.Asio) runs in the child before it resets them.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t agent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setsid();
    // A unit does not outlive its agent: a killed agent cannot supervise it,
    // and the agent that `up` starts next must find the ports free. (The
    // agent forks from its one io thread, which lives as long as it does.)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != agent) ::_exit(127);  // the agent died before prctl
    MoveTo(devnull, 0);
    MoveTo(out[1], 1);
    MoveTo(out[1], 2);
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa {};
      sa.sa_handler = SIG_DFL;
      ::sigaction(sig, &sa, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and libc's own
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Descriptors the agent opened without O_CLOEXEC (sockets, TLS) must not
    // leak into the unit; older kernels without this flag keep them.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(program.c_str(), args.data(), envp.data());
    int e = errno;
    (void)!::write(exec_err[1], &e, sizeof e);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(devnull);
  ::close(out[1]);
  ::close(exec_err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(exec_err[0]);
    return UnavailableError(fmt::format("cannot start {}: fork: {}", argv[0], std::strerror(fork_errno)));
  }
  // The exec-error pipe closes on a successful exec, or brings errno.
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_err[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_err[0]);
  SpawnedProcess spawned;
  spawned.pid = pid;
  spawned.output_fd = out[0];
  spawned.exec_errno = n == static_cast<ssize_t>(sizeof child_errno) ? child_errno : 0;
  return spawned;
}

bool HasEnded(pid_t pid) {
  siginfo_t info{};
  for (;;) {
    int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r < 0 && errno == EINTR) continue;
    // ECHILD: not (or no longer) our child; treat as ended so nobody waits forever.
    if (r < 0) return true;
    return info.si_pid == pid;
  }
}

std::optional<int> ReapProcess(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    if (r == pid) return status;
    if (r < 0) return 255 << 8;  // ECHILD: reaped elsewhere; its status is lost, reported as code 255
    return std::nullopt;
  }
}

bool WaitEnded(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (HasEnded(pid)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

std::string DescribeWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* abbrev = ::sigabbrev_np(sig);
    return fmt::format("killed by signal {} (SIG{})", sig, abbrev != nullptr ? abbrev : "?");
  }
  return fmt::format("exited with code {}", ExitCodeOf(wait_status));
}

}  // namespace cluster::agent
