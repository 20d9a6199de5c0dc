// The step protocol of a tensor x pipeline parallel world (docs/parallelism.md):
// rank 0 schedules, every rank computes its shard of each step.
//
// WorldModel is rank 0's LanguageModel: each Forward sends the step (its
// ForwardBatch, step_codec.h) to every other rank over the world's
// ControlChannel, runs rank 0's own shard (stage 0), and, when rank 0 is not
// on the last stage, receives the step's logits (or the error the step ended
// with) from the last stage's first rank. The Scheduler on rank 0 runs over
// a WorldModel exactly as over a model of one process: its KV block
// bookkeeping holds for every rank (the same block tables; each rank keeps
// its share of the heads and its stage's layers).
//
// RunFollower is the loop of every other rank: receive a step, run the
// shard, and on the last stage's first rank send the logits back; until rank
// 0 sends the order to stop (or the world fails: a dead or hung rank makes
// the channel fail within its heartbeat timeout, naming the rank).
//
// Up to P steps are in flight (pipeline_depth, P = the pipeline stages):
// Submit sends a step and runs stage 0 on it, and returns while the later
// stages work; Collect receives the oldest step's logits. Every stage runs
// the steps in the order rank 0 sent them, so the scheduler's micro-batches
// (continuous_batch.h) keep every stage busy under load.
//
// Thread safety: WorldModel like any LanguageModel (one thread); RunFollower
// owns its thread.
#pragma once

#include <deque>

#include "engine/comm/control_channel.h"
#include "engine/model/language_model.h"

namespace engine {

class WorldModel final : public LanguageModel {
 public:
  // `shard` is rank 0's model shard; `logits_from` the world rank that
  // returns the logits (the last stage's tp rank 0; 0 when rank 0 is on the
  // last stage). Both must outlive this.
  WorldModel(LanguageModel& shard, ControlChannel& control, int logits_from, int pipeline_stages)
      : shard_(shard), control_(control), logits_from_(logits_from), stages_(pipeline_stages) {}
  // Tells the followers to stop, unless Stop was called.
  ~WorldModel() override;

  const ModelConfig& config() const override { return shard_.config(); }
  KvCacheShape CacheShape(std::int64_t num_blocks, std::int64_t block_size) const override {
    return shard_.CacheShape(num_blocks, block_size);
  }
  Status Prepare(const StepLimits& limits) override { return shard_.Prepare(limits); }
  ModelMemory memory() const override { return shard_.memory(); }
  StatusOr<Logits> Forward(const ForwardBatch& batch, KvCache& cache) override;
  int pipeline_depth() const override { return stages_; }
  void Submit(const ForwardBatch& batch, KvCache& cache) override;
  StatusOr<Logits> Collect() override;

  // Sends the followers the order to stop. Idempotent.
  Status Stop();

 private:
  LanguageModel& shard_;
  ControlChannel& control_;
  const int logits_from_;
  const int stages_;
  bool stopped_ = false;
  // Submitted steps, oldest first: rank 0's own outcome (the logits when it
  // is the last stage, else whether its stage ran).
  std::deque<StatusOr<Logits>> in_flight_;
};

// Runs steps from rank 0 on `shard` until rank 0 says stop (OK) or the
// world fails (that error). `returns_logits`: this rank sends each step's
// logits to rank 0 (the last stage's tp rank 0, not rank 0 itself).
Status RunFollower(LanguageModel& shard, KvCache& cache, ControlChannel& control, bool returns_logits);

// The KV cache size every rank can hold: each proposes its own, all take
// the smallest (a block must exist on every rank). Collective over the world.
StatusOr<std::int64_t> AgreeOnKvBlocks(ControlChannel& control, std::int64_t mine);

}  // namespace engine
