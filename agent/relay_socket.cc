#include "agent/relay_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "common/subprocess.h"

namespace cluster::agent {
namespace {

using Clock = std::chrono::steady_clock;

// Parses a numeric address (no DNS: the inventory's addresses of the cluster).
bool ToSockaddr(const std::string& address, int port, sockaddr_storage* out, socklen_t* len) {
  std::memset(out, 0, sizeof *out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v4;
    return true;
  }
  if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v6;
    return true;
  }
  return false;
}

std::string PeerAddress(const sockaddr_storage& peer) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (peer.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&peer)->sin_addr, text, sizeof text);
  } else if (peer.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&peer)->sin6_addr, text, sizeof text);
  }
  return text;
}

bool ConstantTimeEqual(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// Reads and writes that make no progress for `seconds` fail (EAGAIN), and
// keepalive probes a silent peer (after 15 s idle, every 5 s, 4 probes).
void BoundInTime(int fd, int seconds) {
  const timeval limit{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  const int on = 1, idle = 15, interval = 5, probes = 4;
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
}

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Reads one line of at most 128 bytes before `deadline`.
bool ReadTokenLine(int fd, Clock::time_point deadline, std::string* line) {
  line->clear();
  while (line->size() < 128) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, MillisLeft(deadline)) <= 0) return false;
    char c;
    if (::read(fd, &c, 1) != 1) return false;
    if (c == '\n') return true;
    line->push_back(c);
  }
  return false;
}

}  // namespace

StatusOr<RelayListener> ListenForRelay(const std::string& address) {
  sockaddr_storage sa;
  socklen_t len;
  if (!ToSockaddr(address, 0, &sa, &len)) {
    return InvalidArgumentError(fmt::format("{}: chain relay needs a numeric host address", address));
  }
  int fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError(fmt::format("cannot create a socket: {}", std::strerror(errno)));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(fd, 4) != 0) {
    int err = errno;
    ::close(fd);
    return UnavailableError(fmt::format("cannot listen on {}: {}", address, std::strerror(err)));
  }
  sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  const int port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                     : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return RelayListener{fd, port};
}

StatusOr<int> AcceptRelay(RelayListener& listener, const std::string& upstream, const std::string& token,
                          int timeout_s, int idle_timeout_s) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  int accepted = -1;
  std::string refused;
  for (int attempts = 0; attempts < 16 && accepted < 0; ++attempts) {
    pollfd p{listener.fd, POLLIN, 0};
    if (::poll(&p, 1, MillisLeft(deadline)) <= 0) break;
    sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    int fd = ::accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const std::string from = PeerAddress(peer);
    std::string line;
    if (("," + upstream + ",").find("," + from + ",") == std::string::npos) {
      refused = fmt::format("refused a connection from {} (expected {})", from, upstream);
      ::close(fd);
    } else if (!ReadTokenLine(fd, std::min(deadline, Clock::now() + std::chrono::seconds(5)), &line) ||
               !ConstantTimeEqual(line, token)) {
      refused = fmt::format("refused a connection from {}: wrong token", from);
      ::close(fd);
    } else {
      BoundInTime(fd, idle_timeout_s);
      accepted = fd;
    }
  }
  ::close(listener.fd);  // one connection per file: nothing stays listening
  listener.fd = -1;
  if (accepted < 0) {
    return UnavailableError(fmt::format("the upstream host {} did not connect within {} s{}", upstream, timeout_s,
                                        refused.empty() ? "" : " (" + refused + ")"));
  }
  return accepted;
}

StatusOr<int> ConnectRelay(const std::string& address, int port, const std::string& token, int timeout_s,
                           int idle_timeout_s) {
  sockaddr_storage sa;
  socklen_t len;
  if (!ToSockaddr(address, port, &sa, &len)) {
    return InvalidArgumentError(fmt::format("{}: chain relay needs a numeric host address", address));
  }
  int fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return UnavailableError(fmt::format("cannot create a socket: {}", std::strerror(errno)));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), len);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t err_len = sizeof err;
    if (::poll(&p, 1, timeout_s * 1000) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) == 0 &&
        err == 0) {
      rc = 0;
    } else {
      errno = err ? err : ETIMEDOUT;
    }
  }
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    return UnavailableError(fmt::format("cannot connect to the next host {}:{}: {}", address, port, std::strerror(err)));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  BoundInTime(fd, idle_timeout_s);
  const std::string line = token + "\n";
  if (!WriteAll(fd, line.data(), line.size())) {
    int err = errno;
    ::close(fd);
    return UnavailableError(fmt::format("cannot send to the next host {}:{}: {}", address, port, std::strerror(err)));
  }
  return fd;
}

}  // namespace cluster::agent
