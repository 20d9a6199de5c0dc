#include "engine/generate/logprobs.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace engine;

TEST_CASE("Log-probabilities are the log-softmax of the raw logits, with the top N most likely first") {
  // Logits ln 1, ln 2, ln 1, ln 4 (a shift by 10 must not matter): probabilities 1/8, 2/8, 1/8, 4/8.
  std::vector<float> logits;
  for (float w : {1.0f, 2.0f, 1.0f, 4.0f}) logits.push_back(10.0f + std::log(w));
  PositionLogprobs lp = ComputeLogprobs(logits, /*chosen=*/2, /*top_n=*/3);
  CHECK(lp.chosen.token == 2);
  CHECK(lp.chosen.logprob == Approx(std::log(1.0 / 8)));
  REQUIRE(lp.top.size() == 3);
  CHECK(lp.top[0].token == 3);
  CHECK(lp.top[0].logprob == Approx(std::log(0.5)));
  CHECK(lp.top[1].token == 1);
  CHECK(lp.top[2].token == 0);  // tied with token 2: the lower id comes first
  CHECK(ComputeLogprobs(logits, 0, 0).top.empty());
}
