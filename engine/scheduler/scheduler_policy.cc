#include "engine/scheduler/scheduler_policy.h"

#include <algorithm>

namespace engine {
namespace {

std::int64_t BlocksFor(std::int64_t tokens, int block_size) { return (tokens + block_size - 1) / block_size; }

class Planner {
 public:
  Planner(std::vector<Sequence*>& running, std::deque<Sequence*>& waiting, KvBlockManager& blocks,
          const SchedulerOptions& options, std::int64_t max_chunks)
      : running_(running),
        waiting_(waiting),
        blocks_(blocks),
        options_(options),
        budget_(options.max_batch_tokens),
        chunks_left_(max_chunks) {
    plan_.started = std::chrono::steady_clock::now();
  }

  StepPlan Run() {
    const std::vector<Sequence*> oldest_first = running_;  // running_ shrinks as sequences are preempted
    for (Sequence* seq : oldest_first) {
      if (budget_ == 0 || chunks_left_ == 0) break;
      if (seq->running && !seq->in_flight && seq->is_decoding() && Grow(seq, seq->num_tokens())) {
        Schedule(seq, 1, true);
      }
    }
    for (Sequence* seq : oldest_first) {
      if (budget_ == 0 || chunks_left_ == 0) break;
      if (!seq->running || seq->in_flight || seq->is_decoding()) continue;
      const std::int64_t count = std::min(budget_, seq->num_uncomputed());
      if (Grow(seq, seq->num_computed + count)) Schedule(seq, count, false);
    }
    if (plan_.preempted.empty()) Admit();
    return std::move(plan_);
  }

 private:
  void Schedule(Sequence* seq, std::int64_t count, bool is_decode) {
    plan_.chunks.push_back(
        ScheduledChunk{seq, seq->num_computed, count, is_decode, seq->num_computed + count == seq->num_tokens()});
    budget_ -= count;
    --chunks_left_;
  }

  void Preempt(Sequence* victim) {
    const auto chunk = std::find_if(plan_.chunks.begin(), plan_.chunks.end(),
                                    [victim](const ScheduledChunk& c) { return c.seq == victim; });
    if (chunk != plan_.chunks.end()) {
      budget_ += chunk->count;
      ++chunks_left_;
      plan_.chunks.erase(chunk);
    }
    blocks_.ReleaseBlocks(victim->blocks);
    victim->block_hashes.clear();
    victim->num_computed = 0;
    victim->running = false;
    running_.erase(std::find(running_.begin(), running_.end(), victim));
    waiting_.push_front(victim);
    plan_.preempted.push_back(victim);
  }

  // Gives `seq` the blocks for positions [0, tokens), preempting the youngest
  // running sequences not in flight while too few are available. False if
  // `seq` itself had to go, or only sequences in flight could make room
  // (then `seq` waits for the next plan).
  bool Grow(Sequence* seq, std::int64_t tokens) {
    const std::int64_t need = BlocksFor(tokens, blocks_.block_size()) - static_cast<std::int64_t>(seq->blocks.size());
    while (need > blocks_.num_available()) {
      const auto victim = std::find_if(running_.rbegin(), running_.rend(), [](Sequence* s) { return !s->in_flight; });
      if (victim == running_.rend()) return false;
      Sequence* going = *victim;
      Preempt(going);
      if (going == seq) return false;
    }
    return blocks_.AllocateBlocks(need, seq->blocks).ok();  // cannot fail: need <= available
  }

  void Admit() {
    const int bs = blocks_.block_size();
    while (budget_ > 0 && chunks_left_ > 0 && !waiting_.empty() &&
           static_cast<std::int64_t>(running_.size()) < options_.max_running_sequences) {
      Sequence* seq = waiting_.front();
      // Cached blocks may cover every full block before the last token's.
      const std::vector<std::int32_t> hits = blocks_.MatchCachedPrefix(seq->tokens(), (seq->num_tokens() - 1) / bs);
      const std::int64_t computed = static_cast<std::int64_t>(hits.size()) * bs;
      const std::int64_t count = std::min(budget_, seq->num_tokens() - computed);
      const std::int64_t need = BlocksFor(computed + count, bs) - static_cast<std::int64_t>(hits.size());
      if (need > blocks_.num_available() - blocks_.CountUnreferenced(hits)) break;  // FCFS: wait for blocks

      seq->block_hashes = blocks_.AcquireCached(hits);
      seq->blocks = hits;
      if (!blocks_.AllocateBlocks(need, seq->blocks).ok()) {  // cannot fail: checked above
        blocks_.ReleaseBlocks(seq->blocks);
        seq->block_hashes.clear();
        break;
      }
      seq->num_computed = computed;
      seq->running = true;
      waiting_.pop_front();
      running_.push_back(seq);
      plan_.admitted.push_back(seq);
      plan_.prefix_cached_tokens += computed;
      Schedule(seq, count, false);
    }
  }

  std::vector<Sequence*>& running_;
  std::deque<Sequence*>& waiting_;
  KvBlockManager& blocks_;
  const SchedulerOptions& options_;
  std::int64_t budget_;
  std::int64_t chunks_left_;
  StepPlan plan_;
};

}  // namespace

std::int64_t StepPlan::num_tokens() const {
  std::int64_t n = 0;
  for (const ScheduledChunk& c : chunks) n += c.count;
  return n;
}

StepPlan PlanStep(std::vector<Sequence*>& running, std::deque<Sequence*>& waiting, KvBlockManager& blocks,
                  const SchedulerOptions& options, std::int64_t max_chunks) {
  return Planner(running, waiting, blocks, options, max_chunks).Run();
}

}  // namespace engine
