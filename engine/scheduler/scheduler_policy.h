// The scheduling policy: which tokens of which sequences one step computes.
//
// PlanStep, given the running sequences (oldest first) and the queue (front
// first), fills one step's token budget (SchedulerOptions::max_batch_tokens):
//   1. decodes: one token for each decoding running sequence, oldest first;
//   2. prefill: chunks for running sequences that still have tokens to
//      compute (a long prompt, or a recompute after preemption), oldest
//      first, each as much as the remaining budget allows;
//   3. admission, only if nothing was preempted in this step: queued
//      sequences, front first (FCFS, no skipping), while the budget, the
//      running limit and the free blocks allow. An admitted sequence first
//      takes the longest run of cached full blocks equal to the start of its
//      tokens (never the block holding its last token: that one is written),
//      then fresh blocks for the chunk it computes now. New sequences never
//      preempt running ones.
// Blocks are allocated for exactly the positions scheduled. When a running
// sequence needs a block and none is free or evictable, the youngest running
// sequence is preempted (recompute): its blocks are released (full ones stay
// in the prefix cache until evicted), its num_computed goes back to 0, any
// chunk it had in this plan is dropped, and it goes to the front of the
// queue. If the youngest is the sequence asking, it preempts itself. The
// oldest running sequence is thus never preempted, and since any accepted
// sequence fits the cache alone, it always advances: no livelock, no
// out-of-memory failure.
//
// Pipelined steps (several micro-batches in flight, continuous_batch.h): a
// sequence whose step is in flight (Sequence::in_flight) is neither scheduled
// nor preempted; a sequence that would need to preempt one waits for the
// next plan instead. `max_chunks` caps the sequences of one plan, so the
// running ones spread over the micro-batches.
//
// Thread safety: none; runs on the scheduler's loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <deque>
#include <vector>

#include "engine/scheduler/block_manager.h"
#include "engine/scheduler/scheduler.h"
#include "engine/scheduler/sequence.h"

namespace engine {

// Tokens [start, start + count) of `seq` computed in this step.
struct ScheduledChunk {
  Sequence* seq = nullptr;
  std::int64_t start = 0;
  std::int64_t count = 0;
  bool is_decode = false;  // the one token of a decoding sequence (else prefill/recompute)
  bool samples = false;    // reaches the end of seq's tokens: the next token is sampled from it
};

struct StepPlan {
  std::chrono::steady_clock::time_point started;
  std::vector<ScheduledChunk> chunks;  // batch order: decodes, then prefill chunks
  std::vector<Sequence*> preempted;    // now at the front of the queue
  std::vector<Sequence*> admitted;     // moved from the queue to the running list
  std::int64_t prefix_cached_tokens = 0;  // tokens the admitted sequences took from the prefix cache

  std::int64_t num_tokens() const;
};

// Plans one step; moves sequences between `running` (oldest first) and
// `waiting` (front first) for admission and preemption, and allocates /
// releases their blocks in `blocks`. REQUIRES: options valid; every
// sequence unfinished and fitting the cache alone.
StepPlan PlanStep(std::vector<Sequence*>& running, std::deque<Sequence*>& waiting, KvBlockManager& blocks,
                  const SchedulerOptions& options, std::int64_t max_chunks = std::numeric_limits<std::int64_t>::max());

}  // namespace engine
