// The host-to-host hop of a chain relay (agent/relay_socket.h) on 127.0.0.1:
// a connected hop whose peer stalls fails within its idle timeout instead of
// holding the receiver for ever, and TCP keepalive probes a peer that fell
// silent.
#include "agent/relay_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <future>

#include "agent/byte_reader.h"
#include "common/subprocess.h"

using namespace cluster;
using namespace cluster::agent;

namespace {

const std::string kToken(64, 't');

// A connected hop: the upstream end (ConnectRelay) and the accepting one.
struct Hop {
  int upstream = -1;
  int downstream = -1;
  ~Hop() {
    if (upstream >= 0) ::close(upstream);
    if (downstream >= 0) ::close(downstream);
  }
};

void Connect(Hop* hop, int idle_timeout_s) {
  auto listener = ListenForRelay("127.0.0.1");
  REQUIRE(listener.ok());
  const int port = listener->port;
  auto connecting = std::async(std::launch::async,
                               [&] { return ConnectRelay("127.0.0.1", port, kToken, 5, idle_timeout_s); });
  auto accepted = AcceptRelay(*listener, "127.0.0.1", kToken, 5, idle_timeout_s);
  auto connected = connecting.get();
  REQUIRE(accepted.ok());
  REQUIRE(connected.ok());
  hop->downstream = *accepted;
  hop->upstream = *connected;
}

int IntOption(int fd, int level, int name) {
  int value = -1;
  socklen_t length = sizeof value;
  REQUIRE(::getsockopt(fd, level, name, &value, &length) == 0);
  return value;
}

}  // namespace

TEST_CASE("A relay hop whose upstream stalls gives up after the idle timeout") {
  // The upstream connects, presents the token, then sends nothing more.
  Hop hop;
  Connect(&hop, /*idle_timeout_s=*/1);
  ByteReader from_upstream(hop.downstream);
  char byte;
  const auto start = std::chrono::steady_clock::now();
  CHECK(from_upstream.ReadSome(&byte, 1) == 0);  // no byte within 1 s: the hop is given up
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(5));
}

TEST_CASE("A relay hop whose downstream stops reading gives up writing after the idle timeout") {
  // The next host accepted the hop, then reads nothing: the sender's write
  // must fail, not wait for ever, once the sockets' buffers are full.
  Hop hop;
  Connect(&hop, /*idle_timeout_s=*/1);
  const std::string bytes(64 << 20, 'b');  // more than loopback's buffers hold
  const auto start = std::chrono::steady_clock::now();
  const bool written = WriteAll(hop.upstream, bytes.data(), bytes.size());
  const int error = errno;
  CHECK_FALSE(written);
  CHECK((error == EAGAIN || error == EWOULDBLOCK));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("Both ends of a relay hop time out reads and writes and probe a silent peer with keepalive") {
  Hop hop;
  Connect(&hop, /*idle_timeout_s=*/60);
  for (int fd : {hop.upstream, hop.downstream}) {
    timeval limit{};
    socklen_t length = sizeof limit;
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, &length) == 0);
    CHECK(limit.tv_sec == 60);
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, &length) == 0);
    CHECK(limit.tv_sec == 60);
    // A peer that vanished is noticed in about 35 s (15 s idle, then 4 probes 5 s apart).
    CHECK(IntOption(fd, SOL_SOCKET, SO_KEEPALIVE) == 1);
    CHECK(IntOption(fd, IPPROTO_TCP, TCP_KEEPIDLE) == 15);
    CHECK(IntOption(fd, IPPROTO_TCP, TCP_KEEPINTVL) == 5);
    CHECK(IntOption(fd, IPPROTO_TCP, TCP_KEEPCNT) == 4);
  }
}
