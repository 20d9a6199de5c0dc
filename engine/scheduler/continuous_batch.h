// ContinuousBatch: the single-threaded core of the scheduler - the queue,
// the running batch, their KV blocks, and what one step does.
//
// Step() = Schedule(), Run(), DeliverUpdates():
//   Schedule        plans the step (scheduler_policy.h): decodes, prefill
//                   chunks, admissions, preemptions; allocates blocks.
//   Run             runs the model on the plan (step_builder.h), records what
//                   was computed (registering newly full blocks in the prefix
//                   cache), samples a token for each chunk that reached the
//                   end of its sequence, and finishes sequences at once
//                   (their blocks are released before Run returns).
//   DeliverUpdates  calls the callbacks with what Run (and Cancel) produced.
// Callbacks run only in DeliverUpdates, after all bookkeeping, so the
// Scheduler can publish its metrics first: when a client sees its final
// update, Metrics() already counts it and its blocks are free.
// If the model fails, every sequence of the step finishes with its error;
// the others go on. Scheduler wraps this class in a thread; tests drive it
// step by step.
//
// Invariants between calls: each unfinished sequence is either running
// (admitted; holds blocks for its computed tokens) or waiting (holds no
// blocks); a finished sequence is gone, its final update delivered, its
// blocks released. With no sequences, kv_blocks_used == 0.
//
// Thread safety: none. Callbacks run inside DeliverUpdates (and the destructor).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/model/language_model.h"
#include "engine/scheduler/block_manager.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/scheduler_policy.h"
#include "engine/scheduler/sequence.h"

namespace engine {

class ContinuousBatch {
 public:
  // `model` and `cache` must outlive this object. REQUIRES: options valid.
  ContinuousBatch(LanguageModel& model, KvCache& cache, const SchedulerOptions& options,
                  std::vector<std::int32_t> eos_token_ids, TokenTextDecoderFactory decoder_factory);
  // Finishes what is left with Unavailable, then gives every block back.
  ~ContinuousBatch();
  ContinuousBatch(const ContinuousBatch&) = delete;
  ContinuousBatch& operator=(const ContinuousBatch&) = delete;

  // Queues `seq` at the back; gives it a decoder from the factory if it has none.
  void Add(std::unique_ptr<Sequence> seq);

  // Finishes sequence `id` now with status `why` (not OK), releasing its
  // blocks; counted as cancelled; its final update goes out with the next
  // DeliverUpdates. False if no such unfinished sequence.
  bool Cancel(SequenceId id, const Status& why);
  // Cancel for every sequence: running ones (oldest first), then queued ones.
  void CancelAll(const Status& why);

  bool has_work() const { return !running_.empty() || !waiting_.empty(); }
  std::int64_t num_running() const { return static_cast<std::int64_t>(running_.size()); }
  std::int64_t num_waiting() const { return static_cast<std::int64_t>(waiting_.size()); }

  StepPlan Schedule();
  // REQUIRES: `plan` is the last Schedule()'s, with no Add/Cancel between.
  void Run(const StepPlan& plan);
  // Sends the updates produced since the last call: each sequence's new
  // tokens/text, and final updates (then the sequence is destroyed).
  void DeliverUpdates();
  void Step() {
    Run(Schedule());
    DeliverUpdates();
  }

  // Counters, gauges and histograms as of now.
  SchedulerMetrics Metrics() const;
  const KvBlockManager& blocks() const { return blocks_; }

 private:
  // Releases the blocks, takes `seq` out of the batch and queues its final update.
  void Finish(Sequence* seq, const Status& status);
  // Marks tokens [start, start + count) of `seq` computed; registers its newly full blocks.
  void MarkComputed(Sequence* seq, std::int64_t count);

  LanguageModel& model_;
  KvBlockManager blocks_;
  SchedulerOptions options_;
  std::vector<std::int32_t> eos_token_ids_;
  TokenTextDecoderFactory decoder_factory_;
  std::unordered_map<SequenceId, std::unique_ptr<Sequence>> sequences_;
  std::vector<Sequence*> running_;  // oldest admission first
  std::deque<Sequence*> waiting_;   // next to admit first
  std::vector<Sequence*> updated_;  // got tokens in the last Run; updates not yet delivered
  std::vector<std::unique_ptr<Sequence>> finished_;  // final updates not yet delivered
  SchedulerMetrics metrics_;        // counters and histograms; gauges filled by Metrics()
};

}  // namespace engine
