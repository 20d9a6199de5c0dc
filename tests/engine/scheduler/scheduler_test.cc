// The threaded Scheduler through its public API, as the HTTP server uses it:
// batched output equals each request alone and engine::Generate; preemption,
// prefix caching, cancellation, queue limits, validation, shutdown and
// metrics. Every test ends with all KV blocks back in the cache.
#include "engine/scheduler/scheduler.h"

#include <catch2/catch.hpp>

#include <thread>

#include "scheduler_test_support.h"

using namespace engine;
using Catch::Matchers::Contains;
using testing::Greedy;
using testing::Request;

namespace {

std::unique_ptr<Scheduler> Start(LanguageModel& model, KvCache& cache, SchedulerOptions options,
                                 std::vector<std::int32_t> eos, TokenTextDecoderFactory decoders = nullptr) {
  auto s = Scheduler::Create(model, cache, options, std::move(eos), std::move(decoders));
  REQUIRE(s.ok());
  return std::move(*s);
}

// Checks that no block is held by a sequence while the scheduler lives, and
// that every block is back in the cache after it is gone.
void CheckAllBlocksFree(std::unique_ptr<Scheduler>& scheduler, const KvCache& cache) {
  const SchedulerMetrics m = scheduler->Metrics();
  CHECK(m.kv_blocks_used == 0);
  CHECK(m.running_sequences == 0);
  CHECK(m.queue_depth == 0);
  CHECK(m.kv_blocks_used + m.kv_blocks_cached + m.kv_blocks_free == m.kv_blocks_total);
  scheduler.reset();
  CHECK(cache.num_free_blocks() == cache.shape().num_blocks);
}

SequenceId SubmitOk(Scheduler& s, SequenceRequest r, testing::Collector& c) {
  auto id = s.Submit(std::move(r), c.Callback());
  REQUIRE(id.ok());
  return *id;
}

}  // namespace

TEST_CASE("32 concurrent greedy requests each produce exactly their tokens alone, which equal engine::Generate") {
  testing::LoadedFixture f(testing::DemoModel());
  const std::int64_t vocab = f.model().config().vocab_size;
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<SamplingParams> params;
  for (std::uint32_t i = 0; i < 32; ++i) {
    prompts.push_back(testing::Prompt(3 + (i * 7) % 41, vocab, i));
    params.push_back(Greedy(8 + (i * 5) % 17));
    params.back().logprobs = 2;  // log-probabilities expose any bit that batching would change
  }
  auto cache = f.NewCache(/*num_blocks=*/256, /*block_size=*/16);
  SchedulerOptions options;
  options.max_batch_tokens = 64;  // several prefill chunks per prompt batch, mixed with decodes
  auto scheduler = Start(f.model(), *cache, options, f.loaded.eos_token_ids);

  // Alone: one request at a time.
  std::vector<testing::Received> alone;
  for (std::size_t i = 0; i < 32; ++i) {
    testing::Collector c;
    const SequenceId id = SubmitOk(*scheduler, Request(prompts[i], params[i]), c);
    c.WaitFinished(1);
    alone.push_back(c.Get(id));
  }
  const std::uint64_t steps_alone = scheduler->Metrics().steps;
  // Together: all 32 submitted at once from 4 threads.
  testing::Collector together;
  std::vector<SequenceId> ids(32);
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < 32; i += 4) {
        auto id = scheduler->Submit(Request(prompts[i], params[i]), together.Callback());
        ids[i] = id.ok() ? *id : 0;
      }
    });
  }
  for (auto& t : submitters) t.join();
  together.WaitFinished(32);
  CHECK(scheduler->Metrics().steps - steps_alone < steps_alone / 4);  // they really ran batched

  auto same_logprobs = [](const std::vector<PositionLogprobs>& a, const std::vector<PositionLogprobs>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t t = 0; t < a.size(); ++t) {
      if (a[t].chosen.token != b[t].chosen.token || a[t].chosen.logprob != b[t].chosen.logprob) return false;
      for (std::size_t k = 0; k < a[t].top.size(); ++k) {
        if (a[t].top[k].token != b[t].top[k].token || a[t].top[k].logprob != b[t].top[k].logprob) return false;
      }
    }
    return true;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    INFO("request " << i << ", prompt of " << prompts[i].size() << " tokens");
    REQUIRE(ids[i] != 0);
    const testing::Received r = together.Get(ids[i]);
    CHECK(r.finished_updates == 1);
    CHECK(r.final.status.ok());
    CHECK(r.tokens == alone[i].tokens);
    CHECK(same_logprobs(r.logprobs, alone[i].logprobs));  // bitwise
    const GenerationResult want = f.Generate(prompts[i], params[i]);
    CHECK(r.tokens == want.generated_ids);
    CHECK(same_logprobs(r.logprobs, want.logprobs));
    CHECK(r.final.finish_reason == want.finish_reason);
    CHECK(r.final.prompt_tokens == static_cast<std::int64_t>(prompts[i].size()));
    CHECK(r.final.completion_tokens == static_cast<std::int64_t>(want.generated_ids.size()));
  }
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("Batched sampling, logprobs, text and stop strings equal engine::Generate's") {
  testing::LoadedFixture f(testing::FixtureModel("qwen2-bias"));
  const std::int64_t vocab = f.model().config().vocab_size;
  // Learn a token the first request generates, to make "<token>" a stop string.
  SamplingParams probe = Greedy(12);
  probe.ignore_eos = true;
  const auto probe_prompt = testing::Prompt(9, vocab, 40);
  const GenerationResult free_run = f.Generate(probe_prompt, probe, /*with_text=*/true);
  REQUIRE(free_run.generated_ids.size() == 12);

  std::vector<std::pair<std::vector<std::int32_t>, SamplingParams>> cases;
  {
    SamplingParams p = probe;
    p.stop = {"<" + std::to_string(free_run.generated_ids[5]) + ">"};  // cuts the text, keeps the token
    p.logprobs = 3;
    cases.emplace_back(probe_prompt, p);
  }
  for (std::uint32_t i = 0; i < 7; ++i) {
    SamplingParams p;
    p.temperature = 0.7 + 0.1 * i;
    p.top_p = 0.9;
    p.top_k = 50;
    p.repetition_penalty = 1.1;
    p.frequency_penalty = 0.3;
    p.seed = 1000 + i;
    p.max_tokens = 10 + i;
    p.logprobs = static_cast<int>(i % 3);
    cases.emplace_back(testing::Prompt(5 + 3 * i, vocab, 50 + i), p);
  }

  auto cache = f.NewCache(128, 8);
  SchedulerOptions options;
  options.max_batch_tokens = 16;
  auto scheduler = Start(f.model(), *cache, options, f.loaded.eos_token_ids, testing::AngleDecoders());
  testing::Collector c;
  std::vector<SequenceId> ids;
  for (auto& [prompt, p] : cases) ids.push_back(SubmitOk(*scheduler, Request(prompt, p), c));
  c.WaitFinished(static_cast<int>(cases.size()));

  for (std::size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    const testing::Received r = c.Get(ids[i]);
    const GenerationResult want = f.Generate(cases[i].first, cases[i].second, /*with_text=*/true);
    CHECK(r.tokens == want.generated_ids);
    CHECK(r.text == want.text);
    CHECK(r.final.finish_reason == want.finish_reason);
    REQUIRE(r.logprobs.size() == want.logprobs.size());
    for (std::size_t t = 0; t < r.logprobs.size(); ++t) {
      CHECK(r.logprobs[t].chosen.token == want.logprobs[t].chosen.token);
      CHECK(r.logprobs[t].chosen.logprob == want.logprobs[t].chosen.logprob);
      CHECK(r.logprobs[t].top.size() == want.logprobs[t].top.size());
    }
  }
  // The stop string case stopped at the sixth token, its text cut before it.
  const testing::Received stopped = c.Get(ids[0]);
  CHECK(stopped.tokens.size() == 6);
  CHECK(stopped.final.finish_reason == FinishReason::kStop);
  CHECK_THAT(stopped.text, !Contains("<" + std::to_string(free_run.generated_ids[5]) + ">"));
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("Under a tiny KV cache, preemption gives every request its tokens alone and frees all blocks") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  const std::int64_t vocab = f.model().config().vocab_size;
  // 16 blocks of 4 = 64 slots; 12 requests of 6..17 + 24 tokens (8 to 11 blocks each).
  auto cache = f.NewCache(/*num_blocks=*/16, /*block_size=*/4);
  auto scheduler = Start(f.model(), *cache, SchedulerOptions{}, f.loaded.eos_token_ids);
  testing::Collector c;
  std::vector<std::vector<std::int32_t>> prompts;
  std::vector<SequenceId> ids;
  SamplingParams p = Greedy(24);
  p.ignore_eos = true;
  for (std::uint32_t i = 0; i < 12; ++i) {
    prompts.push_back(testing::Prompt(6 + i, vocab, 70 + i));
    ids.push_back(SubmitOk(*scheduler, Request(prompts.back(), p), c));
  }
  c.WaitFinished(12);
  const SchedulerMetrics m = scheduler->Metrics();
  CHECK(m.preemptions > 0);
  CHECK(m.requests_finished_length == 12);
  for (std::size_t i = 0; i < 12; ++i) {
    INFO("request " << i);
    CHECK(c.Get(ids[i]).tokens == f.Generate(prompts[i], p).generated_ids);
  }
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("A request sharing a prompt prefix with an earlier one computes fewer prefill tokens, same output") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  const std::int64_t vocab = f.model().config().vocab_size;
  auto cache = f.NewCache(64, 8);
  auto scheduler = Start(f.model(), *cache, SchedulerOptions{}, f.loaded.eos_token_ids);
  const auto system_prompt = testing::Prompt(40, vocab, 90);  // 5 full blocks of 8
  auto first = system_prompt, second = system_prompt;
  first.insert(first.end(), {11, 12, 13});
  second.insert(second.end(), {21, 22, 23, 24});

  testing::Collector c;
  const SequenceId a = SubmitOk(*scheduler, Request(first, Greedy(6)), c);
  c.WaitFinished(1);
  const SchedulerMetrics after_first = scheduler->Metrics();
  const SequenceId b = SubmitOk(*scheduler, Request(second, Greedy(6)), c);
  c.WaitFinished(2);
  const SchedulerMetrics after_second = scheduler->Metrics();

  CHECK(after_first.prefill_tokens_computed == 43);
  CHECK(after_second.prefill_tokens_cached - after_first.prefill_tokens_cached == 40);
  CHECK(after_second.prefill_tokens_computed - after_first.prefill_tokens_computed == 4);
  CHECK(after_second.prompt_tokens == 43 + 44);
  CHECK(c.Get(a).final.cached_prompt_tokens == 0);
  CHECK(c.Get(b).final.cached_prompt_tokens == 40);
  CHECK(c.Get(b).tokens == f.Generate(second, Greedy(6)).generated_ids);
  CHECK(after_second.kv_blocks_cached > 0);  // finished sequences' full blocks stay cached
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("Cancel frees a running request's blocks at once and sends one final update with Cancelled") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  auto cache = f.NewCache(64, 8);
  SchedulerOptions options;
  options.enable_prefix_caching = false;  // so freed blocks are free, not cached
  auto scheduler = Start(f.model(), *cache, options, f.loaded.eos_token_ids);
  testing::Collector c;
  SamplingParams p = Greedy(200);
  p.ignore_eos = true;
  const SequenceId id = SubmitOk(*scheduler, Request(testing::Prompt(30, 384, 3), p), c);
  c.WaitTokens(id, 2);
  scheduler->Cancel(id);
  c.WaitFinished(1);
  const testing::Received r = c.Get(id);
  CHECK(r.finished_updates == 1);
  CHECK(r.final.status.code() == StatusCode::kCancelled);
  CHECK(r.final.completion_tokens < 200);
  CHECK(r.final.completion_tokens == static_cast<std::int64_t>(r.tokens.size()));
  // The blocks were released before the final update was sent.
  CHECK(cache->num_free_blocks() == 64);
  scheduler->Cancel(id);  // a finished id: ignored
  scheduler->Cancel(12345);  // unknown: ignored
  CHECK(scheduler->Metrics().requests_cancelled == 1);
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("A full queue makes Submit return ResourceExhausted, and accepted requests still finish") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  testing::GatedModel gated(f.model());
  auto cache = f.NewCache(64, 8);
  SchedulerOptions options;
  options.max_queued_requests = 2;
  options.max_running_sequences = 1;
  auto scheduler = Start(gated, *cache, options, f.loaded.eos_token_ids);
  testing::Collector c;
  SubmitOk(*scheduler, Request({5, 6, 7}, Greedy(3)), c);
  gated.WaitArrival();  // the first request is running, held inside its first step
  SubmitOk(*scheduler, Request({5, 6, 8}, Greedy(3)), c);
  SubmitOk(*scheduler, Request({5, 6, 9}, Greedy(3)), c);
  auto refused = scheduler->Submit(Request({5, 6, 10}, Greedy(3)), c.Callback());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == StatusCode::kResourceExhausted);
  CHECK_THAT(refused.status().message(), Contains("max_queued_requests 2"));
  const SchedulerMetrics m = scheduler->Metrics();
  CHECK(m.requests_rejected == 1);
  CHECK(m.queue_depth == 2);
  CHECK(m.running_sequences == 1);
  gated.Open();
  c.WaitFinished(3);
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("Submit refuses what cannot run, naming the numbers, and queues nothing") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));  // max_position_embeddings 256
  auto cache = f.NewCache(64, 8);                                     // 512 slots
  auto scheduler = Start(f.model(), *cache, SchedulerOptions{}, f.loaded.eos_token_ids);
  CHECK(scheduler->context_limit() == 256);
  testing::Collector c;

  auto too_long = scheduler->Submit(Request(testing::Prompt(200, 384, 1), Greedy(57)), c.Callback());
  REQUIRE_FALSE(too_long.ok());
  CHECK(too_long.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(too_long.status().message(), Contains("prompt of 200 tokens") && Contains("max_tokens 57") &&
                                              Contains("context of 256 tokens"));
  CHECK(scheduler->Submit(Request(testing::Prompt(200, 384, 1), Greedy(56)), c.Callback()).ok());  // exactly fits

  CHECK(scheduler->Submit(Request({}, Greedy(4)), c.Callback()).status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(scheduler->Submit(Request({3, 384}, Greedy(4)), c.Callback()).status().message(),
             Contains("outside the vocabulary"));
  SamplingParams bad = Greedy(4);
  bad.top_p = 0;
  CHECK(scheduler->Submit(Request({3}, bad), c.Callback()).status().code() == StatusCode::kInvalidArgument);
  SamplingParams with_stop = Greedy(4);
  with_stop.stop = {"x"};
  CHECK_THAT(scheduler->Submit(Request({3}, with_stop), c.Callback()).status().message(),
             Contains("need a tokenizer"));
  CHECK(scheduler->Submit(Request({3}, Greedy(4)), nullptr).status().code() == StatusCode::kInvalidArgument);
  CHECK(scheduler->Metrics().requests_rejected == 6);
  c.WaitFinished(1);
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("The context limit is the smallest of the option, the model's and the KV cache's") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  auto small_cache = f.NewCache(10, 8);  // 80 slots
  CHECK(Start(f.model(), *small_cache, SchedulerOptions{}, {})->context_limit() == 80);
  auto cache = f.NewCache(64, 8);
  SchedulerOptions options;
  options.max_context_tokens = 100;
  CHECK(Start(f.model(), *cache, options, {})->context_limit() == 100);
  options.max_context_tokens = 100000;
  CHECK(Start(f.model(), *cache, options, {})->context_limit() == 256);
}

TEST_CASE("Create refuses options out of range") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  auto cache = f.NewCache(8, 8);
  for (auto edit : std::vector<void (*)(SchedulerOptions&)>{
           [](SchedulerOptions& o) { o.max_batch_tokens = 0; },
           [](SchedulerOptions& o) { o.max_running_sequences = 0; },
           [](SchedulerOptions& o) { o.max_queued_requests = 0; },
           [](SchedulerOptions& o) { o.max_context_tokens = -1; }}) {
    SchedulerOptions o;
    edit(o);
    auto s = Scheduler::Create(f.model(), *cache, o, {});
    CHECK(s.status().code() == StatusCode::kInvalidArgument);
  }
}

TEST_CASE("Shutdown finishes every outstanding request with Unavailable, then refuses new ones") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  testing::GatedModel gated(f.model());
  auto cache = f.NewCache(64, 8);
  auto scheduler = Start(gated, *cache, SchedulerOptions{}, f.loaded.eos_token_ids);
  testing::Collector c;
  SamplingParams p = Greedy(100);
  p.ignore_eos = true;
  std::vector<SequenceId> ids;
  ids.push_back(SubmitOk(*scheduler, Request({3, 4, 5}, p), c));
  gated.WaitArrival();
  ids.push_back(SubmitOk(*scheduler, Request({3, 4, 6}, p), c));  // still in the inbox
  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gated.Open();  // lets the running step end so Shutdown can join
  });
  scheduler->Shutdown();
  opener.join();
  for (SequenceId id : ids) {
    const testing::Received r = c.Get(id);
    CHECK(r.finished_updates == 1);
    CHECK(r.final.status.code() == StatusCode::kUnavailable);
  }
  auto late = scheduler->Submit(Request({3}, Greedy(2)), c.Callback());
  CHECK(late.status().code() == StatusCode::kUnavailable);
  scheduler->Shutdown();  // idempotent
  CHECK(scheduler->Metrics().requests_cancelled == 2);
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("Metrics count requests by outcome, tokens, steps and latencies") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  auto cache = f.NewCache(64, 8);
  auto scheduler = Start(f.model(), *cache, SchedulerOptions{}, f.loaded.eos_token_ids);
  testing::Collector c;
  // Learn the greedy continuation, then make its 3rd token a stop token for one request.
  const auto prompt = testing::Prompt(12, 384, 4);
  SamplingParams length = Greedy(5);
  length.ignore_eos = true;
  const GenerationResult run = f.Generate(prompt, length);
  SamplingParams stop = length;
  stop.ignore_eos = false;  // ignore_eos also disables stop_token_ids
  stop.stop_token_ids = {run.generated_ids[2]};
  const auto stop_tokens = f.Generate(prompt, stop).generated_ids.size();
  REQUIRE(stop_tokens <= 3);
  SubmitOk(*scheduler, Request(prompt, length), c);
  SubmitOk(*scheduler, Request(prompt, stop), c);
  c.WaitFinished(2);
  const SchedulerMetrics m = scheduler->Metrics();
  CHECK(m.requests_finished_length == 1);
  CHECK(m.requests_finished_stop == 1);
  CHECK(m.requests_cancelled == 0);
  CHECK(m.requests_failed == 0);
  CHECK(m.generated_tokens == 5 + stop_tokens);
  CHECK(m.prompt_tokens == 24);
  CHECK(m.prefill_tokens_computed + m.prefill_tokens_cached == 24);
  CHECK(m.time_to_first_token.count == 2);
  CHECK(m.step_latency.count == m.steps);
  CHECK(m.steps >= 5);
  CHECK(m.step_latency.counts.size() == m.step_latency.upper_bounds.size() + 1);
  std::uint64_t in_buckets = 0;
  for (auto n : m.step_latency.counts) in_buckets += n;
  CHECK(in_buckets == m.steps);
  CHECK(m.kv_blocks_total == 64);
  CheckAllBlocksFree(scheduler, *cache);
}

TEST_CASE("Callbacks may call back into the scheduler: a request cancelled from its own first update") {
  testing::LoadedFixture f(testing::FixtureModel("llama-sharded"));
  auto cache = f.NewCache(64, 8);
  auto scheduler = Start(f.model(), *cache, SchedulerOptions{}, f.loaded.eos_token_ids);
  testing::Collector c;
  auto collect = c.Callback();
  SamplingParams p = Greedy(100);
  p.ignore_eos = true;
  Scheduler* s = scheduler.get();
  auto id = s->Submit(Request({3, 4, 5}, p), [s, collect](const SequenceUpdate& u) {
    collect(u);
    if (!u.finished) {
      s->Cancel(u.id);
      (void)s->Metrics();
    }
  });
  REQUIRE(id.ok());
  c.WaitFinished(1);
  CHECK(c.Get(*id).final.status.code() == StatusCode::kCancelled);
  CHECK(c.Get(*id).tokens.size() < 100);
  CheckAllBlocksFree(scheduler, *cache);
}
