#include "engine/generate/sampler.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

using namespace engine;

TEST_CASE("Temperature 0 is greedy, after the penalties") {
  Sampler sampler(1);
  SamplingParams p;
  p.temperature = 0;
  std::vector<float> logits = {1, 5, 4};
  CHECK(sampler.Sample(logits, p, {}, {}) == 1);
  // Token 1 was generated; a presence penalty of 2 makes token 2 the best.
  p.presence_penalty = 2;
  std::vector<float> again = {1, 5, 4};
  CHECK(sampler.Sample(again, p, {}, std::vector<std::int32_t>{1}) == 2);
}

TEST_CASE("The same seed gives the same draws, another seed gives others") {
  SamplingParams p;
  p.temperature = 1.0;
  auto draw = [&](std::uint64_t seed) {
    Sampler s(seed);
    std::vector<std::int32_t> out;
    for (int i = 0; i < 50; ++i) {
      std::vector<float> logits(10, 0.0f);
      out.push_back(s.Sample(logits, p, {}, {}));
    }
    return out;
  };
  CHECK(draw(42) == draw(42));
  CHECK(draw(42) != draw(43));
}

TEST_CASE("The uniform draw uses 53 bits of the seeded mt19937_64 (documented, so runs reproduce)") {
  Sampler s(5489);
  std::mt19937_64 reference(5489);
  for (int i = 0; i < 3; ++i) CHECK(s.NextUniform() == static_cast<double>(reference() >> 11) * 0x1.0p-53);
}

TEST_CASE("Sampling follows the softmax probabilities, and filtered tokens are never drawn") {
  // Probabilities 0.5, 0.3, 0.2, 0 (token 3 removed by top-k 3).
  SamplingParams p;
  p.top_k = 3;
  Sampler s(7);
  std::map<std::int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f), std::log(0.01f)};
    ++counts[s.Sample(logits, p, {}, {})];
  }
  CHECK(counts[3] == 0);
  CHECK(counts[0] / double(n) == Approx(0.5).margin(0.02));
  CHECK(counts[1] / double(n) == Approx(0.3).margin(0.02));
  CHECK(counts[2] / double(n) == Approx(0.2).margin(0.02));
}
