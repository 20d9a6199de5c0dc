// Test support for the scheduler: a loaded model with its own KV caches, an
// update collector that the test thread can wait on, a model whose steps can
// be held at a gate, and a fake detokenizer.
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/generate/generator.h"
#include "engine/model/load_model.h"
#include "engine/scheduler/scheduler.h"
#include "tiny_model.h"

namespace engine::testing {

inline std::filesystem::path FixtureModel(const std::string& name) {
  return std::filesystem::path(CLUSTER_SOURCE_DIR) / "tests/fixtures/models" / name;
}
inline std::filesystem::path DemoModel() { return std::filesystem::path(CLUSTER_SOURCE_DIR) / "models/demo"; }

// Token t reads as "<t>": what an incremental detokenizer would stream.
class AngleDecoder final : public TokenTextDecoder {
 public:
  std::string Push(std::int32_t id) override { return "<" + std::to_string(id) + ">"; }
  std::string Flush() override { return ""; }
};

inline TokenTextDecoderFactory AngleDecoders() {
  return [] { return std::make_unique<AngleDecoder>(); };
}

// A model folder loaded on a backend (the CPU unless given).
struct LoadedFixture {
  std::unique_ptr<Backend> owned_backend;
  Backend& backend;
  LocalComm comm;
  LoadedModel loaded;

  explicit LoadedFixture(const std::filesystem::path& dir,
                         std::unique_ptr<Backend> on = std::make_unique<CpuBackend>())
      : owned_backend(std::move(on)), backend(*owned_backend) {
    auto m = LoadModel(dir, backend, comm);
    INFO(m.status().ToString());
    REQUIRE(m.ok());
    loaded = std::move(*m);
  }
  LanguageModel& model() { return *loaded.model; }

  std::unique_ptr<KvCache> NewCache(std::int64_t num_blocks, std::int64_t block_size) {
    auto c = KvCache::Allocate(backend, loaded.model->CacheShape(num_blocks, block_size));
    REQUIRE(c.ok());
    return std::make_unique<KvCache>(std::move(*c));
  }

  // engine::Generate on a cache of its own: the one-sequence reference.
  GenerationResult Generate(const std::vector<std::int32_t>& prompt, const SamplingParams& params,
                            bool with_text = false) {
    auto cache = NewCache(256, 16);
    AngleDecoder decoder;
    GenerateOptions options;
    options.eos_token_ids = loaded.eos_token_ids;
    options.decoder = with_text ? &decoder : nullptr;
    auto r = engine::Generate(*loaded.model, *cache, prompt, params, options);
    REQUIRE(r.ok());
    return std::move(*r);
  }
};

// A tiny random-weight model written to a temp folder (tiny_model.h).
struct TinyFixture {
  TempDir dir;
  TinyModel tiny;
  std::unique_ptr<LoadedFixture> fixture;

  explicit TinyFixture(TinyModelOptions options = {}) {
    auto t = WriteTinyModel(dir.path(), options);
    REQUIRE(t.ok());
    tiny = std::move(*t);
    fixture = std::make_unique<LoadedFixture>(dir.path());
  }
};

// What one sequence received, in order.
struct Received {
  std::vector<std::int32_t> tokens;
  std::string text;
  std::vector<PositionLogprobs> logprobs;
  int updates = 0;
  int finished_updates = 0;
  SequenceUpdate final;  // the finished update itself
};

// Collects updates from the loop thread; the test thread waits on it.
class Collector {
 public:
  SequenceUpdateCallback Callback() {
    return [this](const SequenceUpdate& u) {
      std::lock_guard lock(mu_);
      Received& r = by_id_[u.id];
      r.tokens.insert(r.tokens.end(), u.token_ids.begin(), u.token_ids.end());
      r.text += u.text;
      r.logprobs.insert(r.logprobs.end(), u.logprobs.begin(), u.logprobs.end());
      ++r.updates;
      if (u.finished) {
        ++r.finished_updates;
        r.final = u;
        ++finished_;
      }
      cv_.notify_all();
    };
  }

  // Waits until `count` sequences in all have finished (fails after 60 s).
  void WaitFinished(int count) {
    std::unique_lock lock(mu_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_ >= count; });
    REQUIRE(ok);
  }
  // Waits until sequence `id` has received at least `tokens` tokens.
  void WaitTokens(SequenceId id, std::size_t tokens) {
    std::unique_lock lock(mu_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(60), [&] { return by_id_[id].tokens.size() >= tokens; });
    REQUIRE(ok);
  }

  Received Get(SequenceId id) {
    std::lock_guard lock(mu_);
    return by_id_[id];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<SequenceId, Received> by_id_;
  int finished_ = 0;
};

// Wraps a model; while closed, Forward waits at the gate (after saying it
// arrived), so a test can act while the loop thread is inside a step.
class GatedModel final : public LanguageModel {
 public:
  explicit GatedModel(LanguageModel& inner) : inner_(inner) {}
  const ModelConfig& config() const override { return inner_.config(); }
  KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const override {
    return inner_.CacheShape(num_blocks, block_size);
  }
  Status Prepare(const StepLimits& limits) override { return inner_.Prepare(limits); }
  ModelMemory memory() const override { return inner_.memory(); }
  StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) override {
    {
      std::unique_lock lock(mu_);
      ++arrivals_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
    }
    return inner_.Forward(batch, cache);
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void WaitArrival() {
    std::unique_lock lock(mu_);
    const bool ok = cv_.wait_for(lock, std::chrono::seconds(60), [&] { return arrivals_ > 0; });
    REQUIRE(ok);
  }

 private:
  LanguageModel& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  int arrivals_ = 0;
};

inline SamplingParams Greedy(std::int64_t max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  return p;
}

inline SequenceRequest Request(std::vector<std::int32_t> prompt, SamplingParams params) {
  SequenceRequest r;
  r.prompt_ids = std::move(prompt);
  r.params = std::move(params);
  return r;
}

// A deterministic prompt of `len` ids in [2, vocab) (0 and 1 are often BOS/EOS).
inline std::vector<std::int32_t> Prompt(std::int64_t len, std::int64_t vocab, std::uint32_t salt) {
  std::vector<std::int32_t> ids;
  std::uint64_t x = 0x9e3779b97f4a7c15ULL * (salt + 1);
  for (std::int64_t i = 0; i < len; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ids.push_back(static_cast<std::int32_t>(2 + x % static_cast<std::uint64_t>(vocab - 2)));
  }
  return ids;
}

}  // namespace engine::testing
