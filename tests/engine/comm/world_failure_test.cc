// A rank that dies or hangs in the middle of the work: every other rank's
// call fails within 10 s with a message naming it, also a rank waiting in a
// pipeline Recv and a rank that is not communicating at all (rank 0 between
// requests learns it through the world's failure handler). Ranks are forked
// processes over 127.0.0.1; all bounded in time.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <future>

#include "comm_test_support.h"
#include "engine/comm/world.h"

using namespace engine;
using namespace engine::testing;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;

namespace {

const char kToken[] = "failure-test-token-7";

WorldOptions Options(const std::string& address, int tp, int pp, int rank) {
  WorldOptions o;
  o.world_size = tp * pp;
  o.rank = rank;
  o.tensor_parallel = tp;
  o.pipeline_parallel = pp;
  o.rendezvous = address;
  o.token = kToken;
  o.join_timeout = 30s;
  o.heartbeat_interval = 500ms;
  o.peer_timeout = 3s;
  o.operation_timeout = 30s;
  return o;
}

// TP4: all-reduces of 1 MiB until one fails; prints what ended the loop.
int AllReducingRank(int rank, const std::string& address) {
  auto world = World::Join(Options(address, 4, 1, rank));
  if (!world.ok()) return std::printf("rank %d: %s\n", rank, world.status().message().c_str()), 1;
  Tensor t = HostTensor({1 << 18}, DType::kF32);
  for (int i = 0;; ++i) {
    Status s = (*world)->tensor_group().AllReduceSum(t);
    if (!s.ok()) {
      std::printf("rank %d: %s\n", rank, s.message().c_str());
      return 3;
    }
    if (i == 0) {
      std::printf("rank %d: in the loop\n", rank);
      std::fflush(stdout);
    }
  }
}

void StartLoops(RankProcesses& ranks, int count) {
  for (int rank = 0; rank < count; ++rank) REQUIRE(ranks.WaitForOutput(rank, "in the loop", 60s));
}

// The last line a rank printed.
std::string LastLine(const std::string& output) {
  std::string text = output;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  const std::size_t start = text.rfind('\n');
  return start == std::string::npos ? text : text.substr(start + 1);
}

}  // namespace

TEST_CASE("kill -9 of one rank mid-all-reduce: the others fail within 10 s, naming it") {
  const std::string address = FreeAddress();
  RankProcesses ranks(4, [&](int rank) { return AllReducingRank(rank, address); });
  StartLoops(ranks, 4);
  const double killed_at = ranks.Elapsed();
  ranks.Signal(2, SIGKILL);
  const auto outcomes = ranks.Wait(20s);
  for (int rank : {0, 1, 3}) {
    INFO("rank " << rank << " said: " << outcomes[rank].output);
    CHECK(outcomes[rank].exit_code == 3);
    CHECK(outcomes[rank].seconds - killed_at < 10);
    // The world names the first failure; a rank that saw Gloo's connection
    // to rank 2 break first names it from there.
    const std::string line = LastLine(outcomes[rank].output);
    const std::string prefix = "rank " + std::to_string(rank) +
                               ": all-reduce in the tensor group of stage 0 (ranks 0, 1, 2, 3): rank 2 (127.0.0.1) ";
    CHECK_THAT(line, Catch::Matchers::StartsWith(prefix));
    const std::string reason = line.substr(std::min(prefix.size(), line.size()));
    CHECK((reason == "closed its connection to the rendezvous: the process exited or was killed" ||
           reason == "closed the connection: the process exited or was killed"));
  }
}

TEST_CASE("One rank hangs (SIGSTOP) mid-all-reduce: the others fail within 10 s, naming it") {
  const std::string address = FreeAddress();
  RankProcesses ranks(4, [&](int rank) { return AllReducingRank(rank, address); });
  StartLoops(ranks, 4);
  const double stopped_at = ranks.Elapsed();
  ranks.Signal(2, SIGSTOP);
  for (int rank : {0, 1, 3}) REQUIRE(ranks.WaitForOutput(rank, "sent nothing", 20s));
  const auto outcomes = ranks.Wait(1s);  // the stopped rank is killed here
  for (int rank : {0, 1, 3}) {
    INFO("rank " << rank << " said: " << outcomes[rank].output);
    CHECK(outcomes[rank].exit_code == 3);
    CHECK(outcomes[rank].seconds - stopped_at < 10);
    CHECK(LastLine(outcomes[rank].output) ==
          "rank " + std::to_string(rank) +
              ": all-reduce in the tensor group of stage 0 (ranks 0, 1, 2, 3): rank 2 (127.0.0.1) sent nothing for 3 "
              "s: it hung, or the network to its host failed");
  }
}

namespace {

// PP3: the last stage waits in Recv for stage 1, which never sends; rank 0
// does no communication and learns of failures from the handler.
int PipelineRank(int rank, const std::string& address) {
  // Declared before the world, so that it outlives the world's watcher
  // thread, which may still be in the handler when rank 2's Recv returns.
  std::promise<Status> failed;
  auto world = World::Join(Options(address, 1, 3, rank));
  if (!world.ok()) return std::printf("rank %d: %s\n", rank, world.status().message().c_str()), 1;
  World& w = **world;
  w.SetFailureHandler([&failed](const Status& s) { failed.set_value(s); });
  std::printf("rank %d: ready\n", rank);
  std::fflush(stdout);
  if (rank == 2) {
    Tensor hidden = HostTensor({4, 8}, DType::kF32);
    Status s = w.pipeline_group().Recv(hidden, 1);
    std::printf("rank 2: %s\n", s.message().c_str());
    return 3;
  }
  // Ranks 0 and 1: idle until the world fails.
  Status s = failed.get_future().get();
  std::printf("rank %d: the world failed: %s\n", rank, s.message().c_str());
  return 3;
}

}  // namespace

TEST_CASE("A stage waiting in Recv, and an idle rank 0, learn within 10 s that the stage before died") {
  const std::string address = FreeAddress();
  RankProcesses ranks(3, [&](int rank) { return PipelineRank(rank, address); });
  for (int rank = 0; rank < 3; ++rank) REQUIRE(ranks.WaitForOutput(rank, "ready", 60s));
  ::usleep(300 * 1000);  // rank 2 is in its Recv
  const double killed_at = ranks.Elapsed();
  ranks.Signal(1, SIGKILL);
  const auto outcomes = ranks.Wait(20s);
  const std::string reason = "rank 1 (127.0.0.1) closed its connection to the rendezvous: the process exited or was killed";
  CHECK_THAT(outcomes[0].output, EndsWith("rank 0: the world failed: " + reason + "\n"));
  CHECK_THAT(outcomes[2].output, EndsWith("rank 2: recv in the pipeline group of tp rank 0 (ranks 0, 1, 2): " + reason + "\n"));
  for (int rank : {0, 2}) CHECK(outcomes[rank].seconds - killed_at < 10);
}

namespace {

// TP2: rank 0 all-reduces, rank 1 never does (it waits for a message that
// does not come): rank 0's call ends at the operation timeout.
int MismatchedRank(int rank, const std::string& address) {
  WorldOptions o = Options(address, 2, 1, rank);
  o.operation_timeout = 2s;
  auto world = World::Join(o);
  if (!world.ok()) return std::printf("rank %d: %s\n", rank, world.status().message().c_str()), 1;
  if (rank == 1) {
    (void)(*world)->control().Receive(0, 10s);
    return 0;
  }
  Tensor t = HostTensor({16}, DType::kF32);
  Status s = (*world)->tensor_group().AllReduceSum(t);
  std::printf("rank 0: %s\n", s.message().c_str());
  return 3;
}

}  // namespace

TEST_CASE("A collective that a peer never joins ends at the operation timeout, saying so") {
  const std::string address = FreeAddress();
  RankProcesses ranks(2, [&](int rank) { return MismatchedRank(rank, address); });
  REQUIRE(ranks.WaitForOutput(0, "rank 0: ", 30s));
  const auto outcomes = ranks.Wait(15s);
  CHECK_THAT(outcomes[0].output,
             EndsWith("rank 0: all-reduce in the tensor group of stage 0 (ranks 0, 1): no answer within 2 s: a rank of "
                      "the group hung, died, or makes other calls than this one\n"));
}
