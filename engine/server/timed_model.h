// TimedModel: a LanguageModel that forwards to another and adds up the wall
// time of Forward, so /metrics can tell the model's share of a step from the
// scheduler's own work (batching, sampling, detokenization, callbacks).
//
// Forward runs on the scheduler's thread; timing() may be read from any
// thread (atomics; the fields are read separately, so a snapshot may be one
// call apart).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>

#include "engine/model/language_model.h"

namespace engine::server {

struct ModelTiming {
  std::uint64_t forward_calls = 0;
  double forward_seconds = 0;
  // The calls that were pure decode steps (every token of the batch had its
  // logits asked for: one new token per sequence, no prefill chunk).
  std::uint64_t decode_calls = 0;
  double decode_seconds = 0;
};

class TimedModel final : public LanguageModel {
 public:
  // `model` must outlive this.
  explicit TimedModel(LanguageModel& model) : model_(model) {}

  const ModelConfig& config() const override { return model_.config(); }
  KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const override {
    return model_.CacheShape(num_blocks, block_size);
  }
  Status Prepare(const StepLimits& limits) override { return model_.Prepare(limits); }
  ModelMemory memory() const override { return model_.memory(); }
  StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) override;
  // Pipelined steps pass through; each is timed from its Submit to its Collect.
  int pipeline_depth() const override { return model_.pipeline_depth(); }
  void Submit(const ForwardBatch& batch, KvCache& cache) override;
  StatusOr<Logits> Collect() override;

  ModelTiming timing() const;

 private:
  LanguageModel& model_;
  std::atomic<std::uint64_t> calls_{0}, nanoseconds_{0};
  std::atomic<std::uint64_t> decode_calls_{0}, decode_nanoseconds_{0};
  struct Submitted {
    std::chrono::steady_clock::time_point start;
    bool decode;
  };
  std::deque<Submitted> submitted_;  // loop thread only
  void Record(const Submitted& step);
};

}  // namespace engine::server
