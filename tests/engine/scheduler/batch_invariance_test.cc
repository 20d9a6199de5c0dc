// Batch invariance of the CPU backend: what the scheduler's "same tokens
// alone or batched" rests on. A row's result must not depend, in any bit, on
// how many rows share the call or where the row sits among them.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>

#include "engine/backends/cpu/cpu_backend.h"
#include "scheduler_test_support.h"
#include "support/backend_test_util.h"

using namespace engine;

namespace {

std::vector<float> RandomValues(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

bool BitwiseEqual(std::span<const float> a, std::span<const float> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("Linear gives every row bitwise the same result alone as among up to 64 rows") {
  CpuBackend b;
  // Sizes around the kernel's lanes (8) and tiles (4 rows, 16 outputs), and model-like ones.
  for (const auto& shape : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {16, 24}, {13, 7}, {61, 33}, {256, 768}, {768, 256}}) {
    const std::int64_t in = shape.first, out = shape.second;  // not a structured binding: the lambda captures them
    const std::int64_t n = 64;
    const auto xs = RandomValues(static_cast<std::size_t>(n * in), 1);
    const auto ws = RandomValues(static_cast<std::size_t>(out * in), 2);
    const auto bias_values = RandomValues(static_cast<std::size_t>(out), 3);
    Tensor w = engine::testing::Make(b, ws, {out, in});
    Tensor bias = engine::testing::Make(b, bias_values, {out});
    auto linear = [&](const std::vector<float>& x_values, std::int64_t rows) {
      Tensor x = engine::testing::Make(b, x_values, {rows, in});
      Tensor y = engine::testing::Zeros(b, {rows, out});
      REQUIRE(b.Linear(y, x, w, bias).ok());
      return engine::testing::Values(b, y);
    };
    INFO("in " << in << ", out " << out);
    // Every batch size from 1 to n, each row compared with the row computed alone.
    std::vector<std::vector<float>> alone;
    for (std::int64_t i = 0; i < n; ++i) {
      alone.push_back(linear(std::vector<float>(xs.begin() + i * in, xs.begin() + (i + 1) * in), 1));
    }
    for (std::int64_t rows : {2, 3, 4, 5, 7, 8, 17, 31, 32, 64}) {
      // Rows [n - rows, n): so row i sits at a different offset than in other batch sizes.
      const std::int64_t first = n - rows;
      const std::vector<float> got = linear(std::vector<float>(xs.begin() + first * in, xs.end()), rows);
      for (std::int64_t r = 0; r < rows; ++r) {
        INFO("batch of " << rows << ", row " << r);
        CHECK(BitwiseEqual(std::span<const float>(got).subspan(static_cast<std::size_t>(r * out),
                                                               static_cast<std::size_t>(out)),
                           alone[static_cast<std::size_t>(first + r)]));
      }
    }
  }
}

TEST_CASE("A sequence's decode logits are bitwise the same alone and in a batch with other sequences") {
  testing::LoadedFixture f(testing::DemoModel());
  auto cache = f.NewCache(64, 16);
  const std::int64_t vocab = f.model().config().vocab_size;
  // Two sequences, prefilled in one step, then one decode step each: alone, and together.
  const auto p0 = testing::Prompt(21, vocab, 1), p1 = testing::Prompt(9, vocab, 2);
  KvBlockTable t0, t1;
  REQUIRE(cache->Reserve(t0, 22).ok());
  REQUIRE(cache->Reserve(t1, 10).ok());
  auto step = [&](std::vector<std::pair<int, std::vector<std::int32_t>>> parts,
                  std::vector<std::int32_t> starts) -> Logits {
    ForwardBatch batch;
    batch.attention.block_size = 16;
    for (std::size_t s = 0; s < parts.size(); ++s) {
      batch.attention.block_tables.push_back(parts[s].first == 0 ? t0.blocks : t1.blocks);
      for (std::size_t i = 0; i < parts[s].second.size(); ++i) {
        batch.token_ids.push_back(parts[s].second[i]);
        batch.attention.token_seq.push_back(static_cast<std::int32_t>(s));
        batch.attention.positions.push_back(starts[s] + static_cast<std::int32_t>(i));
      }
      batch.logit_rows.push_back(static_cast<std::int32_t>(batch.token_ids.size() - 1));
    }
    auto logits = f.model().Forward(batch, *cache);
    REQUIRE(logits.ok());
    return std::move(*logits);
  };
  // Prefill both together, then decode one token each: alone vs together.
  const Logits prefill = step({{0, p0}, {1, p1}}, {0, 0});
  const Logits alone0 = step({{0, {7}}}, {21});
  const Logits alone1 = step({{1, {9}}}, {9});
  const Logits together = step({{0, {7}}, {1, {9}}}, {21, 9});
  CHECK(BitwiseEqual(together.row(0), alone0.row(0)));
  CHECK(BitwiseEqual(together.row(1), alone1.row(0)));
  // And the prompt's last logits equal those of the prompt prefilled alone (in a fresh cache).
  auto cache2 = f.NewCache(64, 16);
  KvBlockTable u0;
  REQUIRE(cache2->Reserve(u0, 21).ok());
  ForwardBatch solo;
  solo.attention.block_size = 16;
  solo.attention.block_tables = {u0.blocks};
  for (std::int32_t i = 0; i < 21; ++i) {
    solo.token_ids.push_back(p0[static_cast<std::size_t>(i)]);
    solo.attention.token_seq.push_back(0);
    solo.attention.positions.push_back(i);
  }
  solo.logit_rows = {20};
  auto solo_logits = f.model().Forward(solo, *cache2);
  REQUIRE(solo_logits.ok());
  CHECK(BitwiseEqual(solo_logits->row(0), prefill.row(0)));
  cache->Release(t0);
  cache->Release(t1);
  cache2->Release(u0);
}
