#include "cli/transfer/local_transport.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/subprocess.h"

namespace cluster::cli {
namespace {

class LocalProcess : public RemoteProcess {
 public:
  explicit LocalProcess(Subprocess p) : p_(std::move(p)) {}

  Status Write(const void* data, std::size_t size) override {
    if (!WriteAll(p_.stdin_fd(), data, size)) {
      return UnavailableError(fmt::format("the local command went away: {}", std::strerror(errno)));
    }
    return Status::Ok();
  }
  StatusOr<std::size_t> Read(char* out, std::size_t max) override {
    for (;;) {
      ssize_t n = ::read(p_.stdout_fd(), out, max);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return UnavailableError(fmt::format("cannot read the local command: {}", std::strerror(errno)));
      return static_cast<std::size_t>(n);
    }
  }
  void CloseInput() override { p_.CloseStdin(); }
  StatusOr<int> Wait() override {
    p_.CloseStdin();
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p_.stderr_fd(), buf, sizeof buf)) > 0) err_.append(buf, static_cast<size_t>(n));
    return p_.Wait();
  }
  std::string ErrorText() override {
    while (!err_.empty() && (err_.back() == '\n' || err_.back() == ' ')) err_.pop_back();
    return err_;
  }

 private:
  Subprocess p_;
  std::string err_;
};

}  // namespace

StatusOr<std::unique_ptr<RemoteProcess>> LocalTransport::Start(const std::string& command) {
  CLUSTER_ASSIGN_OR_RETURN(Subprocess p, Subprocess::Start({"/bin/sh", "-c", command}));
  return std::unique_ptr<RemoteProcess>(std::make_unique<LocalProcess>(std::move(p)));
}

}  // namespace cluster::cli
