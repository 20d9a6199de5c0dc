// The tensor x pipeline layout: rank = stage x T + tp_rank.
#include "engine/comm/parallel_layout.h"

#include <catch2/catch.hpp>

using namespace engine;

TEST_CASE("TP4 x PP4: a stage's four ranks form its tensor group, a tp rank's four stages its pipeline group") {
  auto layout = ParallelLayout::Create(16, 4, 4);
  REQUIRE(layout.ok());
  CHECK(layout->StageOf(9) == 2);
  CHECK(layout->TpRankOf(9) == 1);
  CHECK(layout->RankAt(2, 1) == 9);
  CHECK(layout->TensorGroup(2) == std::vector<int>{8, 9, 10, 11});
  CHECK(layout->PipelineGroup(1) == std::vector<int>{1, 5, 9, 13});
}

TEST_CASE("TP2 x PP2 on four ranks") {
  auto layout = ParallelLayout::Create(4, 2, 2);
  REQUIRE(layout.ok());
  CHECK(layout->TensorGroup(0) == std::vector<int>{0, 1});
  CHECK(layout->TensorGroup(1) == std::vector<int>{2, 3});
  CHECK(layout->PipelineGroup(0) == std::vector<int>{0, 2});
  CHECK(layout->PipelineGroup(1) == std::vector<int>{1, 3});
}

TEST_CASE("A layout whose factors do not multiply to the world size is refused") {
  CHECK(ParallelLayout::Create(6, 4, 2).status().message() ==
        "the world size must equal tensor_parallel x pipeline_parallel; got 6 ranks for 4 x 2");
  CHECK(ParallelLayout::Create(4, 0, 4).status().message() ==
        "tensor_parallel and pipeline_parallel must be >= 1; got 0 and 4");
}
