// ContinuousBatch driven one step at a time: the step policy (decodes first,
// chunked prefill, FCFS admission, preemption by recompute), the prefix
// cache, cancellation and block accounting, without threads.
#include "engine/scheduler/continuous_batch.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <deque>
#include <utility>

#include "scheduler_test_support.h"

using namespace engine;
using testing::Greedy;
using testing::Request;

namespace {

struct Core {
  testing::TinyFixture tiny;
  std::unique_ptr<KvCache> cache;
  testing::Collector collector;
  std::unique_ptr<ContinuousBatch> batch;
  SequenceId next_id = 1;

  Core(SchedulerOptions options, std::int64_t num_blocks, std::int64_t block_size = 4) {
    cache = tiny.fixture->NewCache(num_blocks, block_size);
    batch = std::make_unique<ContinuousBatch>(tiny.fixture->model(), *cache, options,
                                              tiny.fixture->loaded.eos_token_ids, nullptr);
  }
  ~Core() {
    batch.reset();
    CHECK(cache->num_free_blocks() == cache->shape().num_blocks);  // every block back in the cache
  }

  SequenceId Add(std::vector<std::int32_t> prompt, SamplingParams params) {
    const SequenceId id = next_id++;
    batch->Add(std::make_unique<Sequence>(id, Request(std::move(prompt), std::move(params)), collector.Callback(),
                                          /*context_limit=*/64, Sequence::Clock::now()));
    return id;
  }
  void RunToEnd() {
    for (int i = 0; i < 10000 && batch->has_work(); ++i) batch->Step();
    REQUIRE_FALSE(batch->has_work());
    CHECK(batch->Metrics().kv_blocks_used == 0);
  }
  std::vector<std::int32_t> Tokens(SequenceId id) { return collector.Get(id).tokens; }
};

SchedulerOptions Options(std::int64_t max_batch_tokens = 512, std::int64_t max_running = 64) {
  SchedulerOptions o;
  o.max_batch_tokens = max_batch_tokens;
  o.max_running_sequences = max_running;
  return o;
}

SamplingParams LongGreedy(std::int64_t max_tokens) {
  SamplingParams p = Greedy(max_tokens);
  p.ignore_eos = true;
  return p;
}

const ScheduledChunk* ChunkOf(const StepPlan& plan, SequenceId id) {
  for (const ScheduledChunk& c : plan.chunks) {
    if (c.seq->id() == id) return &c;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("A long prompt is prefilled in chunks while a running decode advances by one token every step") {
  // Given a budget of 8 tokens per step and a sequence that is decoding,
  // a 40-token prompt must take the 7 tokens left each step, never the decode's.
  Core core(Options(/*max_batch_tokens=*/8), /*num_blocks=*/64);
  const SequenceId a = core.Add({3, 4, 5}, LongGreedy(30));
  core.batch->Step();  // prefill of a, first token
  REQUIRE(core.Tokens(a).size() == 1);

  const SequenceId b = core.Add(testing::Prompt(40, 40, 7), LongGreedy(3));
  int prefill_steps = 0;
  while (core.Tokens(b).empty()) {
    const std::size_t before = core.Tokens(a).size();
    const StepPlan plan = core.batch->Schedule();
    REQUIRE(plan.chunks.size() == 2);
    CHECK(plan.chunks[0].seq->id() == a);  // decodes come first
    CHECK(plan.chunks[0].is_decode);
    CHECK(plan.chunks[0].count == 1);
    CHECK(plan.chunks[1].seq->id() == b);
    CHECK(plan.chunks[1].count <= 7);
    CHECK(plan.num_tokens() <= 8);
    core.batch->Run(plan);
    core.batch->DeliverUpdates();
    CHECK(core.Tokens(a).size() == before + 1);
    ++prefill_steps;
  }
  CHECK(prefill_steps == 6);  // ceil(40 / 7)
  core.RunToEnd();
  // Chunking changed nothing: both equal engine::Generate.
  CHECK(core.Tokens(a) == core.tiny.fixture->Generate({3, 4, 5}, LongGreedy(30)).generated_ids);
  CHECK(core.Tokens(b) == core.tiny.fixture->Generate(testing::Prompt(40, 40, 7), LongGreedy(3)).generated_ids);
}

TEST_CASE("Sequences join the running batch at the next step and leave it as soon as they finish") {
  Core core(Options(), 64);
  const SequenceId a = core.Add({3, 4, 5}, LongGreedy(2));
  const SequenceId b = core.Add({6, 7}, LongGreedy(5));
  core.batch->Step();
  CHECK(core.batch->num_running() == 2);
  core.batch->Step();  // a's second token: a finishes and leaves
  CHECK(core.collector.Get(a).finished_updates == 1);
  CHECK(core.batch->num_running() == 1);
  const SequenceId c = core.Add({8, 9, 10, 11}, LongGreedy(2));
  const StepPlan plan = core.batch->Schedule();
  CHECK(ChunkOf(plan, b) != nullptr);
  CHECK(ChunkOf(plan, c) != nullptr);  // joined at once
  core.batch->Run(plan);
  core.batch->DeliverUpdates();
  core.RunToEnd();
}

TEST_CASE("At most max_running_sequences run, and the rest wait in order") {
  Core core(Options(512, /*max_running=*/2), 64);
  const SequenceId a = core.Add({3, 4}, LongGreedy(3));
  const SequenceId b = core.Add({5, 6}, LongGreedy(5));
  const SequenceId c = core.Add({7, 8}, LongGreedy(2));
  core.batch->Step();
  CHECK(core.batch->num_running() == 2);
  CHECK(core.batch->num_waiting() == 1);
  CHECK(core.Tokens(c).empty());
  core.RunToEnd();
  CHECK(core.Tokens(a).size() == 3);
  CHECK(core.Tokens(b).size() == 5);
  CHECK(core.Tokens(c).size() == 2);
}

TEST_CASE("When blocks run out the youngest running sequence is preempted and recomputed with unchanged output") {
  // 12 blocks of 4 = 48 token slots; three sequences of 8 + 20 tokens need 7 blocks each.
  Core core(Options(), /*num_blocks=*/12);
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<SequenceId> ids;
  for (std::uint32_t i = 0; i < 3; ++i) {
    prompts.push_back(testing::Prompt(8, 40, i));
    ids.push_back(core.Add(prompts.back(), LongGreedy(20)));
  }
  std::int64_t max_used = 0;
  while (core.batch->has_work()) {
    core.batch->Step();
    const SchedulerMetrics m = core.batch->Metrics();
    max_used = std::max(max_used, m.kv_blocks_used);
    CHECK(m.kv_blocks_used + m.kv_blocks_cached + m.kv_blocks_free == 12);
  }
  const SchedulerMetrics m = core.batch->Metrics();
  CHECK(m.preemptions > 0);
  CHECK(max_used <= 12);
  CHECK(m.kv_blocks_used == 0);
  CHECK(m.requests_finished_length == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("sequence " << i);
    CHECK(core.Tokens(ids[i]) == core.tiny.fixture->Generate(prompts[i], LongGreedy(20)).generated_ids);
  }
}

TEST_CASE("Preemption keeps a sampled sequence's PRNG, so seeded sampling gives the same tokens") {
  Core core(Options(), /*num_blocks=*/12);
  SamplingParams p = LongGreedy(20);
  p.temperature = 1.3;
  p.top_k = 20;
  p.seed = 99;
  std::vector<SequenceId> ids;
  for (std::uint32_t i = 0; i < 3; ++i) ids.push_back(core.Add(testing::Prompt(8, 40, 100 + i), p));
  core.RunToEnd();
  CHECK(core.batch->Metrics().preemptions > 0);
  for (std::uint32_t i = 0; i < 3; ++i) {
    CHECK(core.Tokens(ids[i]) == core.tiny.fixture->Generate(testing::Prompt(8, 40, 100 + i), p).generated_ids);
  }
}

TEST_CASE("A queued sequence waits for blocks rather than preempting a running one") {
  // 8 blocks of 4: after 14 steps a holds 5 blocks; b's 16-token prompt needs 4 of the 3 left.
  Core core(Options(), /*num_blocks=*/8);
  const SequenceId a = core.Add({3, 4, 5, 6}, LongGreedy(20));
  for (int i = 0; i < 14; ++i) core.batch->Step();  // a: 17 tokens computed, ceil(17 / 4) = 5 blocks
  const SequenceId b = core.Add(testing::Prompt(16, 40, 3), LongGreedy(2));
  core.batch->Step();  // b waits; a goes on
  CHECK(core.Tokens(b).empty());
  CHECK(core.batch->num_waiting() == 1);
  CHECK(core.batch->Metrics().preemptions == 0);
  core.RunToEnd();
  CHECK(core.Tokens(a).size() == 20);
  CHECK(core.Tokens(b).size() == 2);
}

TEST_CASE("A second prompt sharing full blocks with a finished one takes them from the prefix cache") {
  Core core(Options(), 64);
  const auto shared = testing::Prompt(13, 40, 5);  // 3 full blocks of 4 + 1
  const SequenceId a = core.Add(shared, LongGreedy(4));
  core.RunToEnd();
  const SchedulerMetrics after_a = core.batch->Metrics();
  CHECK(after_a.prefill_tokens_computed == 13);
  CHECK(after_a.prefill_tokens_cached == 0);
  CHECK(after_a.kv_blocks_cached >= 3);

  auto prompt_b = shared;
  prompt_b.push_back(9);
  prompt_b.push_back(11);  // 15 tokens: the first 12 are a's three full blocks
  const SequenceId b = core.Add(prompt_b, LongGreedy(4));
  core.RunToEnd();
  const SchedulerMetrics after_b = core.batch->Metrics();
  CHECK(after_b.prefill_tokens_cached == 12);
  CHECK(after_b.prefill_tokens_computed - after_a.prefill_tokens_computed == 3);
  CHECK(core.collector.Get(b).final.cached_prompt_tokens == 12);
  CHECK(core.collector.Get(a).final.cached_prompt_tokens == 0);
  CHECK(core.Tokens(b) == core.tiny.fixture->Generate(prompt_b, LongGreedy(4)).generated_ids);
}

TEST_CASE("An identical prompt reuses every full block but the one holding its last token") {
  // The last token's keys/values are written by the step that samples, so its
  // block is never taken from the cache: 16 tokens = 4 blocks, 3 reused.
  Core core(Options(), 64);
  const auto prompt = testing::Prompt(16, 40, 6);
  const SequenceId a = core.Add(prompt, LongGreedy(3));
  core.RunToEnd();
  const SequenceId b = core.Add(prompt, LongGreedy(3));
  core.RunToEnd();
  CHECK(core.collector.Get(b).final.cached_prompt_tokens == 12);
  CHECK(core.Tokens(b) == core.Tokens(a));
}

TEST_CASE("Sequences running together share cached prefix blocks by reference") {
  Core core(Options(), 64);
  const auto prompt = testing::Prompt(17, 40, 8);
  const SequenceId first = core.Add(prompt, LongGreedy(8));
  core.batch->Step();  // first's prompt computed: its 4 full blocks registered
  const std::int64_t used_by_first = core.batch->Metrics().kv_blocks_used;
  const SequenceId second = core.Add(prompt, LongGreedy(8));
  core.batch->Step();
  // second took first's 4 full blocks and one private block for its last token.
  CHECK(core.batch->Metrics().kv_blocks_used == used_by_first + 1);
  core.RunToEnd();
  CHECK(core.Tokens(first) == core.Tokens(second));
}

TEST_CASE("Cancel releases a sequence's blocks at once and sends its final update") {
  Core core(Options(), 64);
  const SequenceId a = core.Add(testing::Prompt(10, 40, 9), LongGreedy(30));
  const SequenceId queued = core.Add({4, 5}, LongGreedy(30));
  core.batch->Step();
  core.batch->Step();
  CHECK(core.batch->Metrics().kv_blocks_used > 0);
  CHECK(core.batch->Cancel(a, cluster::CancelledError("gone")));
  CHECK(core.batch->Cancel(queued, cluster::CancelledError("gone")));
  CHECK(core.batch->Metrics().kv_blocks_used == 0);  // at once, before any update is delivered
  CHECK_FALSE(core.batch->has_work());
  core.batch->DeliverUpdates();
  const testing::Received r = core.collector.Get(a);
  CHECK(r.finished_updates == 1);
  CHECK(r.final.status.code() == StatusCode::kCancelled);
  CHECK(r.final.completion_tokens == 2);
  CHECK(core.batch->Metrics().requests_cancelled == 2);
  CHECK_FALSE(core.batch->Cancel(a, cluster::CancelledError("twice")));  // already gone
}

TEST_CASE("A model error finishes the sequences of that step with the error and frees their blocks") {
  struct FailingModel final : LanguageModel {
    LanguageModel& inner;
    explicit FailingModel(LanguageModel& m) : inner(m) {}
    const ModelConfig& config() const override { return inner.config(); }
    KvCacheShape CacheShape(std::int64_t n, std::int64_t b) const override { return inner.CacheShape(n, b); }
    Status Prepare(const StepLimits& limits) override { return inner.Prepare(limits); }
    ModelMemory memory() const override { return inner.memory(); }
    StatusOr<Logits> Forward(const ForwardBatch&, KvCache&) override {
      return cluster::InternalError("device lost");
    }
  };
  testing::TinyFixture tiny;
  auto cache = tiny.fixture->NewCache(16, 4);
  FailingModel failing(tiny.fixture->model());
  testing::Collector collector;
  {
    ContinuousBatch batch(failing, *cache, Options(), {}, nullptr);
    batch.Add(std::make_unique<Sequence>(1, Request({3, 4, 5}, Greedy(4)), collector.Callback(), 64,
                                         Sequence::Clock::now()));
    batch.Step();
    CHECK_FALSE(batch.has_work());
    CHECK(batch.Metrics().requests_failed == 1);
    CHECK(batch.Metrics().kv_blocks_used == 0);
  }
  const testing::Received r = collector.Get(1);
  CHECK(r.final.status.code() == StatusCode::kInternal);
  CHECK(r.final.status.message() == "device lost");
  CHECK(cache->num_free_blocks() == 16);
}

namespace {

// A model whose later pipeline stages are elsewhere, as the world model of
// rank 0 (world_model.h): up to `depth` steps in flight; a step is computed
// only when collected, in submission order. A scheduler that planned a
// sequence again before its step came back would feed it a stale token and
// get other output than one step at a time.
class PipelinedModel final : public LanguageModel {
 public:
  PipelinedModel(LanguageModel& inner, int depth) : inner_(inner), depth_(depth) {}
  const ModelConfig& config() const override { return inner_.config(); }
  KvCacheShape CacheShape(std::int64_t n, std::int64_t b) const override { return inner_.CacheShape(n, b); }
  Status Prepare(const StepLimits& limits) override { return inner_.Prepare(limits); }
  ModelMemory memory() const override { return inner_.memory(); }
  StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) override { return inner_.Forward(batch, cache); }
  int pipeline_depth() const override { return depth_; }
  void Submit(const ForwardBatch& batch, KvCache& cache) override {
    REQUIRE(static_cast<int>(in_flight_.size()) < depth_);
    in_flight_.push_back({batch, &cache});
    max_in_flight = std::max(max_in_flight, static_cast<int>(in_flight_.size()));
  }
  StatusOr<Logits> Collect() override {
    REQUIRE_FALSE(in_flight_.empty());
    auto [batch, cache] = std::move(in_flight_.front());
    in_flight_.pop_front();
    return inner_.Forward(batch, *cache);
  }
  int max_in_flight = 0;

 private:
  LanguageModel& inner_;
  const int depth_;
  std::deque<std::pair<ForwardBatch, KvCache*>> in_flight_;
};

}  // namespace

TEST_CASE("With two pipeline stages, two micro-batches of different sequences are in flight at once, and every "
          "sequence gets the tokens it gets alone") {
  testing::TinyFixture tiny;
  auto cache = tiny.fixture->NewCache(64, 4);
  PipelinedModel pipelined(tiny.fixture->model(), 2);
  testing::Collector collector;
  std::vector<std::vector<std::int32_t>> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back(testing::Prompt(3 + 2 * i, 40, 5 + i));
  {
    ContinuousBatch batch(pipelined, *cache, Options(/*max_batch_tokens=*/16), tiny.fixture->loaded.eos_token_ids,
                          nullptr);
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      batch.Add(std::make_unique<Sequence>(static_cast<SequenceId>(i + 1), Request(prompts[i], LongGreedy(8)),
                                           collector.Callback(), 64, Sequence::Clock::now()));
    }
    batch.FillPipeline();
    CHECK(batch.num_in_flight() == 2);
    for (int i = 0; i < 1000 && batch.has_work(); ++i) batch.Step();
    CHECK_FALSE(batch.has_work());
    CHECK(batch.Metrics().kv_blocks_used == 0);
  }
  CHECK(pipelined.max_in_flight == 2);
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    INFO("sequence " << i + 1);
    CHECK(collector.Get(static_cast<SequenceId>(i + 1)).tokens ==
          tiny.fixture->Generate(prompts[i], LongGreedy(8)).generated_ids);
  }
  CHECK(cache->num_free_blocks() == 64);
}

TEST_CASE("A sequence cancelled while its micro-batch is in flight finishes at once, the step's result for it is "
          "dropped and the others go on") {
  testing::TinyFixture tiny;
  auto cache = tiny.fixture->NewCache(64, 4);
  PipelinedModel pipelined(tiny.fixture->model(), 2);
  testing::Collector collector;
  {
    ContinuousBatch batch(pipelined, *cache, Options(), tiny.fixture->loaded.eos_token_ids, nullptr);
    for (SequenceId id = 1; id <= 4; ++id) {
      batch.Add(std::make_unique<Sequence>(id, Request({3, static_cast<std::int32_t>(4 + id), 5}, LongGreedy(6)),
                                           collector.Callback(), 64, Sequence::Clock::now()));
    }
    batch.FillPipeline();
    REQUIRE(batch.num_in_flight() == 2);  // sequences 1, 2 in the first micro-batch; 3, 4 in the second
    CHECK(batch.Cancel(1, cluster::CancelledError("client left")));
    batch.DeliverUpdates();
    CHECK(collector.Get(1).finished_updates == 1);
    CHECK(collector.Get(1).final.status.code() == StatusCode::kCancelled);
    batch.CompleteOldest();  // sequence 2 gets its token; 1's row is dropped
    batch.DeliverUpdates();
    CHECK(collector.Get(1).tokens.empty());
    CHECK(collector.Get(2).tokens.size() == 1);
    for (int i = 0; i < 1000 && batch.has_work(); ++i) batch.Step();
    CHECK(batch.Metrics().requests_cancelled == 1);
  }
  for (SequenceId id = 2; id <= 4; ++id) {
    CHECK(collector.Get(id).tokens ==
          tiny.fixture->Generate({3, static_cast<std::int32_t>(4 + id), 5}, LongGreedy(6)).generated_ids);
  }
  CHECK(cache->num_free_blocks() == 64);
}
