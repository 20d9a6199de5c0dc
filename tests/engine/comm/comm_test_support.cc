#include "comm_test_support.h"

#include <future>

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace engine::testing {

RankProcesses::RankProcesses(int count, const std::function<int(int rank)>& body)
    : start_(std::chrono::steady_clock::now()) {
  std::fflush(stdout);
  std::fflush(stderr);
  for (int rank = 0; rank < count; ++rank) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      ::dup2(fds[1], STDOUT_FILENO);
      ::dup2(fds[1], STDERR_FILENO);
      ::close(fds[0]);
      ::signal(SIGPIPE, SIG_IGN);
      int code = 99;
      try {
        code = body(rank);
      } catch (const std::exception& e) {
        std::printf("rank %d: exception: %s\n", rank, e.what());
      }
      std::fflush(stdout);
      std::fflush(stderr);
      std::_Exit(code);
    }
    ::close(fds[1]);
    ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
    Child child;
    child.pid = pid;
    child.out = fds[0];
    children_.push_back(child);
  }
}

RankProcesses::~RankProcesses() {
  for (Child& c : children_) {
    if (!c.exited) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
    }
    if (c.out >= 0) ::close(c.out);
  }
}

double RankProcesses::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void RankProcesses::Pump(int timeout_ms) {
  std::vector<pollfd> fds;
  for (const Child& c : children_)
    if (c.out >= 0) fds.push_back({c.out, POLLIN, 0});
  if (!fds.empty()) ::poll(fds.data(), fds.size(), timeout_ms);
  char buffer[4096];
  for (Child& c : children_) {
    while (c.out >= 0) {
      const ssize_t n = ::read(c.out, buffer, sizeof(buffer));
      if (n > 0) {
        c.outcome.output.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) {
        ::close(c.out);
        c.out = -1;
      }
      break;
    }
    if (!c.exited) {
      int status = 0;
      if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
        c.exited = true;
        c.outcome.seconds = Elapsed();
        c.outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
  }
  if (fds.empty()) ::usleep(static_cast<useconds_t>(timeout_ms) * 1000);
}

bool RankProcesses::WaitForOutput(int rank, std::string_view text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const Child& c = children_[static_cast<std::size_t>(rank)];
  while (c.outcome.output.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    Pump(20);
  }
  return true;
}

void RankProcesses::Signal(int rank, int signal) {
  const Child& c = children_[static_cast<std::size_t>(rank)];
  if (!c.exited) ::kill(c.pid, signal);
}

std::vector<RankOutcome> RankProcesses::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const auto running = [&] {
    for (const Child& c : children_)
      if (!c.exited || c.out >= 0) return true;
    return false;
  };
  while (running() && std::chrono::steady_clock::now() < deadline) Pump(20);
  std::vector<RankOutcome> outcomes;
  for (Child& c : children_) {
    if (!c.exited) {
      ::kill(c.pid, SIGKILL);
      ::waitpid(c.pid, nullptr, 0);
      c.exited = true;
      c.outcome.exit_code = -1;
    }
    outcomes.push_back(c.outcome);
  }
  return outcomes;
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t length = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string FreeAddress() { return "127.0.0.1:" + std::to_string(FreePort()); }

cluster::StatusOr<std::vector<cluster::ProcessResult>> RunRanksWithin(
    int ranks, const std::function<std::vector<std::string>(int rank)>& argv, int timeout_ms) {
  std::vector<std::future<cluster::StatusOr<cluster::ProcessResult>>> running;
  for (int rank = 0; rank < ranks; ++rank) {
    running.push_back(std::async(std::launch::async, [command = argv(rank), timeout_ms] {
      return cluster::RunProcessWithin(command, timeout_ms);
    }));
  }
  std::vector<cluster::ProcessResult> results;
  cluster::Status first_error;
  for (auto& r : running) {
    auto result = r.get();  // every rank is waited for, also after an error
    if (result.ok()) {
      results.push_back(*std::move(result));
    } else if (first_error.ok()) {
      first_error = result.status();
    }
  }
  if (!first_error.ok()) return first_error;
  return results;
}

namespace {

class HostStorage final : public TensorStorage {
 public:
  explicit HostStorage(std::size_t bytes) : bytes_(bytes) {}
  void* data() override { return bytes_.data(); }
  std::size_t num_bytes() const override { return bytes_.size(); }

 private:
  std::vector<unsigned char> bytes_;
};

}  // namespace

Tensor HostTensor(const Shape& shape, DType dtype) {
  const std::size_t bytes = static_cast<std::size_t>(NumElements(shape)) * DTypeSize(dtype);
  return Tensor(std::make_shared<HostStorage>(bytes), shape, dtype);
}

Tensor HostF32(const std::vector<float>& values, const Shape& shape) {
  Tensor t = HostTensor(shape, DType::kF32);
  std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

std::vector<float> F32Values(const Tensor& tensor) {
  std::vector<float> values(static_cast<std::size_t>(tensor.num_elements()));
  std::memcpy(values.data(), tensor.data(), values.size() * sizeof(float));
  return values;
}

}  // namespace engine::testing
