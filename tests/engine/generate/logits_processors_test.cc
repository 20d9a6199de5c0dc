#include "engine/generate/logits_processors.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

using namespace engine;

namespace {
const float kInf = std::numeric_limits<float>::infinity();
}

TEST_CASE("Repetition penalty divides positive and multiplies negative logits of seen tokens, once each") {
  std::vector<float> logits = {2.0f, -2.0f, 3.0f, 1.0f};
  // Token 0 appears twice in the context; it is penalised once (HF semantics).
  ApplyRepetitionPenalty(logits, std::vector<std::int32_t>{0, 1, 0, 99}, 2.0f);
  CHECK(logits == std::vector<float>{1.0f, -4.0f, 3.0f, 1.0f});
}

TEST_CASE("Presence and frequency penalties subtract per distinct token and per occurrence") {
  std::vector<float> logits = {5.0f, 5.0f, 5.0f};
  // Token 1 generated 3 times, token 2 once: 5 - (0.5 + 3*0.25) = 3.75, 5 - (0.5 + 0.25) = 4.25.
  ApplyPresenceFrequencyPenalties(logits, std::vector<std::int32_t>{1, 2, 1, 1}, 0.5f, 0.25f);
  CHECK(logits == std::vector<float>{5.0f, 3.75f, 4.25f});
}

TEST_CASE("Temperature divides the logits") {
  std::vector<float> logits = {1.0f, -3.0f};
  ApplyTemperature(logits, 0.5f);
  CHECK(logits == std::vector<float>{2.0f, -6.0f});
}

TEST_CASE("Top-k keeps the k largest logits and any tied with the k-th") {
  std::vector<float> logits = {1, 4, 3, 3, 0};
  ApplyTopK(logits, 2);
  CHECK(logits == std::vector<float>{-kInf, 4, 3, 3, -kInf});
  std::vector<float> all = {1, 2};
  ApplyTopK(all, 0);
  CHECK(all == std::vector<float>{1, 2});
}

TEST_CASE("Top-p keeps the most likely tokens until their mass reaches p") {
  // Probabilities 0.5, 0.25, 0.125, 0.125 (logits ln of them).
  std::vector<float> logits = {std::log(0.5f), std::log(0.25f), std::log(0.125f), std::log(0.125f)};
  SECTION("p = 0.6: 0.5 is not enough, 0.5 + 0.25 is") {
    ApplyTopP(logits, 0.6f);
    CHECK(std::isfinite(logits[0]));
    CHECK(std::isfinite(logits[1]));
    CHECK(logits[2] == -kInf);
    CHECK(logits[3] == -kInf);
  }
  SECTION("a tiny p keeps only the most likely token") {
    ApplyTopP(logits, 0.01f);
    CHECK(std::isfinite(logits[0]));
    CHECK(logits[1] == -kInf);
  }
}

TEST_CASE("Min-p removes tokens less likely than min_p times the most likely") {
  // Probabilities proportional to 8, 4, 1: with min_p 0.25 the threshold is 8 * 0.25 = 2.
  std::vector<float> logits = {std::log(8.0f), std::log(4.0f), std::log(1.0f)};
  ApplyMinP(logits, 0.25f);
  CHECK(std::isfinite(logits[0]));
  CHECK(std::isfinite(logits[1]));
  CHECK(logits[2] == -kInf);
}

TEST_CASE("ArgMax picks the lowest id among equal maxima") {
  CHECK(ArgMax(std::vector<float>{1, 7, 7, 3}) == 1);
}
