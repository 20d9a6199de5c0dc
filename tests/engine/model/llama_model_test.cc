// The Llama/Qwen2 model against the dense double-precision reference of
// tiny_model.cc, over every variant the config can describe, and the paged
// KV cache's promise: chunked prefill, decode and mixed batches give the same
// logits as one dense pass.
#include "engine/model/llama_model.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/model/load_model.h"
#include "engine/model/safetensors_writer.h"
#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;

namespace {

struct Loaded {
  CpuBackend backend;
  LocalComm comm;
  LoadedModel model;
  std::unique_ptr<KvCache> cache;
};

std::unique_ptr<Loaded> Load(const std::filesystem::path& dir, int block_size = 4, int num_blocks = 32) {
  auto l = std::make_unique<Loaded>();
  auto model = LoadModel(dir, l->backend, l->comm);
  INFO(model.status().ToString());
  REQUIRE(model.ok());
  l->model = std::move(*model);
  auto cache = KvCache::Allocate(l->backend, l->model.model->CacheShape(num_blocks, block_size));
  REQUIRE(cache.ok());
  l->cache = std::make_unique<KvCache>(std::move(*cache));
  return l;
}

// Runs `ids` as one sequence in chunks of `chunk` tokens; returns the logits of every position.
std::vector<std::vector<float>> RunSequence(Loaded& l, const std::vector<std::int32_t>& ids, std::size_t chunk) {
  KvBlockTable table;
  REQUIRE(l.cache->Reserve(table, static_cast<std::int64_t>(ids.size())).ok());
  std::vector<std::vector<float>> out;
  for (std::size_t begin = 0; begin < ids.size(); begin += chunk) {
    const std::size_t end = std::min(ids.size(), begin + chunk);
    ForwardBatch batch = OneSequenceStep(std::span(ids).subspan(begin, end - begin), static_cast<std::int64_t>(begin),
                                         table.blocks, l.cache->block_size());
    batch.logit_rows = AllRows(end - begin);
    auto logits = l.model.model->Forward(batch, *l.cache);
    REQUIRE(logits.ok());
    for (std::int64_t r = 0; r < logits->rows; ++r) {
      auto row = logits->row(r);
      out.emplace_back(row.begin(), row.end());
    }
  }
  l.cache->Release(table);
  return out;
}

// max |a - b| / max |b| over one position's logits.
double RelativeError(const std::vector<float>& got, const std::vector<double>& want) {
  double max_diff = 0, max_ref = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(got[i] - want[i]));
    max_ref = std::max(max_ref, std::abs(want[i]));
  }
  return max_diff / max_ref;
}

void CheckAgainstReference(const testing::TinyModelOptions& options) {
  testing::TempDir dir;
  auto tiny = testing::WriteTinyModel(dir.path(), options);
  REQUIRE(tiny.ok());
  auto l = Load(dir.path());
  const std::vector<std::int32_t> ids = {0, 5, 17, 3, 3, 29, 11, 38, 2, 7};
  const auto want = testing::ReferenceLogits(*tiny, ids);
  const auto got = RunSequence(*l, ids, ids.size());
  REQUIRE(got.size() == want.size());
  for (std::size_t p = 0; p < want.size(); ++p) {
    INFO("position " << p);
    CHECK(RelativeError(got[p], want[p]) < 1e-5);
  }
}

}  // namespace

TEST_CASE("Llama with grouped-query attention matches the dense reference at every position") {
  testing::TinyModelOptions o;
  CheckAgainstReference(o);
}

TEST_CASE("Llama 3 rope scaling matches the reference (config in transformers 4 and 5 spellings)") {
  testing::TinyModelOptions o;
  o.llama3_rope = true;
  o.rope_theta = 500000.0;
  CheckAgainstReference(o);
  o.transformers5_config = true;
  CheckAgainstReference(o);
}

TEST_CASE("Qwen2 (q/k/v biases) stored in BF16 matches the reference") {
  testing::TinyModelOptions o;
  o.qwen2 = true;
  o.dtype = DType::kBF16;
  o.num_kv_heads = 1;
  CheckAgainstReference(o);
}

TEST_CASE("Tied embeddings stored in F16, and a sharded checkpoint, match the reference") {
  testing::TinyModelOptions tied;
  tied.tie_word_embeddings = true;
  tied.dtype = DType::kF16;
  CheckAgainstReference(tied);

  testing::TinyModelOptions sharded;
  sharded.shards = 3;
  sharded.num_kv_heads = 4;  // plain multi-head attention
  CheckAgainstReference(sharded);
}

TEST_CASE("Prefill in chunks, or token by token (decode), gives the same logits as one pass") {
  testing::TempDir dir;
  testing::TinyModelOptions o;
  REQUIRE(testing::WriteTinyModel(dir.path(), o).ok());
  auto l = Load(dir.path(), /*block_size=*/4);
  const std::vector<std::int32_t> ids = {0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 12};
  const auto whole = RunSequence(*l, ids, ids.size());
  for (std::size_t chunk : {1u, 3u, 4u}) {
    const auto chunked = RunSequence(*l, ids, chunk);
    for (std::size_t p = 0; p < ids.size(); ++p) {
      INFO("chunk " << chunk << " position " << p);
      for (std::size_t v = 0; v < whole[p].size(); ++v) CHECK(chunked[p][v] == Approx(whole[p][v]).margin(1e-4));
    }
  }
}

TEST_CASE("One step can mix a prefill chunk of one sequence and a decode token of another") {
  testing::TempDir dir;
  testing::TinyModelOptions o;
  REQUIRE(testing::WriteTinyModel(dir.path(), o).ok());
  auto l = Load(dir.path(), /*block_size=*/2);
  const std::vector<std::int32_t> a = {0, 4, 8, 15, 16};
  const std::vector<std::int32_t> b = {0, 23, 30, 7};
  const auto a_alone = RunSequence(*l, a, a.size());
  const auto b_alone = RunSequence(*l, b, b.size());

  // Step 1: B's first three tokens alone. Step 2: all of A with B's last token.
  KvBlockTable ta, tb;
  REQUIRE(l->cache->Reserve(tb, 1).ok());  // interleave the block ids of A and B
  REQUIRE(l->cache->Reserve(ta, 2).ok());
  REQUIRE(l->cache->Reserve(tb, 4).ok());
  REQUIRE(l->cache->Reserve(ta, 5).ok());
  ForwardBatch first;
  first.token_ids = {b[0], b[1], b[2]};
  first.attention = {2, {0, 0, 0}, {0, 1, 2}, {tb.blocks}};
  REQUIRE(l->model.model->Forward(first, *l->cache).ok());

  ForwardBatch mixed;
  mixed.token_ids = {a[0], a[1], a[2], a[3], a[4], b[3]};
  mixed.attention = {2, {0, 0, 0, 0, 0, 1}, {0, 1, 2, 3, 4, 3}, {ta.blocks, tb.blocks}};
  mixed.logit_rows = {4, 5, 1};
  auto logits = l->model.model->Forward(mixed, *l->cache);
  REQUIRE(logits.ok());
  REQUIRE(logits->rows == 3);
  for (std::size_t v = 0; v < a_alone[4].size(); ++v) {
    CHECK(logits->row(0)[v] == Approx(a_alone[4][v]).margin(1e-4));
    CHECK(logits->row(1)[v] == Approx(b_alone[3][v]).margin(1e-4));
    CHECK(logits->row(2)[v] == Approx(a_alone[1][v]).margin(1e-4));
  }
}

TEST_CASE("Forward refuses a batch whose logit rows or token ids are out of range") {
  testing::TempDir dir;
  REQUIRE(testing::WriteTinyModel(dir.path(), {}).ok());
  auto l = Load(dir.path(), 4);
  KvBlockTable t;
  REQUIRE(l->cache->Reserve(t, 2).ok());
  ForwardBatch batch;
  batch.token_ids = {1, 2};
  batch.attention = {4, {0, 0}, {0, 1}, {t.blocks}};
  batch.logit_rows = {2};
  CHECK(l->model.model->Forward(batch, *l->cache).status().message() ==
        "step: logit row 2 is outside the 2 tokens of the batch");
  batch.logit_rows = {1};
  batch.token_ids = {1, 40};
  CHECK(l->model.model->Forward(batch, *l->cache).status().message() ==
        "forward: token id 40 at index 1 is outside the vocabulary [0, 40)");
}

TEST_CASE("Loading a checkpoint with a transposed or missing weight names the file and tensor") {
  testing::TempDir dir;
  testing::TinyModelOptions o;
  o.num_layers = 1;
  auto tiny = testing::WriteTinyModel(dir.path(), o);
  REQUIRE(tiny.ok());
  // Rewrite the checkpoint with up_proj stored transposed ([16, 24] instead of [24, 16]).
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, values] : tiny->weights) {
    Shape shape;
    if (name == "model.embed_tokens.weight" || name == "lm_head.weight") shape = {40, 16};
    else if (name.find("layernorm") != std::string::npos || name == "model.norm.weight") shape = {16};
    else if (name.find("q_proj") != std::string::npos || name.find("o_proj") != std::string::npos) shape = {16, 16};
    else if (name.find("k_proj") != std::string::npos || name.find("v_proj") != std::string::npos) shape = {8, 16};
    else if (name.find("down_proj") != std::string::npos || name.find("up_proj") != std::string::npos) shape = {16, 24};
    else shape = {24, 16};
    if (name == "lm_head.weight") continue;  // and drop the LM head
    entries.push_back({name, DType::kF32, shape, values});
  }
  REQUIRE(WriteSafetensors(dir.path() / "model.safetensors", entries).ok());
  CpuBackend backend;
  LocalComm comm;
  auto model = LoadModel(dir.path(), backend, comm);
  REQUIRE_FALSE(model.ok());
  CHECK(model.status().message() == (dir.path() / "model.safetensors").string() +
                                        ": tensor model.layers.0.mlp.up_proj.weight: expected shape [24, 16], found "
                                        "[16, 24]");
}
