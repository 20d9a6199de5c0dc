// Collectives on the groups of TP x PP worlds: every rank a forked process
// that joins a World over 127.0.0.1 and checks what its tensor group and
// pipeline group compute against the sums, gathers and messages worked out
// by hand. Dtypes F32, I32, F16 and BF16 hold small integers, so every sum
// is exact.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "comm_test_support.h"
#include "engine/comm/world.h"

using namespace engine;
using namespace engine::testing;
using namespace std::chrono_literals;

namespace {

const char kToken[] = "collectives-test-token-42";

WorldOptions Options(const std::string& address, int tp, int pp, int rank) {
  WorldOptions o;
  o.world_size = tp * pp;
  o.rank = rank;
  o.tensor_parallel = tp;
  o.pipeline_parallel = pp;
  o.rendezvous = address;
  o.token = kToken;
  o.join_timeout = 60s;
  o.operation_timeout = 60s;
  return o;
}

// IEEE half bits of a small non-negative integer (exact below 2048).
std::uint16_t HalfOf(int v) {
  if (v == 0) return 0;
  int e = 0;
  while ((2 << e) <= v) ++e;
  return static_cast<std::uint16_t>(((e + 15) << 10) | ((v - (1 << e)) << (10 - e)));
}

// bfloat16 bits of a small integer (exact below 256): the top half of its float.
std::uint16_t BFloat16Of(int v) {
  const float f = static_cast<float>(v);
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return static_cast<std::uint16_t>(bits >> 16);
}

// Collects mismatches; each rank prints them, or "ok".
struct Problems {
  std::vector<std::string> list;
  void Check(bool ok, const std::string& what) {
    if (!ok) list.push_back(what);
  }
  bool Ok(const Status& s, const std::string& what) {
    if (!s.ok()) list.push_back(what + ": " + s.message());
    return s.ok();
  }
};

template <typename T>
T* Data(Tensor& t) {
  return static_cast<T*>(t.data());
}

void CheckAllReduce(Comm& tp, int stage, std::int64_t count, Problems& p) {
  const int n = tp.world_size();
  const int me = tp.rank();
  // The element i of rank t holds (stage + t + 1) * (i % 7); the sum over t
  // is (n * (stage + 1) + n * (n - 1) / 2) * (i % 7).
  const int factor = n * (stage + 1) + n * (n - 1) / 2;
  Tensor f32 = HostTensor({count}, DType::kF32);
  Tensor i32 = HostTensor({count}, DType::kI32);
  for (std::int64_t i = 0; i < count; ++i) {
    Data<float>(f32)[i] = static_cast<float>((stage + me + 1) * (i % 7));
    Data<std::int32_t>(i32)[i] = static_cast<std::int32_t>((stage + me + 1) * (i % 7));
  }
  if (p.Ok(tp.AllReduceSum(f32), "all-reduce F32")) {
    bool same = true;
    for (std::int64_t i = 0; i < count; ++i) same = same && Data<float>(f32)[i] == static_cast<float>(factor * (i % 7));
    p.Check(same, "all-reduce F32 of " + std::to_string(count) + " values: wrong sum");
  }
  if (p.Ok(tp.AllReduceSum(i32), "all-reduce I32")) {
    bool same = true;
    for (std::int64_t i = 0; i < count; ++i) same = same && Data<std::int32_t>(i32)[i] == factor * (i % 7);
    p.Check(same, "all-reduce I32: wrong sum");
  }
}

void CheckHalfSums(Comm& tp, Problems& p) {
  const int n = tp.world_size();
  const int me = tp.rank();
  constexpr int kCount = 300;
  Tensor f16 = HostTensor({kCount}, DType::kF16);
  Tensor bf16 = HostTensor({kCount}, DType::kBF16);
  for (int i = 0; i < kCount; ++i) {
    Data<std::uint16_t>(f16)[i] = HalfOf((me + 1) * (i % 5));
    Data<std::uint16_t>(bf16)[i] = BFloat16Of((me + 1) * (i % 5));
  }
  const int factor = n * (n + 1) / 2;
  if (p.Ok(tp.AllReduceSum(f16), "all-reduce F16")) {
    bool same = true;
    for (int i = 0; i < kCount; ++i) same = same && Data<std::uint16_t>(f16)[i] == HalfOf(factor * (i % 5));
    p.Check(same, "all-reduce F16: wrong sum");
  }
  if (p.Ok(tp.AllReduceSum(bf16), "all-reduce BF16")) {
    bool same = true;
    for (int i = 0; i < kCount; ++i) same = same && Data<std::uint16_t>(bf16)[i] == BFloat16Of(factor * (i % 5));
    p.Check(same, "all-reduce BF16: wrong sum");
  }
}

void CheckAllGatherAndBroadcast(Comm& tp, Problems& p) {
  const int n = tp.world_size();
  const int me = tp.rank();
  // Rank t's [2, 3] block holds 100 t + j; the gather stacks them in rank order.
  Tensor in = HostTensor({2, 3}, DType::kF32);
  for (int j = 0; j < 6; ++j) Data<float>(in)[j] = static_cast<float>(100 * me + j);
  Tensor out = HostTensor({2 * n, 3}, DType::kF32);
  if (p.Ok(tp.AllGather(in, out), "all-gather")) {
    bool same = true;
    for (int t = 0; t < n; ++t)
      for (int j = 0; j < 6; ++j) same = same && Data<float>(out)[t * 6 + j] == static_cast<float>(100 * t + j);
    p.Check(same, "all-gather: wrong rows");
  }
  const int root = n - 1;
  Tensor b = HostF32({static_cast<float>(me), 1.5f, -2}, {3});
  if (p.Ok(tp.Broadcast(b, root), "broadcast")) {
    p.Check(F32Values(b) == std::vector<float>{static_cast<float>(root), 1.5f, -2}, "broadcast: not the root's values");
  }
}

// Activations flow down the pipeline: each stage adds its number and passes
// them on, as a stage forward would.
void CheckPipeline(Comm& pp, int tp_rank, Problems& p) {
  const int stage = pp.rank();
  const int stages = pp.world_size();
  Tensor hidden = HostTensor({4, 8}, DType::kF32);
  if (stage == 0) {
    for (int i = 0; i < 32; ++i) Data<float>(hidden)[i] = static_cast<float>(i + tp_rank);
  } else if (!p.Ok(pp.Recv(hidden, stage - 1), "recv from the previous stage")) {
    return;
  }
  bool same = true;
  for (int i = 0; i < 32; ++i) same = same && Data<float>(hidden)[i] == static_cast<float>(i + tp_rank + stage * (stage - 1) / 2);
  p.Check(same, "recv: not the previous stage's activations");
  for (int i = 0; i < 32; ++i) Data<float>(hidden)[i] += static_cast<float>(stage);
  if (stage + 1 < stages) p.Ok(pp.Send(hidden, stage + 1), "send to the next stage");
}

// The step protocol's shape: rank 0 broadcasts a plan, the last stage's
// ranks return tokens to rank 0.
void CheckControl(World& world, Problems& p) {
  ControlChannel& control = world.control();
  std::string plan = world.rank() == 0 ? "step 1: tokens 5 6 7" : "";
  if (!p.Ok(control.Broadcast(plan, 0), "control broadcast")) return;
  p.Check(plan == "step 1: tokens 5 6 7", "control broadcast: got '" + plan + "'");
  const int last_stage = world.layout().pipeline_parallel() - 1;
  if (world.stage() == last_stage && world.rank() != 0) {
    p.Ok(control.Send(0, "sampled by rank " + std::to_string(world.rank())), "control send");
  }
  if (world.rank() == 0) {
    for (int r : world.layout().TensorGroup(last_stage)) {
      if (r == 0) continue;
      auto tokens = control.Receive(r);
      if (p.Ok(tokens.status(), "control receive")) p.Check(*tokens == "sampled by rank " + std::to_string(r), *tokens);
    }
  }
}

int CollectivesRank(int rank, int tp, int pp, const std::string& address, std::int64_t big_count) {
  auto world = World::Join(Options(address, tp, pp, rank));
  if (!world.ok()) return std::printf("rank %d: %s\n", rank, world.status().message().c_str()), 1;
  World& w = **world;
  Problems p;
  CheckAllReduce(w.tensor_group(), w.stage(), 4099, p);
  if (big_count > 0) CheckAllReduce(w.tensor_group(), w.stage(), big_count, p);
  CheckHalfSums(w.tensor_group(), p);
  CheckAllGatherAndBroadcast(w.tensor_group(), p);
  CheckPipeline(w.pipeline_group(), w.tp_rank(), p);
  CheckControl(w, p);
  p.Ok(w.tensor_group().Barrier(), "tensor group barrier");
  p.Ok(w.pipeline_group().Barrier(), "pipeline group barrier");
  p.Ok(w.control().Barrier(), "world barrier");
  for (const std::string& problem : p.list) std::printf("rank %d: %s\n", rank, problem.c_str());
  if (!p.list.empty()) return 2;
  std::printf("rank %d: ok\n", rank);
  return 0;
}

void ExpectCollectives(int tp, int pp, std::int64_t big_count) {
  const std::string address = FreeAddress();
  RankProcesses ranks(tp * pp, [&](int rank) { return CollectivesRank(rank, tp, pp, address, big_count); });
  const std::vector<RankOutcome> outcomes = ranks.Wait(120s);
  for (int rank = 0; rank < tp * pp; ++rank) {
    INFO("rank " << rank << " said: " << outcomes[rank].output);
    CHECK(outcomes[rank].exit_code == 0);
    CHECK(outcomes[rank].output == "rank " + std::to_string(rank) + ": ok\n");
  }
}

}  // namespace

TEST_CASE("TP2 x PP2 on four processes: tensor groups sum and gather and broadcast, pipeline groups pass activations") {
  // Four MiB of F32 takes Gloo's ring through several segments.
  ExpectCollectives(2, 2, std::int64_t{1} << 20);
}

TEST_CASE("TP4 x PP4 on sixteen processes: the reference cluster's layout") { ExpectCollectives(4, 4, 0); }

TEST_CASE("A world of one needs no rendezvous: its groups and control channel are local") {
  WorldOptions o;  // world_size 1, no rendezvous, no token
  auto world = World::Join(o);
  REQUIRE(world.ok());
  Tensor t = HostF32({1, 2}, {2});
  CHECK((*world)->tensor_group().AllReduceSum(t).ok());
  CHECK((*world)->pipeline_group().world_size() == 1);
  std::string plan = "step";
  CHECK((*world)->control().Broadcast(plan, 0).ok());
  CHECK((*world)->control().Barrier().ok());
}

TEST_CASE("A world of several ranks refuses to start without a token or a rendezvous address") {
  WorldOptions o;
  o.world_size = 2;
  o.tensor_parallel = 2;
  o.rendezvous = "127.0.0.1:1";
  CHECK(World::Join(o).status().message() ==
        "a world of 2 ranks needs INFER_ENGINE_RENDEZVOUS_TOKEN (the job's token) in the environment");
  o.token = kToken;
  o.rendezvous = "";
  CHECK(World::Join(o).status().message() ==
        "a world of 2 ranks needs --rendezvous ADDRESS:PORT (rank 0's cluster address)");
  o.tensor_parallel = 3;
  CHECK(World::Join(o).status().message() ==
        "the world size must equal tensor_parallel x pipeline_parallel; got 2 ranks for 3 x 1");
}
