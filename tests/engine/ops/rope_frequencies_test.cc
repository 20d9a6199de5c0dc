#include "engine/ops/rope_frequencies.h"

#include <catch2/catch.hpp>

using namespace engine;
using Catch::Matchers::Contains;

TEST_CASE("Default RoPE frequencies are 1 / theta^(2i/d)") {
  // d = 4, theta = 10000: 1/10000^0 = 1, 1/10000^(2/4) = 0.01.
  auto f = RopeInverseFrequencies(4, RopeParameters{RopeType::kDefault, 10000.0});
  REQUIRE(f.ok());
  REQUIRE(f->size() == 2);
  CHECK((*f)[0] == Approx(1.0f));
  CHECK((*f)[1] == Approx(0.01f));
}

TEST_CASE("Llama 3 scaling keeps high frequencies, divides low ones by the factor and blends between") {
  // d = 8, theta = 10000: plain frequencies 1, 0.1, 0.01, 0.001 with
  // wavelengths 2pi/f = 6.28, 62.8, 628, 6283. With L = 1000, low = 1,
  // high = 4: wavelengths under L/4 = 250 stay, over L/1 = 1000 are divided
  // by factor 8, and 628 blends with s = (1000/628.3 - 1) / 3 = 0.19718:
  //   (1 - s) * 0.01 / 8 + s * 0.01 = 0.0029754.
  RopeParameters rope;
  rope.type = RopeType::kLlama3;
  rope.theta = 10000.0;
  rope.factor = 8.0;
  rope.low_freq_factor = 1.0;
  rope.high_freq_factor = 4.0;
  rope.original_max_position_embeddings = 1000.0;
  auto f = RopeInverseFrequencies(8, rope);
  REQUIRE(f.ok());
  REQUIRE(f->size() == 4);
  CHECK((*f)[0] == Approx(1.0f));
  CHECK((*f)[1] == Approx(0.1f));
  CHECK((*f)[2] == Approx(0.0029754f).epsilon(1e-4));
  CHECK((*f)[3] == Approx(0.000125f));
}

TEST_CASE("RoPE frequencies refuse an odd head size and inconsistent llama3 factors") {
  auto odd = RopeInverseFrequencies(5, RopeParameters{});
  REQUIRE_FALSE(odd.ok());
  CHECK_THAT(odd.status().message(), Contains("head_dim must be a positive even number, got 5"));

  RopeParameters rope;
  rope.type = RopeType::kLlama3;
  rope.low_freq_factor = 4.0;
  rope.high_freq_factor = 1.0;
  auto bad = RopeInverseFrequencies(8, rope);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Contains("high_freq_factor > low_freq_factor"));
}
