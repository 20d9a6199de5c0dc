// NcclComm on GPU memory. Tagged [gpu]: without an NVIDIA GPU (CI, this
// project's build machines) each case reports "skipped: no NVIDIA GPU ..."
// (tests/skip.h); the cases needing two GPUs skip on one. The two-GPU cases
// fork their ranks before any CUDA call in the test process.
#include <catch2/catch.hpp>

#include <cstdio>

#include "cuda_test_support.h"
#include "engine/comm/nccl/nccl_comm.h"
#include "engine/comm/rendezvous/rendezvous_server.h"

using namespace engine;
using namespace engine::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

const char kToken[] = "nccl-test-token-31";

RendezvousClientOptions ClientOptions(const std::string& address, int world_size, int rank) {
  RendezvousClientOptions o;
  o.address = address;
  o.world_size = world_size;
  o.rank = rank;
  o.token = kToken;
  o.connect_timeout = 30s;
  return o;
}

NcclCommOptions GroupOptions(const std::vector<int>& ranks, int rank) {
  NcclCommOptions o;
  o.group_name = "tensor group of stage 0";
  o.world_ranks = ranks;
  o.world_rank = rank;
  o.cuda_device = rank;
  o.connect_timeout = 30s;
  o.operation_timeout = 2s;
  return o;
}

// One rank of a two-GPU group; `body` runs on its NcclComm. Exit code 4
// with the reason when the machine lacks two GPUs.
int TwoGpuRank(int rank, const std::string& address, const std::function<int(NcclComm&)>& body) {
  if (std::string why = WhyNoGpus(2); !why.empty()) return std::printf("%s\n", why.c_str()), cluster::testing::kSkipExitCode;
  std::unique_ptr<RendezvousServer> server;
  if (rank == 0) {
    RendezvousServerOptions o;
    o.address = address;
    o.world_size = 2;
    o.token = kToken;
    server = std::move(*RendezvousServer::Start(o));
  }
  auto client = RendezvousClient::Connect(ClientOptions(address, 2, rank));
  if (!client.ok() || !(*client)->Join().ok()) return std::printf("rank %d: no rendezvous\n", rank), 1;
  auto comm = NcclComm::Create(**client, GroupOptions({0, 1}, rank));
  if (!comm.ok()) return std::printf("rank %d: %s\n", rank, comm.status().message().c_str()), 1;
  const int code = body(**comm);
  (void)(*client)->Barrier();
  return code;
}

void RunTwoGpuRanks(const std::function<int(NcclComm&)>& body, const std::function<void(const std::vector<RankOutcome>&)>& check) {
  const std::string address = FreeAddress();
  RankProcesses ranks(2, [&](int rank) { return TwoGpuRank(rank, address, body); });
  const auto outcomes = ranks.Wait(120s);
  SkipIfRankSkipped(outcomes[0]);
  check(outcomes);
}

}  // namespace

TEST_CASE("NcclComm in a world of one: collectives leave the tensor as it is, all-gather copies", "[gpu]") {
  if (std::string why = WhyNoGpus(1); !why.empty()) cluster::testing::SkipTest(why);
  RendezvousServerOptions server_options;
  server_options.address = "127.0.0.1:0";
  server_options.world_size = 1;
  server_options.token = kToken;
  auto server = RendezvousServer::Start(server_options);
  REQUIRE(server.ok());
  auto client = RendezvousClient::Connect(ClientOptions((*server)->address(), 1, 0));
  REQUIRE(client.ok());
  REQUIRE((*client)->Join().ok());
  auto comm = NcclComm::Create(**client, GroupOptions({0}, 0));
  REQUIRE(comm.ok());
  Tensor t = DeviceF32({1, 2, 3}, {3});
  REQUIRE((*comm)->AllReduceSum(t).ok());
  REQUIRE((*comm)->Broadcast(t, 0).ok());
  Tensor gathered = DeviceF32({0, 0, 0}, {3});
  REQUIRE((*comm)->AllGather(t, gathered).ok());
  REQUIRE((*comm)->Barrier().ok());
  REQUIRE((*comm)->Synchronize().ok());
  CHECK(HostValues(t) == std::vector<float>{1, 2, 3});
  CHECK(HostValues(gathered) == std::vector<float>{1, 2, 3});
}

TEST_CASE("NcclComm over two GPUs: all-reduce, all-gather, broadcast and send/recv", "[gpu]") {
  RunTwoGpuRanks(
      [](NcclComm& comm) {
        const int me = comm.rank();
        Tensor sum = DeviceF32({1.0f + me, 10.0f * (me + 1)}, {2});
        Tensor rows = DeviceF32({100.0f * me, 100.0f * me + 1}, {1, 2});
        Tensor gathered = DeviceF32({0, 0, 0, 0}, {2, 2});
        Tensor root = DeviceF32({static_cast<float>(me)}, {1});
        Tensor passed = DeviceF32({me == 0 ? 42.0f : 0.0f}, {1});
        bool ok = comm.AllReduceSum(sum).ok() && comm.AllGather(rows, gathered).ok() && comm.Broadcast(root, 1).ok();
        ok = ok && (me == 0 ? comm.Send(passed, 1) : comm.Recv(passed, 0)).ok() && comm.Synchronize().ok();
        ok = ok && HostValues(sum) == std::vector<float>{3, 30} &&
             HostValues(gathered) == std::vector<float>{0, 1, 100, 101} && HostValues(root) == std::vector<float>{1} &&
             HostValues(passed) == std::vector<float>{42};
        std::printf("rank %d: %s\n", me, ok ? "ok" : "wrong results");
        return ok ? 0 : 2;
      },
      [](const std::vector<RankOutcome>& outcomes) {
        CHECK(outcomes[0].output == "rank 0: ok\n");
        CHECK(outcomes[1].output == "rank 1: ok\n");
      });
}

TEST_CASE("An NCCL all-reduce that the peer never joins is aborted at the operation timeout, never a hang", "[gpu]") {
  RunTwoGpuRanks(
      [](NcclComm& comm) {
        if (comm.rank() == 1) {
          std::this_thread::sleep_for(5s);
          return 0;
        }
        Tensor t = DeviceF32({1}, {1});
        Status s = comm.AllReduceSum(t);
        if (s.ok()) s = comm.Synchronize();
        std::printf("rank 0: %s\n", s.message().c_str());
        return 3;
      },
      [](const std::vector<RankOutcome>& outcomes) {
        CHECK_THAT(outcomes[0].output, Contains("in the tensor group of stage 0 (ranks 0, 1): "));
        CHECK_THAT(outcomes[0].output, Contains("within 2 s: a rank of the group hung, died, or makes other calls than this one"));
      });
}
