// The scheduler on a GPU in batch-invariant mode (--batch-invariant, gemm.h):
// batching must not change a greedy request's tokens,
// and a 32k-token context runs without inf or NaN with attention that agrees
// with the CPU reference. Tagged [gpu]: without a GPU, or in a build without
// CUDA, every case reports "skipped" with the reason.
#include <catch2/catch.hpp>

#include <cmath>
#include <thread>

#include "engine/backends/factory/backend_factory.h"
#include "engine/model/llama_model.h"
#include "scheduler_test_support.h"
#include "skip.h"
#include "support/backend_test_util.h"

using namespace engine;

namespace {

std::unique_ptr<Backend> CudaOrSkip(const char* dtype) {
  auto b = CreateBackend("cuda:0", dtype, "", /*batch_invariant=*/true);
  if (!b.ok()) cluster::testing::SkipTest(std::string("cuda ") + dtype + ": " + b.status().message());
  return std::move(*b);
}

// 32 greedy requests of different lengths, alone one after another and then
// all at once: each must get the same tokens both ways.
void CheckBatchInvariance(const std::filesystem::path& model_dir) {
  testing::LoadedFixture f(model_dir, CudaOrSkip("float16"));
  const std::int64_t vocab = f.model().config().vocab_size;
  auto cache = f.NewCache(256, 16);
  SchedulerOptions options;
  options.max_batch_tokens = 64;  // prefill chunks mixed with decodes
  auto scheduler = Scheduler::Create(f.model(), *cache, options, f.loaded.eos_token_ids, nullptr);
  REQUIRE(scheduler.ok());
  std::vector<std::vector<std::int32_t>> prompts;
  for (std::uint32_t i = 0; i < 32; ++i) prompts.push_back(testing::Prompt(3 + (i * 7) % 41, vocab, i));
  auto params = [](std::size_t i) { return testing::Greedy(8 + static_cast<std::int64_t>(i * 5) % 17); };

  std::vector<std::vector<std::int32_t>> alone;
  for (std::size_t i = 0; i < 32; ++i) {
    testing::Collector c;
    auto id = (*scheduler)->Submit(testing::Request(prompts[i], params(i)), c.Callback());
    REQUIRE(id.ok());
    c.WaitFinished(1);
    alone.push_back(c.Get(*id).tokens);
  }
  testing::Collector together;
  std::vector<SequenceId> ids;
  for (std::size_t i = 0; i < 32; ++i) {
    auto id = (*scheduler)->Submit(testing::Request(prompts[i], params(i)), together.Callback());
    REQUIRE(id.ok());
    ids.push_back(*id);
  }
  together.WaitFinished(32);
  int differing = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    INFO("request " << i);
    if (together.Get(ids[i]).tokens != alone[i]) ++differing;
    CHECK(together.Get(ids[i]).tokens == alone[i]);
  }
  std::printf("%s on %s: %d of 32 batched requests differ from alone\n", model_dir.filename().c_str(),
              f.backend.Describe().c_str(), differing);
}

// Four sequences prefilled one by one, then decoded together for `steps`
// steps and two of them for 8 more, once on a backend that records decode
// steps (CUDA graphs) and once op by op (--eager): every step's logits must
// be bitwise the same, and the recorded run must have replayed its decodes.
// In the default mode the contexts stay at or below 128 positions, where
// attention never splits a key range (whose planning the replay's padded
// block tables change); --batch-invariant never splits, so there they grow
// past it.
void CheckRecordedSteps(bool batch_invariant, std::int64_t steps) {
  const auto open = [&](bool record) {
    auto b = CreateBackend("cuda:0", "float16", "", batch_invariant, record);
    if (!b.ok()) cluster::testing::SkipTest("cuda float16: " + b.status().message());
    return std::move(*b);
  };
  testing::LoadedFixture recorded(testing::FixtureModel("llama-gqa-llama3rope"), open(true));
  testing::LoadedFixture eager(testing::FixtureModel("llama-gqa-llama3rope"), open(false));
  const std::int64_t vocab = recorded.model().config().vocab_size;
  const int bs = 16;
  struct Run {
    testing::LoadedFixture& f;
    std::unique_ptr<KvCache> cache;
    std::vector<KvBlockTable> tables;
  };
  std::vector<Run> runs;
  for (testing::LoadedFixture* f : {&recorded, &eager}) {
    Run r{*f, f->NewCache(256, bs), std::vector<KvBlockTable>(4)};
    for (KvBlockTable& t : r.tables) REQUIRE(r.cache->Reserve(t, 40 + steps + 8).ok());
    runs.push_back(std::move(r));
  }
  std::vector<std::vector<std::int32_t>> tokens;  // per sequence, prompt and generated
  for (std::uint32_t s = 0; s < 4; ++s) tokens.push_back(testing::Prompt(5 + 11 * s, vocab, s));
  // One step over `seqs`: each sequence's tokens from `start[s]`; every run's
  // logits must equal the first's; the greedy tokens extend the sequences.
  const auto step = [&](const std::vector<std::size_t>& seqs, bool prefill) {
    std::vector<Logits> results;
    for (Run& r : runs) {
      ForwardBatch b;
      b.attention.block_size = bs;
      for (std::size_t k = 0; k < seqs.size(); ++k) {
        const std::vector<std::int32_t>& t = tokens[seqs[k]];
        const std::size_t first = prefill ? 0 : t.size() - 1;
        for (std::size_t i = first; i < t.size(); ++i) {
          b.token_ids.push_back(t[i]);
          b.attention.positions.push_back(static_cast<std::int32_t>(i));
          b.attention.token_seq.push_back(static_cast<std::int32_t>(k));
        }
        b.attention.block_tables.push_back(r.tables[seqs[k]].blocks);
        b.logit_rows.push_back(static_cast<std::int32_t>(b.token_ids.size() - 1));
      }
      auto logits = r.f.model().Forward(b, *r.cache);
      INFO(logits.status().ToString());
      REQUIRE(logits.ok());
      results.push_back(std::move(*logits));
    }
    CHECK(results[0].argmax == results[1].argmax);
    CHECK(results[0].values == results[1].values);  // bitwise: the same kernels on the same inputs
    for (std::size_t k = 0; k < seqs.size(); ++k) tokens[seqs[k]].push_back(results[0].argmax[k]);
  };
  for (std::size_t s = 0; s < 4; ++s) step({s}, true);
  for (std::int64_t i = 0; i < steps; ++i) step({0, 1, 2, 3}, false);
  for (std::int64_t i = 0; i < 8; ++i) step({3, 1}, false);
  const auto replayed = [](testing::LoadedFixture& f) {
    return dynamic_cast<LlamaModel&>(f.model()).replayed_steps();
  };
  CHECK(replayed(recorded) == steps + 8);
  CHECK(replayed(eager) == 0);
}

}  // namespace

TEST_CASE("On the GPU, decode steps replayed from recorded CUDA graphs give bitwise the logits of eager steps",
          "[gpu]") {
  CheckRecordedSteps(/*batch_invariant=*/false, 70);  // contexts up to 120
}

TEST_CASE("With --batch-invariant, decode steps replayed from recorded CUDA graphs give bitwise the logits of eager steps",
          "[gpu]") {
  CheckRecordedSteps(/*batch_invariant=*/true, 200);
}

TEST_CASE("On the GPU with --batch-invariant, 32 concurrent greedy requests get the tokens each gets alone (demo model)", "[gpu]") {
  CheckBatchInvariance(testing::DemoModel());
}

TEST_CASE("On the GPU with --batch-invariant, 32 concurrent greedy requests get the tokens each gets alone (HF fixture)", "[gpu]") {
  CheckBatchInvariance(testing::FixtureModel("llama-gqa-llama3rope"));
}

TEST_CASE("On the GPU, a 32k-token prompt and 256 decoded tokens stay finite and attention matches the CPU", "[gpu]") {
  // Llama shape where attention is concerned: head_dim 128, GQA 8, llama3 rope; small elsewhere.
  auto backend = CudaOrSkip("float16");
  testing::TempDir dir;
  testing::TinyModelOptions o;
  o.vocab_size = 1024;
  o.hidden_size = 1024;
  o.num_layers = 2;
  o.num_heads = 8;
  o.num_kv_heads = 1;
  o.intermediate_size = 2048;
  o.llama3_rope = true;
  o.rope_theta = 500000.0;
  o.max_position_embeddings = 40000;
  REQUIRE(testing::WriteTinyModel(dir.path(), o).ok());
  LocalComm comm;
  StepLimits limits;
  limits.max_tokens = 512;
  limits.max_seqs = 1;
  limits.max_logit_rows = 1;
  limits.max_blocks_per_seq = 40000 / 16 + 1;
  auto loaded = LoadModel(dir.path(), *backend, comm, limits);
  REQUIRE(loaded.ok());
  auto* model = dynamic_cast<LlamaModel*>(loaded->model.get());
  REQUIRE(model != nullptr);
  const std::int64_t prompt_len = 32768, decode = 256, bs = 16;
  auto cache = KvCache::Allocate(*backend, model->CacheShape((prompt_len + decode) / bs + 1, bs));
  REQUIRE(cache.ok());
  KvBlockTable table;
  REQUIRE(cache->Reserve(table, prompt_len + decode).ok());

  // Every intermediate of every step must be finite; keep the last step's layer-0 q and attention output.
  std::vector<float> last_q, last_attn;
  bool all_finite = true;
  std::string first_bad;
  model->SetObserver([&](std::string_view name, const Tensor& value) {
    const std::vector<float> v = testing::Values(*backend, value);
    for (float x : v) {
      if (!std::isfinite(x)) {
        if (all_finite) first_bad = std::string(name);
        all_finite = false;
        break;
      }
    }
    if (name == "layers.0.q_rope") last_q = v;
    if (name == "layers.0.attn") last_attn = v;
  });
  auto step = [&](const std::vector<std::int32_t>& ids, std::int64_t start) -> std::int32_t {
    ForwardBatch batch = OneSequenceStep(ids, start, table.blocks, static_cast<int>(bs));
    batch.logit_rows = {static_cast<std::int32_t>(ids.size() - 1)};
    batch.full_logits = {false};
    auto logits = model->Forward(batch, *cache);
    REQUIRE(logits.ok());
    return logits->argmax[0];
  };
  std::int32_t next = 0;
  for (std::int64_t start = 0; start < prompt_len; start += 512) {
    std::vector<std::int32_t> chunk;
    for (std::int64_t i = start; i < start + 512; ++i) chunk.push_back(static_cast<std::int32_t>((i * 7919) % 1024));
    next = step(chunk, start);
  }
  for (std::int64_t t = 0; t < decode; ++t) next = step({next}, prompt_len + t);
  INFO("first non-finite intermediate: " << first_bad);
  CHECK(all_finite);

  // The last decode token's layer-0 attention, recomputed on the CPU from the GPU's cache.
  CpuBackend cpu;
  const KvCacheShape shape = cache->shape();
  const Shape pool = {shape.num_blocks, shape.block_size, shape.num_kv_heads, shape.head_dim};
  Tensor k = testing::Make(cpu, testing::Values(*backend, cache->keys(0)), pool);
  Tensor v = testing::Make(cpu, testing::Values(*backend, cache->values(0)), pool);
  Tensor q = testing::Make(cpu, last_q, {1, o.num_heads, shape.head_dim});
  AttentionBatch one;
  one.block_size = static_cast<int>(bs);
  one.block_tables = {table.blocks};
  one.token_seq = {0};
  one.positions = {static_cast<std::int32_t>(prompt_len + decode - 1)};
  StepBuffers buffers = testing::TestStepBuffers(cpu);
  StepTensors cpu_step = testing::UploadStep(buffers, one, shape.num_blocks);
  Tensor out = testing::Zeros(cpu, {1, o.num_heads, shape.head_dim}), none;
  REQUIRE(cpu.PagedAttention(out, q, k, v, cpu_step, 1.0f / std::sqrt(128.0f), none).ok());
  const std::vector<float> want = testing::Values(cpu, out);
  REQUIRE(want.size() == last_attn.size());
  double max_diff = 0, max_ref = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(last_attn[i]) - want[i]));
    max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
  }
  std::printf("32k context: attention at position %lld, relative error %.3g against the CPU\n",
              static_cast<long long>(prompt_len + decode - 1), max_diff / max_ref);
  CHECK(max_diff / max_ref <= 4e-3);
  cache->Release(table);
}
