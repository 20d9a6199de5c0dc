#include "common/inventory/placement.h"
#include "runtimes/engine/inventory.h"

#include <catch2/catch.hpp>

using namespace cluster;
using namespace cluster::inventory;

namespace {

// `count` hosts gpu1..gpuN with `gpus` GPUs each, running TP x PP.
Inventory Cluster(int count, int gpus, int tp, int pp) {
  Inventory inv;
  for (int i = 1; i <= count; ++i) {
    Host h;
    h.name = "gpu" + std::to_string(i);
    h.address = "10.0.0." + std::to_string(10 + i);
    h.gpus = gpus;
    h.gpu_model = "T4";
    inv.hosts.push_back(h);
  }
  inv.runtime.tensor_parallel = tp;
  inv.runtime.pipeline_parallel = pp;
  return inv;
}

}  // namespace

TEST_CASE("Reference case: TP4 x PP4 on 4 hosts gives 16 ranks, a stage of 20 layers per host") {
  // Given 4 hosts x 4 GPUs and an 80-layer model, stage s runs on host s+1,
  // its four ranks on GPUs 0-3, with world rank = stage * 4 + tp_rank.
  Inventory inv = Cluster(4, 4, 4, 4);
  inv.hosts[0].head = true;
  StatusOr<Placement> placed = PlaceRanks(inv, 80);
  REQUIRE(placed.ok());
  CHECK(placed->world_size() == 16);
  REQUIRE(placed->hosts.size() == 4);

  const LayerRange stage_layers[] = {{0, 19}, {20, 39}, {40, 59}, {60, 79}};
  std::vector<RankPlacement> ranks = placed->Ranks();
  REQUIRE(ranks.size() == 16);
  for (int rank = 0; rank < 16; ++rank) {
    const RankPlacement& r = ranks[static_cast<size_t>(rank)];
    INFO("rank " << rank);
    CHECK(r.rank == rank);
    CHECK(r.stage == rank / 4);
    CHECK(r.tp_rank == rank % 4);
    CHECK(r.gpu == rank % 4);
    CHECK(r.layers == stage_layers[rank / 4]);
  }
  for (int stage = 0; stage < 4; ++stage) {
    const HostPlacement& h = placed->hosts[static_cast<size_t>(stage)];
    CHECK(h.host == "gpu" + std::to_string(stage + 1));
    CHECK(h.stage == stage);
    REQUIRE(h.ranks.size() == 4);
    CHECK(h.ranks[0].rank == stage * 4);
    CHECK(h.ranks[3].rank == stage * 4 + 3);
  }
  // Spot checks: rank 9 is stage 2, TP rank 1, GPU 1 of gpu3, layers 40-59.
  CHECK(placed->StageHost(2).host == "gpu3");
  CHECK(ranks[9].stage == 2);
  CHECK(ranks[9].gpu == 1);
  CHECK(ranks[9].layers == LayerRange{40, 59});
}

TEST_CASE("Stage 0 runs on the head, the other hosts follow in inventory order, extra hosts are unused") {
  Inventory inv = Cluster(5, 4, 2, 3);
  inv.hosts[2].head = true;  // gpu3
  StatusOr<Placement> placed = PlaceRanks(inv, 12);
  REQUIRE(placed.ok());
  CHECK(placed->StageHost(0).host == "gpu3");
  CHECK(placed->StageHost(1).host == "gpu1");
  CHECK(placed->StageHost(2).host == "gpu2");
  // placement.hosts keeps inventory order; gpu4 and gpu5 run nothing.
  CHECK(placed->hosts[2].stage == 0);
  CHECK(placed->hosts[0].stage == 1);
  CHECK_FALSE(placed->hosts[3].stage.has_value());
  CHECK(placed->hosts[3].ranks.empty());
  CHECK_FALSE(placed->hosts[4].stage.has_value());
  // gpu1 holds stage 1: ranks 2 and 3 (1 * 2 + tp_rank), layers 4-7 (12 / 3 = 4 each).
  REQUIRE(placed->hosts[0].ranks.size() == 2);
  CHECK(placed->hosts[0].ranks[1].rank == 3);
  CHECK(placed->hosts[0].ranks[1].layers == LayerRange{4, 7});
}

TEST_CASE("Uneven layers go to the middle stages first, never to the last stage") {
  // 30 = 4 * 7 + 2: the two extra layers go to stages 2 and 1 -> 7, 8, 8, 7.
  CHECK(*SplitLayers(30, 4) ==
        std::vector<LayerRange>{{0, 6}, {7, 14}, {15, 22}, {23, 29}});
  // 31 = 4 * 7 + 3: stages 2, 1, then 0 -> 8, 8, 8, 7.
  CHECK(*SplitLayers(31, 4) ==
        std::vector<LayerRange>{{0, 7}, {8, 15}, {16, 23}, {24, 30}});
  // Two stages have no middle: 5 = 2 * 2 + 1 -> the first stage gets it: 3, 2.
  CHECK(*SplitLayers(5, 2) == std::vector<LayerRange>{{0, 2}, {3, 4}});
  CHECK(*SplitLayers(80, 1) == std::vector<LayerRange>{{0, 79}});

  StatusOr<std::vector<LayerRange>> too_many = SplitLayers(3, 4);
  REQUIRE_FALSE(too_many.ok());
  CHECK(too_many.status().message() ==
        "cannot split 3 layers into 4 pipeline stages: each stage needs at least one layer");

  // Through PlaceRanks: the third host (stage 2) of a 30-layer model holds 15-22.
  StatusOr<Placement> placed = PlaceRanks(Cluster(4, 4, 4, 4), 30);
  REQUIRE(placed.ok());
  CHECK(placed->hosts[2].ranks[0].layers == LayerRange{15, 22});
  CHECK(placed->hosts[2].ranks[0].layers->count() == 8);
}

TEST_CASE("Impossible placements are errors that say what to change") {
  StatusOr<Placement> few_hosts = PlaceRanks(Cluster(3, 4, 4, 4), 80);
  REQUIRE_FALSE(few_hosts.ok());
  CHECK(few_hosts.status().code() == StatusCode::kInvalidArgument);
  CHECK(few_hosts.status().message() ==
        "runtime.pipeline_parallel is 4 but the inventory has 3 hosts: each pipeline stage runs on "
        "its own host; add hosts or lower pipeline_parallel");

  Inventory inv = Cluster(4, 4, 4, 4);
  inv.hosts[3].gpus = 2;
  StatusOr<Placement> few_gpus = PlaceRanks(inv, 80);
  REQUIRE_FALSE(few_gpus.ok());
  CHECK(few_gpus.status().message() ==
        "host gpu4 runs pipeline stage 3 but has 2 GPUs for tensor_parallel 4: every stage's host "
        "needs tensor_parallel GPUs; lower tensor_parallel or use hosts with more GPUs");

  // An unused host may have fewer GPUs; a host with `gpus: auto` is trusted.
  inv.runtime.pipeline_parallel = 3;
  CHECK(PlaceRanks(inv, 80).ok());
  inv.hosts[1].gpus.reset();
  CHECK(PlaceRanks(inv, 80).ok());

  inv.runtime.tensor_parallel = 0;
  StatusOr<Placement> zero = PlaceRanks(inv, 80);
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() ==
        "runtime: tensor_parallel and pipeline_parallel must be at least 1, found 0 and 3");

  // More stages than layers.
  StatusOr<Placement> thin = PlaceRanks(Cluster(4, 4, 1, 4), 3);
  REQUIRE_FALSE(thin.ok());
  CHECK(thin.status().message() ==
        "cannot split 3 layers into 4 pipeline stages: each stage needs at least one layer");
}

TEST_CASE("On the CPU engine ranks have no GPU, without model facts they have no layers") {
  Inventory inv = Cluster(1, 0, 2, 1);
  inv.hosts[0].name = "local";
  EngineOptionsOf(inv.runtime).device = EngineDevice::kCpu;
  StatusOr<Placement> placed = PlaceRanks(inv, std::nullopt);
  REQUIRE(placed.ok());
  REQUIRE(placed->hosts[0].ranks.size() == 2);
  CHECK_FALSE(placed->hosts[0].ranks[0].gpu.has_value());
  CHECK_FALSE(placed->hosts[0].ranks[1].layers.has_value());
  CHECK(placed->hosts[0].ranks[1].rank == 1);
}
