// Paged attention on the CPU backend: hand-checked softmax weights, grouped
// query heads, and a mixed batch (a prefill chunk and a decode token of two
// sequences with scattered blocks) against dense attention computed here.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/backends/cpu/cpu_backend.h"
#include "support/backend_test_util.h"

using namespace engine;
using engine::testing::Make;
using engine::testing::Values;
using engine::testing::Zeros;

namespace {

// Writes keys and values of the batch's tokens into their slots as QkvRope
// would (position 0 makes RoPE the identity only for position 0, so the
// slots are written directly here): cache[slot(i)] = k[i], v[i].
void WriteKv(CpuBackend& b, const AttentionBatch& batch, const std::vector<float>& k, const std::vector<float>& v,
             Tensor& k_cache, Tensor& v_cache) {
  const std::int64_t row = k_cache.dim(2) * k_cache.dim(3);
  std::vector<float> keys = Values(b, k_cache), values = Values(b, v_cache);
  const std::vector<std::int64_t> slots = KvSlots(batch);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    for (std::int64_t e = 0; e < row; ++e) {
      keys[static_cast<std::size_t>(slots[i] * row + e)] = k[i * static_cast<std::size_t>(row) + static_cast<std::size_t>(e)];
      values[static_cast<std::size_t>(slots[i] * row + e)] = v[i * static_cast<std::size_t>(row) + static_cast<std::size_t>(e)];
    }
  }
  k_cache = Make(b, keys, k_cache.shape());
  v_cache = Make(b, values, v_cache.shape());
}

// PagedAttention into a new output of q's shape.
std::vector<float> Attend(CpuBackend& b, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                          const AttentionBatch& batch, float scale) {
  StepBuffers buffers = engine::testing::TestStepBuffers(b);
  StepTensors step = engine::testing::UploadStep(buffers, batch, k_cache.dim(0));
  Tensor out = Zeros(b, q.shape());
  Tensor scratch;
  const Status s = b.PagedAttention(out, q, k_cache, v_cache, step, scale, scratch);
  INFO(s.ToString());
  REQUIRE(s.ok());
  return Values(b, out);
}

}  // namespace

TEST_CASE("A token attends to its own and earlier positions with softmax weights") {
  CpuBackend b;
  // One sequence, one head, head_dim 2, block size 2, block table [1].
  // Keys k0 = [1, 0], k1 = [0, 1]; values v0 = [4, 0], v1 = [0, 8].
  // Token at position 1 with q = [ln 3, 0] and scale 1: scores [ln 3, 0],
  // weights [3/4, 1/4], out = [3, 2]. Token at position 0 sees only v0.
  Tensor k_cache = Zeros(b, {2, 2, 1, 2});
  Tensor v_cache = Zeros(b, {2, 2, 1, 2});
  AttentionBatch batch;
  batch.block_size = 2;
  batch.block_tables = {{1}};
  batch.token_seq = {0, 0};
  batch.positions = {0, 1};
  WriteKv(b, batch, {1, 0, 0, 1}, {4, 0, 0, 8}, k_cache, v_cache);

  const float ln3 = std::log(3.0f);
  Tensor q = Make(b, {5, 5, ln3, 0}, {2, 1, 2});
  auto values = Attend(b, q, k_cache, v_cache, batch, 1.0f);
  CHECK(values[0] == Approx(4));
  CHECK(values[1] == Approx(0));
  CHECK(values[2] == Approx(3));
  CHECK(values[3] == Approx(2));
}

TEST_CASE("With grouped-query attention, query heads of one group read the same kv head") {
  CpuBackend b;
  // 4 query heads, 2 kv heads: heads 0,1 read kv head 0 and heads 2,3 read kv head 1.
  // A single position, so every head's output is that position's value of its kv head.
  Tensor k_cache = Zeros(b, {1, 4, 2, 1});
  Tensor v_cache = Zeros(b, {1, 4, 2, 1});
  AttentionBatch batch;
  batch.block_size = 4;
  batch.block_tables = {{0}};
  batch.token_seq = {0};
  batch.positions = {0};
  WriteKv(b, batch, {1, 1}, {10, 20}, k_cache, v_cache);
  Tensor q = Make(b, {1, 2, 3, 4}, {1, 4, 1});
  CHECK(Attend(b, q, k_cache, v_cache, batch, 1.0f) == std::vector<float>{10, 10, 20, 20});
}

TEST_CASE("A mixed batch of a prefill chunk and a decode token matches dense causal attention per sequence") {
  // Sequence A: 3 new tokens (positions 0..2) in blocks [3, 0].
  // Sequence B: 2 tokens cached by an earlier step, now decoding position 2, blocks [2, 1].
  // Block size 2, 2 query heads, 1 kv head, head_dim 3.
  CpuBackend b;
  const int hd = 3;
  auto value = [](int seq, int pos, int e, int salt) {
    return std::sin(0.7f * static_cast<float>(seq * 31 + pos * 7 + e * 3 + salt));
  };
  Tensor k_cache = Zeros(b, {4, 2, 1, hd});
  Tensor v_cache = Zeros(b, {4, 2, 1, hd});

  // Earlier step: B's positions 0 and 1.
  AttentionBatch earlier;
  earlier.block_size = 2;
  earlier.block_tables = {{2, 1}};
  earlier.token_seq = {0, 0};
  earlier.positions = {0, 1};
  std::vector<float> kb, vb;
  for (int p = 0; p < 2; ++p) {
    for (int e = 0; e < hd; ++e) {
      kb.push_back(value(1, p, e, 1));
      vb.push_back(value(1, p, e, 2));
    }
  }
  WriteKv(b, earlier, kb, vb, k_cache, v_cache);

  // This step: A0, A1, A2, B2.
  AttentionBatch batch;
  batch.block_size = 2;
  batch.block_tables = {{3, 0}, {2, 1}};
  batch.token_seq = {0, 0, 0, 1};
  batch.positions = {0, 1, 2, 2};
  std::vector<float> k, v, q;
  for (int i = 0; i < 4; ++i) {
    const int seq = batch.token_seq[static_cast<std::size_t>(i)], pos = batch.positions[static_cast<std::size_t>(i)];
    for (int e = 0; e < hd; ++e) {
      k.push_back(value(seq, pos, e, 1));
      v.push_back(value(seq, pos, e, 2));
    }
    for (int h = 0; h < 2; ++h) {
      for (int e = 0; e < hd; ++e) q.push_back(value(seq, pos, e, 10 + h));
    }
  }
  WriteKv(b, batch, k, v, k_cache, v_cache);
  const float scale = 0.5f;
  std::vector<float> got = Attend(b, Make(b, q, {4, 2, hd}), k_cache, v_cache, batch, scale);

  // Dense reference: keys/values of (seq, pos) are value(seq, pos, e, 1/2).
  for (int i = 0; i < 4; ++i) {
    const int seq = batch.token_seq[static_cast<std::size_t>(i)], pos = batch.positions[static_cast<std::size_t>(i)];
    for (int h = 0; h < 2; ++h) {
      std::vector<double> w;
      double total = 0;
      for (int j = 0; j <= pos; ++j) {
        double dot = 0;
        for (int e = 0; e < hd; ++e) dot += value(seq, pos, e, 10 + h) * value(seq, j, e, 1);
        w.push_back(std::exp(scale * dot));
        total += w.back();
      }
      for (int e = 0; e < hd; ++e) {
        double want = 0;
        for (int j = 0; j <= pos; ++j) want += w[static_cast<std::size_t>(j)] / total * value(seq, j, e, 2);
        INFO("token " << i << " head " << h << " element " << e);
        CHECK(got[static_cast<std::size_t>((i * 2 + h) * hd + e)] == Approx(want).margin(1e-5));
      }
    }
  }
}

TEST_CASE("Paged attention refuses a cache whose block size differs from the step's") {
  CpuBackend b;
  Tensor cache = Zeros(b, {2, 4, 1, 2});
  Tensor q = Zeros(b, {1, 1, 2});
  AttentionBatch batch;
  batch.block_size = 2;
  batch.block_tables = {{0}};
  batch.token_seq = {0};
  batch.positions = {0};
  StepBuffers buffers = engine::testing::TestStepBuffers(b);
  StepTensors step = engine::testing::UploadStep(buffers, batch, 2);
  Tensor out = Zeros(b, {1, 1, 2}), scratch;
  CHECK(b.PagedAttention(out, q, cache, cache, step, 1.0f, scratch).message() ==
        "paged_attention: the cache has blocks of 4 slots but the step says block_size 2");
}
