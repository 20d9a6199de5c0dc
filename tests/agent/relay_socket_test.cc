// The host-to-host hop of a chain relay (agent/relay_socket.h) on 127.0.0.1:
// a connected hop whose peer stalls fails within its idle timeout instead of
// holding the receiver for ever.
#include "agent/relay_socket.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "agent/byte_reader.h"

using namespace cluster;
using namespace cluster::agent;

TEST_CASE("A relay hop whose upstream stalls gives up after the idle timeout") {
  const std::string token(64, 't');
  auto listener = ListenForRelay("127.0.0.1");
  REQUIRE(listener.ok());
  const int port = listener->port;
  // The upstream connects, presents the token, then sends nothing more.
  auto upstream = std::async(std::launch::async, [&] { return ConnectRelay("127.0.0.1", port, token, 5, 1); });
  auto accepted = AcceptRelay(*listener, "127.0.0.1", token, 5, /*idle_timeout_s=*/1);
  REQUIRE(accepted.ok());
  auto sender = upstream.get();
  REQUIRE(sender.ok());

  ByteReader from_upstream(*accepted);
  char byte;
  const auto start = std::chrono::steady_clock::now();
  CHECK(from_upstream.ReadSome(&byte, 1) == 0);  // no byte within 1 s: the hop is given up
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= std::chrono::milliseconds(900));
  CHECK(waited < std::chrono::seconds(5));
  ::close(*accepted);
  ::close(*sender);
}
