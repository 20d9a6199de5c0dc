#include "common/subprocess.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace cluster {
namespace {

// Variables of the dynamic loader: a child never inherits them (it gets
// them only when the caller sets them itself, in SpawnOptions::env).
bool IsLoaderVariable(std::string_view entry) { return entry.starts_with("LD_"); }

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

void CloseBoth(int fds[2]) {
  for (int i = 0; i < 2; ++i) {
    if (fds[i] >= 0) ::close(fds[i]);
    fds[i] = -1;
  }
}

// Makes `fd` the descriptor `target` of the child, kept across exec. Only
// async-signal-safe calls: it runs between fork and exec.
void MoveTo(int fd, int target) {
  if (fd == target) {
    ::fcntl(fd, F_SETFD, 0);
  } else {
    ::dup2(fd, target);
  }
}

}  // namespace

StatusOr<SpawnedProcess> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  // Everything the child needs is built before fork: after it, the child
  // may only make async-signal-safe calls (other threads may hold locks).
  const std::string program = ResolveProgram(argv[0], options.env);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (IsLoaderVariable(entry) || options.env.count(std::string(entry.substr(0, entry.find('=')))) != 0) continue;
    env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : options.env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, exec_err[2] = {-1, -1};
  auto close_all = [&] {
    for (int* fds : {in, out, err, exec_err}) CloseBoth(fds);
  };
  auto make = [](int fds[2]) { return ::pipe2(fds, O_CLOEXEC) == 0; };
  if ((options.pipe_stdin && !make(in)) || (options.pipe_stdout && !make(out)) ||
      (options.pipe_stderr && !options.stderr_to_stdout && !make(err)) || !make(exec_err)) {
    const int e = errno;
    close_all();
    return UnavailableError(fmt::format("cannot create pipes for {}: {}", argv[0], std::strerror(e)));
  }
  const int devnull = options.pipe_stdin ? -1 : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (!options.pipe_stdin && devnull < 0) {
    const int e = errno;
    close_all();
    return UnavailableError(fmt::format("cannot open /dev/null for {}: {}", argv[0], std::strerror(e)));
  }

  // Signals stay blocked across fork so that no handler of ours (Asio's
  // SIGCHLD handler) runs in the child before it resets them.
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (options.new_session) {
      ::setsid();
    } else if (options.new_process_group) {
      ::setpgid(0, 0);
    }
    if (options.die_with_parent) {
      // (PR_SET_PDEATHSIG follows the thread that forked: callers fork from
      // a thread that lives as long as the process.)
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    MoveTo(options.pipe_stdin ? in[0] : devnull, 0);
    if (out[1] >= 0) MoveTo(out[1], 1);
    if (options.stderr_to_stdout && out[1] >= 0) {
      ::dup2(out[1], 2);
    } else if (err[1] >= 0) {
      MoveTo(err[1], 2);
    }
    for (int sig = 1; sig < NSIG; ++sig) {
      struct sigaction sa {};
      sa.sa_handler = SIG_DFL;
      ::sigaction(sig, &sa, nullptr);  // fails harmlessly for SIGKILL, SIGSTOP and libc's own
    }
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Descriptors opened without O_CLOEXEC (sockets, TLS, a library's) must
    // not leak into the child.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(program.c_str(), args.data(), envp.data());
    const int e = errno;
    (void)!::write(exec_err[1], &e, sizeof e);
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (devnull >= 0) ::close(devnull);
  for (int fd : {in[0], out[1], err[1], exec_err[1]}) {
    if (fd >= 0) ::close(fd);
  }
  if (pid < 0) {
    for (int fd : {in[1], out[0], err[0], exec_err[0]}) {
      if (fd >= 0) ::close(fd);
    }
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
  spawned.stdin_fd = in[1];
  spawned.stdout_fd = out[0];
  spawned.stderr_fd = err[0];
  spawned.exec_errno = n == static_cast<ssize_t>(sizeof child_errno) ? child_errno : 0;
  return spawned;
}

Subprocess::Subprocess(Subprocess&& o) noexcept { *this = std::move(o); }

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this != &o) {
    CloseAll();
    pid_ = o.pid_;
    group_ = o.group_;
    in_ = o.in_;
    out_ = o.out_;
    err_ = o.err_;
    o.pid_ = -1;
    o.in_ = o.out_ = o.err_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() { CloseAll(); }

void Subprocess::CloseAll() {
  for (int* fd : {&in_, &out_, &err_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (pid_ > 0) {
    Kill(SIGKILL);
    Wait();
  }
}

void Subprocess::CloseStdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

int Subprocess::Wait() {
  if (pid_ <= 0) return -1;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  pid_ = -1;
  return ExitCodeOf(status);
}

bool Subprocess::WaitFor(int timeout_ms) {
  if (pid_ <= 0) return true;
  for (int waited = 0;; waited += 20) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) {
      pid_ = -1;
      return true;
    }
    if (waited >= timeout_ms) return false;
    ::usleep(20000);
  }
}

void Subprocess::Kill(int signal) {
  // pid_ > 0: not reaped, so the pid (and the group id) is still this child's.
  if (pid_ <= 0) return;
  ::kill(group_ ? -pid_ : pid_, signal);
}

StatusOr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv, const Options& options) {
  CLUSTER_ASSIGN_OR_RETURN(SpawnedProcess spawned, Spawn(argv, options));
  Subprocess p;
  p.pid_ = spawned.pid;
  p.group_ = options.new_process_group || options.new_session;
  p.in_ = spawned.stdin_fd;
  p.out_ = spawned.stdout_fd;
  p.err_ = spawned.stderr_fd;
  if (spawned.exec_errno != 0) {
    p.Wait();
    return NotFoundError(fmt::format("cannot run {}: {}", argv[0], std::strerror(spawned.exec_errno)));
  }
  return p;
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

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

namespace {

// RunProcess and RunProcessWithin: `timeout_ms` < 0 waits for ever.
StatusOr<ProcessResult> Run(const std::vector<std::string>& argv, const std::string& input, int timeout_ms,
                            const std::map<std::string, std::string>& env = {}) {
  Subprocess::Options options;
  options.env = env;
  options.new_process_group = timeout_ms >= 0;  // so that a kill reaches what it started
  CLUSTER_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Start(argv, options));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  // Feed stdin and drain both outputs together so no pipe fills up and stalls.
  size_t fed = 0;
  if (input.empty()) p.CloseStdin();
  ProcessResult result;
  int out_fd = p.stdout_fd(), err_fd = p.stderr_fd();
  bool out_open = true, err_open = true;
  char buf[65536];
  while (out_open || err_open) {
    pollfd fds[3];
    int count = 0;
    if (out_open) fds[count++] = {out_fd, POLLIN, 0};
    if (err_open) fds[count++] = {err_fd, POLLIN, 0};
    if (p.stdin_fd() >= 0) fds[count++] = {p.stdin_fd(), POLLOUT, 0};
    int wait_ms = -1;
    if (timeout_ms >= 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        p.Kill(SIGKILL);
        p.Wait();
        return DeadlineExceededError(fmt::format("{} did not finish within {:.1f} s", argv[0], timeout_ms / 1000.0));
      }
      wait_ms = static_cast<int>(left.count());
    }
    if (::poll(fds, count, wait_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == p.stdin_fd()) {
        ssize_t n = ::write(fds[i].fd, input.data() + fed, input.size() - fed);
        if (n > 0) fed += static_cast<size_t>(n);
        if (n < 0 || fed == input.size()) p.CloseStdin();
        continue;
      }
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        (fds[i].fd == out_fd ? out_open : err_open) = false;
        continue;
      }
      (fds[i].fd == out_fd ? result.out : result.err).append(buf, static_cast<size_t>(n));
    }
  }
  p.CloseStdin();
  result.exit_code = p.Wait();
  return result;
}

}  // namespace

StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv, const std::string& input) {
  return Run(argv, input, -1);
}

StatusOr<ProcessResult> RunProcessWithin(const std::vector<std::string>& argv, int timeout_ms,
                                         const std::string& input, const std::map<std::string, std::string>& env) {
  return Run(argv, input, std::max(0, timeout_ms), env);
}

}  // namespace cluster
