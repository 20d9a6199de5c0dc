// TCP plumbing for the rendezvous: "HOST:PORT" parsing, listening on one
// address, connecting from a chosen source address, and sending with a
// deadline. Every socket made here is non-blocking and close-on-exec; waits
// are poll(2) bounded by the caller's deadline, so nothing here blocks
// longer than its caller allows. Sends use MSG_NOSIGNAL: a peer that went
// away is an error return, never SIGPIPE.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine::net {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// "10.0.0.1:29500", "head-1:29500" or "[fd00::1]:29500".
struct HostPort {
  std::string host;
  int port = 0;
  std::string ToString() const;  // brackets around an IPv6 host
};
// InvalidArgument naming the text when it is not HOST:PORT with a port in [0, 65535].
StatusOr<HostPort> ParseHostPort(std::string_view text);

// An owned file descriptor; closes it when destroyed.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { Close(); }

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Close();

 private:
  int fd_ = -1;
};

// A socket bound to `at` (an address of this host; port 0 picks a free one)
// and listening. The host is resolved (a DNS name is allowed) and the first
// address used. InvalidArgument when the host does not resolve, Unavailable
// when the address cannot be bound (not this host's, or the port is taken).
StatusOr<Socket> Listen(const HostPort& at, int backlog);

// One attempt to connect to `to` from `local_address` (a numeric IP of this
// host; empty: the kernel's choice), giving up at `deadline`. Unavailable
// with the reason (connection refused, no route) or DeadlineExceeded.
StatusOr<Socket> ConnectTo(const HostPort& to, const std::string& local_address, Deadline deadline);

// Sends all of `bytes`, waiting for room until `deadline`. Unavailable with
// strerror when the connection fails, DeadlineExceeded when the peer does not
// take the bytes in time.
Status SendAll(int fd, std::string_view bytes, Deadline deadline);

// Numeric text of an address ("127.0.0.1", "fd00::1"); IPv4-mapped IPv6
// addresses are shown as IPv4.
std::string AddressText(const sockaddr* address);
// The numeric IP of this end, and of the other end, of a connected socket.
std::string LocalAddress(int fd);
std::string PeerAddress(int fd);
int LocalPort(int fd);

// The IPv4 (else IPv6) address of network interface `name` (GLOO_SOCKET_IFNAME).
// NotFound when there is no such interface or it has no address.
StatusOr<std::string> InterfaceAddress(std::string_view name);

// Milliseconds left until `deadline`, clamped to [0, cap_ms], for poll(2).
int PollTimeoutMs(Deadline deadline, int cap_ms);

}  // namespace engine::net
