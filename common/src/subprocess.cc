#include "common/subprocess.h"

#include <algorithm>
#include <chrono>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace cluster {

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
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
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
  if (pid_ <= 0) return;
  ::kill(group_ ? -pid_ : pid_, signal);
}

StatusOr<Subprocess> Subprocess::Start(const std::vector<std::string>& argv, const Options& options) {
  if (argv.empty()) return InvalidArgumentError("no program to run");
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, exec_err[2] = {-1, -1};
  auto make = [](int fds[2]) { return ::pipe2(fds, O_CLOEXEC) == 0; };
  if ((options.pipe_stdin && !make(in)) || (options.pipe_stdout && !make(out)) ||
      (options.pipe_stderr && !make(err)) || !make(exec_err)) {
    return ResourceExhaustedError(fmt::format("cannot create pipes: {}", std::strerror(errno)));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return ResourceExhaustedError(fmt::format("cannot fork: {}", std::strerror(errno)));
  if (pid == 0) {
    if (options.new_process_group) ::setpgid(0, 0);
    if (in[0] >= 0) ::dup2(in[0], 0);
    if (out[1] >= 0) ::dup2(out[1], 1);
    if (err[1] >= 0) ::dup2(err[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    ::execvp(args[0], args.data());
    int e = errno;
    (void)!::write(exec_err[1], &e, sizeof e);
    ::_exit(127);
  }
  for (int fd : {in[0], out[1], err[1], exec_err[1]}) {
    if (fd >= 0) ::close(fd);
  }
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_err[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(exec_err[0]);
  Subprocess p;
  p.pid_ = pid;
  p.group_ = options.new_process_group;
  p.in_ = in[1];
  p.out_ = out[0];
  p.err_ = err[0];
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    p.Wait();
    return NotFoundError(fmt::format("cannot run {}: {}", argv[0], std::strerror(child_errno)));
  }
  return p;
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
StatusOr<ProcessResult> Run(const std::vector<std::string>& argv, const std::string& input, int timeout_ms) {
  Subprocess::Options options;
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
                                         const std::string& input) {
  return Run(argv, input, std::max(0, timeout_ms));
}

}  // namespace cluster
