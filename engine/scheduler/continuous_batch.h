// ContinuousBatch: the single-threaded core of the scheduler - the queue,
// the running batch, their KV blocks, and what one step does.
//
// Step() = FillPipeline(), CompleteOldest(), DeliverUpdates():
//   FillPipeline    plans steps (Schedule, scheduler_policy.h: decodes,
//                   prefill chunks, admissions, preemptions; allocates
//                   blocks) and submits them to the model (step_builder.h)
//                   while fewer than the model's pipeline_depth() are in
//                   flight and there is work not in flight;
//   CompleteOldest  collects the oldest step's logits, records what was
//                   computed (registering newly full blocks in the prefix
//                   cache), samples a token for each chunk that reached the
//                   end of its sequence, and finishes sequences at once
//                   (their blocks are released before it returns);
//   DeliverUpdates  calls the callbacks with what it (and Cancel) produced.
// Run(plan) submits one plan and completes it: the whole of a step for a
// model of one process (pipeline depth 1).
//
// Micro-batches. A model whose pipeline stages run in other processes
// (engine/scheduler/world_model.h) takes up to P steps in flight; each plan
// then takes about 1/P of the sequences, and a sequence in flight is neither
// planned again nor preempted until its step is collected, so under load
// every stage works on a different micro-batch at once. A sequence
// cancelled while in flight is finished at once; its step's results are
// dropped when they arrive.
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
#include <chrono>
#include <deque>
#include <functional>
#include <limits>
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

  bool has_work() const { return !running_.empty() || !waiting_.empty() || !in_flight_.empty(); }
  std::int64_t num_running() const { return static_cast<std::int64_t>(running_.size()); }
  std::int64_t num_waiting() const { return static_cast<std::int64_t>(waiting_.size()); }

  // Plans one step of at most `max_chunks` sequences (all by default).
  StepPlan Schedule(std::int64_t max_chunks = std::numeric_limits<std::int64_t>::max());
  // Submits `plan` to the model and completes it. REQUIRES: `plan` is the
  // last Schedule()'s, with no Add/Cancel between, and nothing in flight.
  void Run(const StepPlan& plan);
  // Plans and submits steps while the model takes more in flight;
  // `planned`, when given, runs after each plan and before its submission
  // (which, for a model of one process, runs the whole step).
  void FillPipeline(const std::function<void()>& planned = {});
  // Collects and completes the oldest step in flight, if any.
  void CompleteOldest();
  // Sends the updates produced since the last call: each sequence's new
  // tokens/text, and final updates (then the sequence is destroyed).
  void DeliverUpdates();
  void Step() {
    FillPipeline();
    CompleteOldest();
    DeliverUpdates();
  }
  std::int64_t num_in_flight() const { return static_cast<std::int64_t>(in_flight_.size()); }

  // Counters, gauges and histograms as of now.
  SchedulerMetrics Metrics() const;
  const KvBlockManager& blocks() const { return blocks_; }

 private:
  // A submitted step: its chunks by sequence id (a sequence may be finished
  // before its step is collected).
  struct InFlightStep {
    std::chrono::steady_clock::time_point started;
    struct Chunk {
      SequenceId id;
      std::int64_t count;
      bool is_decode, samples;
    };
    std::vector<Chunk> chunks;  // plan order; the sampling ones give the logit rows, in order
  };

  void Submit(const StepPlan& plan);
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
  std::deque<InFlightStep> in_flight_;  // submitted, oldest first
  SchedulerMetrics metrics_;        // counters and histograms; gauges filled by Metrics()
};

}  // namespace engine
