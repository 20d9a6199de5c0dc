// The rendezvous: ranks meet on rank 0's server over 127.0.0.1, only with
// the job's token and from allowed addresses, and every rank learns within
// seconds, by name, of a rank that died or hung. Ranks run as threads of
// this process where one process will do, and as forked processes where a
// rank must die (kill -9) or hang (SIGSTOP).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <thread>

#include "comm_test_support.h"
#include "engine/comm/rendezvous/rendezvous_client.h"
#include "engine/comm/rendezvous/rendezvous_server.h"

using namespace engine;
using namespace engine::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

const char kToken[] = "job-token-0123456789abcdef";

RendezvousServerOptions ServerOptions(const std::string& address, int world_size) {
  RendezvousServerOptions o;
  o.address = address;
  o.world_size = world_size;
  o.token = kToken;
  o.join_timeout = 20s;
  o.heartbeat_interval = 200ms;
  o.peer_timeout = 2s;
  return o;
}

RendezvousClientOptions ClientOptions(const std::string& address, int world_size, int rank) {
  RendezvousClientOptions o;
  o.address = address;
  o.world_size = world_size;
  o.rank = rank;
  o.token = kToken;
  o.connect_timeout = 20s;
  o.heartbeat_interval = 200ms;
  o.peer_timeout = 2s;
  return o;
}

// One rank of a world that meets, shares keys, passes messages and leaves.
int MeetingRank(int rank, int world_size, const std::string& address) {
  std::unique_ptr<RendezvousServer> server;
  if (rank == 0) {
    auto started = RendezvousServer::Start(ServerOptions(address, world_size));
    if (!started.ok()) return std::printf("rank 0: %s\n", started.status().message().c_str()), 1;
    server = std::move(*started);
  }
  auto client = RendezvousClient::Connect(ClientOptions(address, world_size, rank));
  if (!client.ok()) return std::printf("rank %d: %s\n", rank, client.status().message().c_str()), 1;
  RendezvousClient& c = **client;
  const auto fail = [&](const Status& s) { return std::printf("rank %d: %s\n", rank, s.message().c_str()), 1; };
  if (Status s = c.Join(); !s.ok()) return fail(s);
  if (Status s = c.Set("address/" + std::to_string(rank), "where rank " + std::to_string(rank) + " listens"); !s.ok())
    return fail(s);
  for (int other = 0; other < world_size; ++other) {
    auto value = c.Get("address/" + std::to_string(other), 10s);
    if (!value.ok()) return fail(value.status());
    if (*value != "where rank " + std::to_string(other) + " listens") return fail(cluster::DataLossError(*value));
  }
  std::string plan = rank == 0 ? "plan of step 1" : "";
  if (Status s = c.Broadcast(plan, 0); !s.ok()) return fail(s);
  if (plan != "plan of step 1") return fail(cluster::DataLossError("broadcast gave '" + plan + "'"));
  if (rank != 0) {
    if (Status s = c.Send(0, "tokens of rank " + std::to_string(rank)); !s.ok()) return fail(s);
  } else {
    for (int from = 1; from < world_size; ++from) {
      auto message = c.Receive(from);
      if (!message.ok()) return fail(message.status());
      if (*message != "tokens of rank " + std::to_string(from)) return fail(cluster::DataLossError(*message));
    }
  }
  if (Status s = c.Barrier(); !s.ok()) return fail(s);
  std::printf("rank %d: ok\n", rank);
  return 0;
}

void ExpectWorldMeets(int world_size) {
  const std::string address = FreeAddress();
  RankProcesses ranks(world_size, [&](int rank) { return MeetingRank(rank, world_size, address); });
  const std::vector<RankOutcome> outcomes = ranks.Wait(60s);
  for (int rank = 0; rank < world_size; ++rank) {
    INFO("rank " << rank << " said: " << outcomes[rank].output);
    CHECK(outcomes[rank].exit_code == 0);
    CHECK(outcomes[rank].output == "rank " + std::to_string(rank) + ": ok\n");
  }
}

// Connects rank `rank` of a world of two to `address`, expecting a refusal.
std::string RefusalOf(RendezvousClientOptions options) {
  auto client = RendezvousClient::Connect(options);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().code() == cluster::StatusCode::kPermissionDenied);
  return client.status().message();
}

}  // namespace

TEST_CASE("Four ranks in four processes meet, share store keys, broadcast, send to rank 0 and pass a barrier") {
  ExpectWorldMeets(4);
}

TEST_CASE("Sixteen ranks in sixteen processes meet (the TP4 x PP4 world)") { ExpectWorldMeets(16); }

TEST_CASE("A rank without the token, or with a wrong one, is refused with the reason") {
  auto server = RendezvousServer::Start(ServerOptions("127.0.0.1:0", 2));
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  RendezvousClientOptions options = ClientOptions(address, 2, 1);
  options.token = "";
  CHECK(RefusalOf(options) == "rendezvous at " + address +
                                  " refused rank 1: it presented no token (set INFER_ENGINE_RENDEZVOUS_TOKEN to the "
                                  "job's token)");
  options.token = "job-token-0123456789abcdeX";
  CHECK(RefusalOf(options) == "rendezvous at " + address +
                                  " refused rank 1: it presented a wrong token (every rank needs the job's token in "
                                  "INFER_ENGINE_RENDEZVOUS_TOKEN)");
  // The right token is still welcome after the refusals.
  options.token = kToken;
  CHECK(RendezvousClient::Connect(options).ok());
}

TEST_CASE("A rank connecting from an address outside the allow-list is refused, even with the token") {
  RendezvousServerOptions server_options = ServerOptions("127.0.0.1:0", 3);
  server_options.allowed_peers = {"127.0.0.3"};
  auto server = RendezvousServer::Start(server_options);
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  RendezvousClientOptions outside = ClientOptions(address, 3, 1);
  outside.local_address = "127.0.0.2";
  CHECK(RefusalOf(outside) == "rendezvous at " + address +
                                  " refused rank 1: its address 127.0.0.2 is not in the allow-list of the rendezvous");
  RendezvousClientOptions listed = ClientOptions(address, 3, 1);
  listed.local_address = "127.0.0.3";
  auto admitted = RendezvousClient::Connect(listed);
  REQUIRE(admitted.ok());
  CHECK((*admitted)->local_address() == "127.0.0.3");
  // The server's own address (rank 0's host) is always allowed.
  CHECK(RendezvousClient::Connect(ClientOptions(address, 3, 0)).ok());
}

TEST_CASE("When ranks never arrive, the join fails on every rank that came, naming the missing ranks") {
  RendezvousServerOptions server_options = ServerOptions("127.0.0.1:0", 4);
  server_options.join_timeout = 2s;
  auto server = RendezvousServer::Start(server_options);
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  const auto start = std::chrono::steady_clock::now();
  auto join = [&](int rank) {
    auto client = RendezvousClient::Connect(ClientOptions(address, 4, rank));
    return client.ok() ? (*client)->Join() : client.status();
  };
  auto rank0 = std::async(std::launch::async, join, 0);
  auto rank1 = std::async(std::launch::async, join, 1);
  const std::string expected = "rendezvous at " + address + ": ranks 2, 3 did not arrive within 2 s";
  CHECK(rank0.get().message() == expected);
  CHECK(rank1.get().message() == expected);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  // Latecomers are turned away with the same reason.
  RendezvousClientOptions late = ClientOptions(address, 4, 2);
  CHECK(RefusalOf(late) == "rendezvous at " + address +
                               " refused rank 2: the world did not form: ranks 2, 3 did not arrive within 2 s");
}

TEST_CASE("A rank that cannot reach rank 0 gives up after its connect timeout, saying so") {
  const std::string address = FreeAddress();  // nobody listens there
  RendezvousClientOptions options = ClientOptions(address, 2, 1);
  options.connect_timeout = 1s;
  auto client = RendezvousClient::Connect(options);
  REQUIRE_FALSE(client.ok());
  CHECK(client.status().message() == "rendezvous at " + address +
                                         ": rank 0 did not answer within 1 s (last attempt: Connection refused); is "
                                         "rank 0 running, and is " +
                                         address + " its cluster address?");
}

TEST_CASE("A second process with the same rank, or a different world size, is refused") {
  auto server = RendezvousServer::Start(ServerOptions("127.0.0.1:0", 2));
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  auto first = RendezvousClient::Connect(ClientOptions(address, 2, 1));
  REQUIRE(first.ok());
  CHECK(RefusalOf(ClientOptions(address, 2, 1)) ==
        "rendezvous at " + address +
            " refused rank 1: rank 1 has already joined from 127.0.0.1 (two processes started with the same --rank?)");
  CHECK(RefusalOf(ClientOptions(address, 4, 0)) ==
        "rendezvous at " + address +
            " refused rank 0: it expects a world of 4 ranks, rank 0 a world of 2 (start every rank with the same "
            "--world-size)");
}

TEST_CASE("A store key that is never set times out with its name, and an oversized message is refused before sending") {
  auto server = RendezvousServer::Start(ServerOptions("127.0.0.1:0", 1));
  REQUIRE(server.ok());
  RendezvousClientOptions options = ClientOptions((*server)->address(), 2, 0);
  options.world_size = 1;
  options.max_message_bytes = 1024;
  auto client = RendezvousClient::Connect(options);
  REQUIRE(client.ok());
  REQUIRE((*client)->Join().ok());
  CHECK((*client)->Get("gloo/tp0/1", 500ms).status().message() ==
        "rendezvous store: key 'gloo/tp0/1' was not set within 0.5 s");
  std::string big(1025, 'x');
  CHECK((*client)->Broadcast(big, 0).message() == "broadcast: a message of 1025 bytes, over the limit of 1024");
  // The world is still healthy.
  CHECK((*client)->failure().ok());
}

TEST_CASE("A connection that does not present itself in time, or announces a huge frame, is cut off") {
  RendezvousServerOptions server_options = ServerOptions("127.0.0.1:0", 2);
  server_options.handshake_timeout = 500ms;
  auto server = RendezvousServer::Start(server_options);
  REQUIRE(server.ok());
  const auto raw_connect = [&] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>((*server)->port()));
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
    timeval limit{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit));
    return fd;
  };
  const auto closed_within = [](int fd) {
    const auto start = std::chrono::steady_clock::now();
    char buffer[256];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
    }
    ::close(fd);
    return std::chrono::steady_clock::now() - start;
  };
  const int silent = raw_connect();
  CHECK(closed_within(silent) < 2s);
  const int huge = raw_connect();
  const unsigned char header[] = {0x40, 0, 0, 0, 1};  // 1 GiB hello
  REQUIRE(::send(huge, header, sizeof(header), 0) == 5);
  CHECK(closed_within(huge) < 2s);
  // Real ranks still get in.
  CHECK(RendezvousClient::Connect(ClientOptions((*server)->address(), 2, 1)).ok());
}

TEST_CASE("A rank that leaves on purpose is not a failure: receiving from it says it left") {
  auto server = RendezvousServer::Start(ServerOptions("127.0.0.1:0", 2));
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  auto rank1 = std::async(std::launch::async, [&] { return RendezvousClient::Connect(ClientOptions(address, 2, 1)); });
  auto rank0 = RendezvousClient::Connect(ClientOptions(address, 2, 0));
  REQUIRE(rank0.ok());
  auto one = rank1.get();
  REQUIRE(one.ok());
  REQUIRE((*rank0)->Join().ok());
  REQUIRE((*one)->Join().ok());
  REQUIRE((*one)->Send(0, "last tokens").ok());
  one->reset();  // rank 1 says goodbye
  CHECK(*(*rank0)->Receive(1) == "last tokens");
  CHECK((*rank0)->Receive(1).status().message() == "receive: rank 1 left the world");
  CHECK((*rank0)->failure().ok());
}

TEST_CASE("When rank 0 shuts down, a follower waiting for the next step learns that the world shut down") {
  auto server = RendezvousServer::Start(ServerOptions("127.0.0.1:0", 2));
  REQUIRE(server.ok());
  const std::string address = (*server)->address();
  auto rank0 = std::async(std::launch::async, [&] { return RendezvousClient::Connect(ClientOptions(address, 2, 0)); });
  auto follower = RendezvousClient::Connect(ClientOptions(address, 2, 1));
  REQUIRE(follower.ok());
  auto zero = rank0.get();
  REQUIRE(zero.ok());
  auto waiting = std::async(std::launch::async, [&] { return (*follower)->Receive(0); });
  zero->reset();
  server->reset();
  CHECK(waiting.get().status().message() == "receive: rank 0 left: the world shut down");
}

namespace {

// Ranks of a world of 3 that join, say so, and wait for a message that never
// comes; what ends the wait is printed.
int WaitingRank(int rank, const std::string& address) {
  std::unique_ptr<RendezvousServer> server;
  if (rank == 0) server = std::move(*RendezvousServer::Start(ServerOptions(address, 3)));
  auto client = RendezvousClient::Connect(ClientOptions(address, 3, rank));
  if (!client.ok() || !(*client)->Join().ok()) return 1;
  std::printf("rank %d: joined\n", rank);
  std::fflush(stdout);
  auto message = (*client)->Receive(rank == 0 ? 1 : 0);
  std::printf("rank %d: %s\n", rank, message.status().message().c_str());
  return 3;
}

void StartWorldOfThree(RankProcesses& ranks) {
  for (int rank = 0; rank < 3; ++rank) REQUIRE(ranks.WaitForOutput(rank, "joined", 20s));
}

}  // namespace

TEST_CASE("kill -9 of a rank: every other rank fails within 10 s with a message naming it") {
  const std::string address = FreeAddress();
  RankProcesses ranks(3, [&](int rank) { return WaitingRank(rank, address); });
  StartWorldOfThree(ranks);
  const double killed_at = ranks.Elapsed();
  ranks.Signal(2, SIGKILL);
  const auto outcomes = ranks.Wait(15s);
  const std::string reason = "rank 2 (127.0.0.1) closed its connection to the rendezvous: the process exited or was killed";
  for (int rank : {0, 1}) {
    // (Rank 0's output also holds the rendezvous's own log of the failure.)
    CHECK_THAT(outcomes[rank].output, Contains("rank " + std::to_string(rank) + ": " + reason + "\n"));
    CHECK(outcomes[rank].exit_code == 3);
    CHECK(outcomes[rank].seconds - killed_at < 10);
  }
}

TEST_CASE("A rank that hangs (SIGSTOP): every other rank fails within 10 s with a message naming it") {
  const std::string address = FreeAddress();
  RankProcesses ranks(3, [&](int rank) { return WaitingRank(rank, address); });
  StartWorldOfThree(ranks);
  const double stopped_at = ranks.Elapsed();
  ranks.Signal(2, SIGSTOP);
  REQUIRE(ranks.WaitForOutput(0, "rank 0: rank 2", 15s));
  REQUIRE(ranks.WaitForOutput(1, "rank 1: rank 2", 15s));
  const auto outcomes = ranks.Wait(1s);  // rank 2 is still stopped: killed here
  const std::string reason = "rank 2 (127.0.0.1) sent nothing for 2 s: it hung, or the network to its host failed";
  for (int rank : {0, 1}) {
    // (Rank 0's output also holds the rendezvous's own log of the failure.)
    CHECK_THAT(outcomes[rank].output, Contains("rank " + std::to_string(rank) + ": " + reason + "\n"));
    CHECK(outcomes[rank].seconds - stopped_at < 10);
  }
}

TEST_CASE("A follower waiting while rank 0 is idle learns within 10 s that rank 0 died") {
  const std::string address = FreeAddress();
  RankProcesses ranks(3, [&](int rank) { return WaitingRank(rank, address); });
  StartWorldOfThree(ranks);
  const double killed_at = ranks.Elapsed();
  ranks.Signal(0, SIGKILL);
  const auto outcomes = ranks.Wait(15s);
  for (int rank : {1, 2}) {
    CHECK(outcomes[rank].output == "rank " + std::to_string(rank) + ": joined\nrank " + std::to_string(rank) +
                                       ": rank 0 (the rendezvous at " + address +
                                       ") closed the connection: the process exited or was killed\n");
    CHECK(outcomes[rank].seconds - killed_at < 10);
  }
}

TEST_CASE("A follower waiting while rank 0 is idle learns within 10 s that rank 0 hung") {
  const std::string address = FreeAddress();
  RankProcesses ranks(3, [&](int rank) { return WaitingRank(rank, address); });
  StartWorldOfThree(ranks);
  const double stopped_at = ranks.Elapsed();
  ranks.Signal(0, SIGSTOP);
  REQUIRE(ranks.WaitForOutput(1, "rank 1: rank 0", 15s));
  REQUIRE(ranks.WaitForOutput(2, "rank 2: rank 0", 15s));
  const auto outcomes = ranks.Wait(1s);  // rank 0 is still stopped: killed here
  for (int rank : {1, 2}) {
    CHECK(outcomes[rank].output == "rank " + std::to_string(rank) + ": joined\nrank " + std::to_string(rank) +
                                       ": rank 0 (the rendezvous at " + address +
                                       ") sent nothing for 2 s: it hung, or the network to its host failed\n");
    CHECK(outcomes[rank].seconds - stopped_at < 10);
  }
}
