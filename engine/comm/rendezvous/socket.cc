#include "engine/comm/rendezvous/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>

namespace engine::net {
namespace {

std::string ErrnoText(int error) { return std::strerror(error); }

struct AddrInfoDeleter {
  void operator()(addrinfo* info) const { freeaddrinfo(info); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

StatusOr<AddrInfoList> Resolve(const HostPort& at, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  const std::string port = std::to_string(at.port);
  const int rc = getaddrinfo(at.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return cluster::InvalidArgumentError("cannot resolve '" + at.host + "': " + gai_strerror(rc));
  }
  return AddrInfoList(found);
}

int NewSocket(int family) { return ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

}  // namespace

std::string HostPort::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

StatusOr<HostPort> ParseHostPort(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return cluster::InvalidArgumentError("'" + std::string(text) + "' is not ADDRESS:PORT: " + std::string(why));
  };
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return bad("an IPv6 address is written [ADDRESS]:PORT");
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no ':PORT'");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("an IPv6 address is written [ADDRESS]:PORT");
    port_text = text.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no address before the port");
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port_text.empty() || out.port < 0 ||
      out.port > 65535)
    return bad("the port must be a number in [0, 65535]");
  return out;
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void Socket::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

StatusOr<Socket> Listen(const HostPort& at, int backlog) {
  CLUSTER_ASSIGN_OR_RETURN(AddrInfoList list, Resolve(at, /*passive=*/true));
  const addrinfo* a = list.get();
  Socket s(NewSocket(a->ai_family));
  if (!s.valid()) return cluster::UnavailableError("socket: " + ErrnoText(errno));
  const int on = 1;
  ::setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (::bind(s.fd(), a->ai_addr, a->ai_addrlen) != 0) {
    const int error = errno;
    std::string hint;
    if (error == EADDRNOTAVAIL) hint = " (the address is not one of this host's)";
    if (error == EADDRINUSE) hint = " (another process listens there)";
    return cluster::UnavailableError("cannot listen on " + at.ToString() + ": " + ErrnoText(error) + hint);
  }
  if (::listen(s.fd(), backlog) != 0) {
    return cluster::UnavailableError("cannot listen on " + at.ToString() + ": " + ErrnoText(errno));
  }
  return s;
}

StatusOr<Socket> ConnectTo(const HostPort& to, const std::string& local_address, Deadline deadline) {
  CLUSTER_ASSIGN_OR_RETURN(AddrInfoList list, Resolve(to, /*passive=*/false));
  const addrinfo* a = list.get();
  Socket s(NewSocket(a->ai_family));
  if (!s.valid()) return cluster::UnavailableError("socket: " + ErrnoText(errno));
  if (!local_address.empty()) {
    CLUSTER_ASSIGN_OR_RETURN(AddrInfoList local, Resolve(HostPort{local_address, 0}, /*passive=*/true));
    if (::bind(s.fd(), local->ai_addr, local->ai_addrlen) != 0) {
      return cluster::UnavailableError("cannot use " + local_address + " as the source address: " +
                                       ErrnoText(errno));
    }
  }
  if (::connect(s.fd(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
    return cluster::UnavailableError(ErrnoText(errno));
  }
  pollfd p{s.fd(), POLLOUT, 0};
  for (;;) {
    const int n = ::poll(&p, 1, PollTimeoutMs(deadline, 1000));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) break;
    if (Clock::now() >= deadline) return cluster::DeadlineExceededError("no answer");
  }
  int error = 0;
  socklen_t length = sizeof(error);
  ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) return cluster::UnavailableError(ErrnoText(error));
  const int on = 1;
  ::setsockopt(s.fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  return s;
}

Status SendAll(int fd, std::string_view bytes, Deadline deadline) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return cluster::UnavailableError(ErrnoText(errno));
    if (Clock::now() >= deadline) return cluster::DeadlineExceededError("the peer took no bytes in time");
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, PollTimeoutMs(deadline, 1000));
  }
  return Status::Ok();
}

std::string AddressText(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  } else if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      ::inet_ntop(AF_INET, &v6->sin6_addr.s6_addr[12], text, sizeof(text));
    } else {
      ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    }
  }
  return text;
}

std::string LocalAddress(int fd) {
  sockaddr_storage a{};
  socklen_t length = sizeof(a);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0) return "";
  return AddressText(reinterpret_cast<sockaddr*>(&a));
}

std::string PeerAddress(int fd) {
  sockaddr_storage a{};
  socklen_t length = sizeof(a);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0) return "";
  return AddressText(reinterpret_cast<sockaddr*>(&a));
}

int LocalPort(int fd) {
  sockaddr_storage a{};
  socklen_t length = sizeof(a);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) != 0) return -1;
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&a)->sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&a)->sin6_port);
  return -1;
}

StatusOr<std::string> InterfaceAddress(std::string_view name) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return cluster::UnavailableError("getifaddrs: " + ErrnoText(errno));
  std::string v4, v6;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || name != i->ifa_name) continue;
    if (i->ifa_addr->sa_family == AF_INET && v4.empty()) v4 = AddressText(i->ifa_addr);
    if (i->ifa_addr->sa_family == AF_INET6 && v6.empty()) v6 = AddressText(i->ifa_addr);
  }
  ::freeifaddrs(list);
  if (!v4.empty()) return v4;
  if (!v6.empty()) return v6;
  return cluster::NotFoundError("network interface '" + std::string(name) +
                                "' does not exist or has no address (see `ip -brief address`)");
}

int PollTimeoutMs(Deadline deadline, int cap_ms) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, cap_ms));
}

}  // namespace engine::net
