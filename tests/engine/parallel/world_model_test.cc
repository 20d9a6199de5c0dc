// Tensor x pipeline parallelism on CPUs: the model sharded over a world of
// rank processes (real Gloo over 127.0.0.1, the real rendezvous) gives what
// one process gives. Rank 0 runs the step protocol (WorldModel), the others
// RunFollower; rank 0 also loads the whole model alone as the reference.
//
// The rule, per layout (TP2, PP2, TP2 x PP2, TP4 x PP4 = 16 processes) and
// model (the demo model and the HF fixtures):
//   - logits at every prompt position within 1e-5 of one process's
//     (max_v |world - one| / max_v |one| per position): sharding reorders
//     the sums of the row-parallel layers, nothing else;
//   - greedy continuations identical, alone and as 8 concurrent requests
//     through the scheduler (prefill chunks mixed with decodes).
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "comm_test_support.h"
#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/comm/world.h"
#include "engine/generate/generator.h"
#include "engine/model/load_model.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/world_model.h"

using namespace engine;
using namespace std::chrono_literals;

namespace {

std::filesystem::path ModelDir(const std::string& name) {
  const std::filesystem::path root(CLUSTER_SOURCE_DIR);
  return name == "demo" ? root / "models/demo" : root / "tests/fixtures/models" / name;
}

std::vector<std::int32_t> PromptFor(std::int64_t vocab, int salt, int length) {
  std::vector<std::int32_t> ids;
  for (int i = 0; i < length; ++i) ids.push_back(static_cast<std::int32_t>((i * 131 + salt * 17 + 2) % vocab));
  return ids;
}

ForwardBatch Prefill(const std::vector<std::int32_t>& prompt, const KvBlockTable& table, int block_size) {
  ForwardBatch batch = OneSequenceStep(prompt, 0, table.blocks, block_size);
  batch.logit_rows = AllRows(prompt.size());
  return batch;
}

// Greedy tokens of `prompts` through a Scheduler over `model`, all submitted at once.
StatusOr<std::vector<std::vector<std::int32_t>>> Concurrent(LanguageModel& model, KvCache& cache,
                                                            const std::vector<std::vector<std::int32_t>>& prompts,
                                                            const std::vector<std::int32_t>& eos) {
  SchedulerOptions options;
  options.max_batch_tokens = 16;  // prefill chunks mixed with decodes
  CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<Scheduler> scheduler, Scheduler::Create(model, cache, options, eos, nullptr));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::vector<std::int32_t>> tokens(prompts.size());
  std::size_t finished = 0;
  Status failure;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    SequenceRequest r;
    r.prompt_ids = prompts[i];
    r.params.temperature = 0;
    r.params.max_tokens = 12;
    auto id = scheduler->Submit(std::move(r), [&, i](const SequenceUpdate& u) {
      std::lock_guard lock(mu);
      tokens[i].insert(tokens[i].end(), u.token_ids.begin(), u.token_ids.end());
      if (u.finished) {
        if (!u.status.ok()) failure = u.status;
        ++finished;
        cv.notify_all();
      }
    });
    CLUSTER_RETURN_IF_ERROR(id.status());
  }
  std::unique_lock lock(mu);
  if (!cv.wait_for(lock, 120s, [&] { return finished == prompts.size(); })) {
    return cluster::DeadlineExceededError("the requests did not finish within 120 s");
  }
  CLUSTER_RETURN_IF_ERROR(failure);
  return tokens;
}

// What rank 0 checks against the whole model in its own process; returns the problems.
std::vector<std::string> CheckAgainstOneProcess(const std::filesystem::path& dir, LanguageModel& world_model,
                                                KvCache& world_cache, const std::vector<std::int32_t>& eos) {
  std::vector<std::string> problems;
  CpuBackend backend;
  LocalComm local;
  auto one = LoadModel(dir, backend, local);
  if (!one.ok()) return {"the reference did not load: " + one.status().ToString()};
  auto one_cache = KvCache::Allocate(backend, one->model->CacheShape(world_cache.shape().num_blocks, 16));
  if (!one_cache.ok()) return {one_cache.status().ToString()};
  const std::int64_t vocab = one->model->config().vocab_size;

  // Teacher-forced logits at every position.
  const std::vector<std::int32_t> prompt = PromptFor(vocab, 1, 21);
  auto prefill = [&](LanguageModel& model, KvCache& cache) -> StatusOr<Logits> {
    KvBlockTable table;
    CLUSTER_RETURN_IF_ERROR(cache.Reserve(table, static_cast<std::int64_t>(prompt.size())));
    auto logits = model.Forward(Prefill(prompt, table, 16), cache);
    cache.Release(table);
    return logits;
  };
  auto want = prefill(*one->model, *one_cache);
  auto got = prefill(world_model, world_cache);
  if (!want.ok() || !got.ok()) return {"forward: " + (want.ok() ? got.status() : want.status()).ToString()};
  double worst = 0;
  for (std::int64_t p = 0; p < want->rows; ++p) {
    const auto w = want->row(p), g = got->row(p);
    double diff = 0, scale = 0;
    for (std::size_t v = 0; v < w.size(); ++v) {
      diff = std::max(diff, std::abs(static_cast<double>(g[v]) - w[v]));
      scale = std::max(scale, std::abs(static_cast<double>(w[v])));
    }
    worst = std::max(worst, diff / scale);
    if (got->argmax[static_cast<std::size_t>(p)] != static_cast<std::int32_t>(std::max_element(g.begin(), g.end()) - g.begin())) {
      problems.push_back("position " + std::to_string(p) + ": the gathered argmax is not the row's");
    }
  }
  std::printf("worst relative logit error %.3g\n", worst);
  if (worst > 1e-5) problems.push_back("logits differ from one process by " + std::to_string(worst));

  // Greedy: one sequence alone, then 8 at once.
  SamplingParams greedy;
  greedy.temperature = 0;
  greedy.max_tokens = 12;
  GenerateOptions options;
  options.eos_token_ids = eos;
  auto alone_one = Generate(*one->model, *one_cache, prompt, greedy, options);
  auto alone_world = Generate(world_model, world_cache, prompt, greedy, options);
  if (!alone_one.ok() || !alone_world.ok()) return {"generate failed"};
  if (alone_one->generated_ids != alone_world->generated_ids) problems.push_back("greedy tokens differ");
  std::vector<std::vector<std::int32_t>> prompts;
  for (int i = 0; i < 8; ++i) prompts.push_back(PromptFor(vocab, 7 + i, 3 + 5 * i));
  auto eight_one = Concurrent(*one->model, *one_cache, prompts, eos);
  auto eight_world = Concurrent(world_model, world_cache, prompts, eos);
  if (!eight_one.ok()) return {"8 requests on one process: " + eight_one.status().ToString()};
  if (!eight_world.ok()) return {"8 requests on the world: " + eight_world.status().ToString()};
  if (*eight_one != *eight_world) problems.push_back("8 concurrent greedy requests got other tokens than on one process");
  return problems;
}

void ExpectOneProcessResults(const std::string& model, int tp, int pp) {
  const std::string address = engine::testing::FreeAddress();
  const std::filesystem::path dir = ModelDir(model);
  engine::testing::RankProcesses ranks(tp * pp, [&](int rank) -> int {
    WorldOptions o;
    o.world_size = tp * pp;
    o.rank = rank;
    o.tensor_parallel = tp;
    o.pipeline_parallel = pp;
    o.rendezvous = address;
    o.token = "world-model-test-token-7";
    o.join_timeout = 60s;
    auto world = World::Join(o);
    if (!world.ok()) {
      std::printf("rank %d: %s\n", rank, world.status().ToString().c_str());
      return 1;
    }
    auto config = LoadModelConfig(dir);
    auto shard = MakeModelShard(static_cast<int>(config->num_hidden_layers), tp, pp, (*world)->stage(),
                                (*world)->tp_rank());
    if (!shard.ok()) {
      std::printf("rank %d: %s\n", rank, shard.status().ToString().c_str());
      return 1;
    }
    CpuBackend backend;
    auto loaded = LoadModel(dir, backend, ModelParallelism{*shard, &(*world)->tensor_group(), &(*world)->pipeline_group()});
    if (!loaded.ok()) {
      std::printf("rank %d: %s\n", rank, loaded.status().ToString().c_str());
      return 1;
    }
    auto cache = KvCache::Allocate(backend, loaded->model->CacheShape(128, 16));
    if (!cache.ok()) return 1;
    ControlChannel& control = (*world)->control();
    if (rank != 0) {
      const bool returns = shard->last_stage() && shard->tp_rank == 0;
      const Status s = RunFollower(*loaded->model, *cache, control, returns);
      std::printf("rank %d: %s\n", rank, s.ok() ? "ok" : s.ToString().c_str());
      return s.ok() ? 0 : 1;
    }
    WorldModel world_model(*loaded->model, control, (*world)->layout().RankAt(pp - 1, 0), pp);
    const std::vector<std::string> problems = CheckAgainstOneProcess(dir, world_model, *cache, loaded->eos_token_ids);
    const Status stopped = world_model.Stop();
    for (const std::string& p : problems) std::printf("rank 0: %s\n", p.c_str());
    if (!stopped.ok()) std::printf("rank 0: stop: %s\n", stopped.ToString().c_str());
    std::printf("rank 0: %s\n", problems.empty() && stopped.ok() ? "ok" : "FAILED");
    return problems.empty() && stopped.ok() ? 0 : 1;
  });
  const std::vector<engine::testing::RankOutcome> outcomes = ranks.Wait(300s);
  for (int rank = 0; rank < tp * pp; ++rank) {
    INFO(model << " TP" << tp << " x PP" << pp << ", rank " << rank << " said:\n" << outcomes[static_cast<std::size_t>(rank)].output);
    CHECK(outcomes[static_cast<std::size_t>(rank)].exit_code == 0);
  }
  std::printf("%s TP%d x PP%d: %s", model.c_str(), tp, pp, outcomes[0].output.c_str());
}

}  // namespace

TEST_CASE("TP2 on two processes gives one process's logits and greedy tokens (demo model)") {
  ExpectOneProcessResults("demo", 2, 1);
}

TEST_CASE("PP2 on two processes gives one process's logits and greedy tokens (demo model)") {
  ExpectOneProcessResults("demo", 1, 2);
}

TEST_CASE("TP2 x PP2 on four processes gives one process's logits and greedy tokens (demo model)") {
  ExpectOneProcessResults("demo", 2, 2);
}

TEST_CASE("TP4 x PP4 on sixteen processes, the reference cluster's layout, gives one process's results (demo model)") {
  ExpectOneProcessResults("demo", 4, 4);
}

TEST_CASE("TP2 x PP2 gives one process's results on the HF fixtures (GQA with llama3 rope, Qwen2 biases)") {
  ExpectOneProcessResults("llama-gqa-llama3rope", 2, 2);
  ExpectOneProcessResults("qwen2-bias", 2, 2);
}

TEST_CASE("TP4 replicates kv heads it cannot split and gives one process's results (sharded checkpoint)") {
  ExpectOneProcessResults("llama-sharded", 4, 1);
}
