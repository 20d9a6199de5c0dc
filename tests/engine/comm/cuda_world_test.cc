// Worlds with GPU tensors. Tagged [gpu]: without an NVIDIA GPU each case
// reports "skipped: no NVIDIA GPU ...". Ranks are forked before any CUDA
// call in the test process.
//
// Two processes share GPU 0 as TP2 (NCCL refuses that; HostStagedComm
// carries the tensors through host memory over Gloo), and a world of one on
// the GPU gets NCCL groups of one.
#include <catch2/catch.hpp>

#include <cstdio>

#include "cuda_test_support.h"
#include "engine/comm/world.h"

using namespace engine;
using namespace engine::testing;
using namespace std::chrono_literals;

namespace {

// One rank on GPU 0: exit code 4 with the reason when there is none.
int SharedGpuRank(int rank, const std::string& address) {
  if (std::string why = WhyNoGpus(1); !why.empty()) return std::printf("%s\n", why.c_str()), cluster::testing::kSkipExitCode;
  cudaSetDevice(0);
  cudaStream_t stream = nullptr;
  cudaStreamCreate(&stream);
  WorldOptions o;
  o.world_size = 2;
  o.rank = rank;
  o.tensor_parallel = 2;
  o.rendezvous = address;
  o.token = "cuda-world-test-token";
  o.device = CommDevice::kCudaThroughHost;
  o.cuda_stream = stream;
  auto world = World::Join(o);
  if (!world.ok()) return std::printf("rank %d: %s\n", rank, world.status().message().c_str()), 1;
  Comm& tp = (*world)->tensor_group();
  Tensor sum = DeviceF32({1.0f + rank, 10.0f * (rank + 1)}, {2});
  Tensor rows = DeviceF32({100.0f * rank, 100.0f * rank + 1}, {1, 2});
  Tensor gathered = DeviceF32({0, 0, 0, 0}, {2, 2});
  Tensor root = DeviceF32({static_cast<float>(rank)}, {1});
  Tensor passed = DeviceF32({rank == 0 ? 42.0f : 0.0f}, {1});
  bool ok = tp.AllReduceSum(sum).ok() && tp.AllGather(rows, gathered).ok() && tp.Broadcast(root, 1).ok() &&
            (rank == 0 ? tp.Send(passed, 1) : tp.Recv(passed, 0)).ok() && tp.Barrier().ok();
  ok = ok && HostValues(sum, stream) == std::vector<float>{3, 30} &&
       HostValues(gathered, stream) == std::vector<float>{0, 1, 100, 101} &&
       HostValues(root, stream) == std::vector<float>{1} && HostValues(passed, stream) == std::vector<float>{42};
  std::printf("rank %d: %s\n", rank, ok ? "ok" : "wrong results");
  (void)(*world)->control().Barrier();
  return ok ? 0 : 2;
}

}  // namespace

TEST_CASE("Two ranks sharing one GPU: TP2 through host memory sums, gathers, broadcasts and passes tensors", "[gpu]") {
  const std::string address = FreeAddress();
  RankProcesses ranks(2, [&](int rank) { return SharedGpuRank(rank, address); });
  const auto outcomes = ranks.Wait(120s);
  SkipIfRankSkipped(outcomes[0]);
  CHECK(outcomes[0].output == "rank 0: ok\n");
  CHECK(outcomes[1].output == "rank 1: ok\n");
}

TEST_CASE("A world of one on the GPU gets NCCL groups of one, whose all-gather copies on the GPU", "[gpu]") {
  if (std::string why = WhyNoGpus(1); !why.empty()) cluster::testing::SkipTest(why);
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  WorldOptions o;  // no rendezvous, no token: a private one
  o.device = CommDevice::kCuda;
  o.cuda_stream = stream;
  auto world = World::Join(o);
  REQUIRE(world.ok());
  Tensor in = DeviceF32({1, 2, 3, 4}, {2, 2});
  Tensor out = DeviceF32({0, 0, 0, 0}, {2, 2});
  REQUIRE((*world)->tensor_group().AllGather(in, out).ok());
  REQUIRE((*world)->tensor_group().AllReduceSum(in).ok());
  CHECK(HostValues(out, stream) == std::vector<float>{1, 2, 3, 4});
  CHECK(HostValues(in, stream) == std::vector<float>{1, 2, 3, 4});
}
