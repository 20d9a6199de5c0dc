#include "engine/scheduler/continuous_batch.h"

#include <algorithm>

#include "engine/scheduler/scheduler_metrics.h"
#include "engine/scheduler/step_builder.h"

namespace engine {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

ContinuousBatch::ContinuousBatch(LanguageModel& model, KvCache& cache, const SchedulerOptions& options,
                                 std::vector<std::int32_t> eos_token_ids, TokenTextDecoderFactory decoder_factory)
    : model_(model),
      blocks_(cache, options.enable_prefix_caching),
      options_(options),
      eos_token_ids_(std::move(eos_token_ids)),
      decoder_factory_(std::move(decoder_factory)) {
  metrics_.step_latency = MakeStepLatencyHistogram();
  metrics_.time_to_first_token = MakeTimeToFirstTokenHistogram();
}

ContinuousBatch::~ContinuousBatch() {
  CancelAll(cluster::UnavailableError("scheduler: shutting down"));
  DeliverUpdates();
}

void ContinuousBatch::Add(std::unique_ptr<Sequence> seq) {
  if (!seq->has_decoder() && decoder_factory_) seq->SetDecoderIfNone(decoder_factory_());
  waiting_.push_back(seq.get());
  const SequenceId id = seq->id();
  sequences_.emplace(id, std::move(seq));
}

bool ContinuousBatch::Cancel(SequenceId id, const Status& why) {
  const auto it = sequences_.find(id);
  if (it == sequences_.end()) return false;
  ++metrics_.requests_cancelled;
  Finish(it->second.get(), why);
  return true;
}

void ContinuousBatch::CancelAll(const Status& why) {
  std::vector<SequenceId> ids;
  for (const Sequence* seq : running_) ids.push_back(seq->id());
  for (const Sequence* seq : waiting_) ids.push_back(seq->id());
  for (SequenceId id : ids) Cancel(id, why);
}

void ContinuousBatch::Finish(Sequence* seq, const Status& status) {
  blocks_.ReleaseBlocks(seq->blocks);
  seq->block_hashes.clear();
  if (seq->running) {
    running_.erase(std::find(running_.begin(), running_.end(), seq));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), seq));
  }
  seq->MarkFinished(status);
  const auto it = sequences_.find(seq->id());
  finished_.push_back(std::move(it->second));
  sequences_.erase(it);
}

void ContinuousBatch::DeliverUpdates() {
  for (Sequence* seq : updated_) {
    if (!seq->finished()) seq->Deliver();  // a finished one's tokens go out in its final update
  }
  updated_.clear();
  for (auto& seq : finished_) seq->Deliver();
  finished_.clear();
}

StepPlan ContinuousBatch::Schedule(std::int64_t max_chunks) {
  StepPlan plan = PlanStep(running_, waiting_, blocks_, options_, max_chunks);
  metrics_.preemptions += plan.preempted.size();
  metrics_.prefill_tokens_cached += static_cast<std::uint64_t>(plan.prefix_cached_tokens);
  for (Sequence* seq : plan.admitted) {
    if (seq->admitted_before) continue;
    seq->admitted_before = true;
    seq->cached_prompt_tokens = std::min(seq->num_computed, seq->prompt_len());
    metrics_.prompt_tokens += static_cast<std::uint64_t>(seq->prompt_len());
  }
  return plan;
}

void ContinuousBatch::MarkComputed(Sequence* seq, std::int64_t count) {
  seq->num_computed += count;
  const int bs = blocks_.block_size();
  const auto tokens = seq->tokens();
  while (static_cast<std::int64_t>(seq->block_hashes.size() + 1) * bs <= seq->num_computed) {
    const std::size_t b = seq->block_hashes.size();
    const std::optional<std::uint64_t> parent =
        b == 0 ? std::nullopt : std::optional<std::uint64_t>(seq->block_hashes.back());
    seq->block_hashes.push_back(
        blocks_.RegisterFullBlock(seq->blocks[b], parent, tokens.subspan(b * static_cast<std::size_t>(bs),
                                                                         static_cast<std::size_t>(bs))));
  }
}

void ContinuousBatch::Run(const StepPlan& plan) {
  Submit(plan);
  if (!plan.chunks.empty()) CompleteOldest();
}

void ContinuousBatch::FillPipeline(const std::function<void()>& planned) {
  const auto depth = static_cast<std::size_t>(std::max(1, model_.pipeline_depth()));
  while (in_flight_.size() < depth) {
    // With several micro-batches in flight, each takes its share of the sequences.
    std::int64_t max_chunks = std::numeric_limits<std::int64_t>::max();
    if (depth > 1) {
      const auto sequences = static_cast<std::int64_t>(running_.size() + waiting_.size());
      max_chunks = std::max<std::int64_t>(1, (sequences + static_cast<std::int64_t>(depth) - 1) /
                                                 static_cast<std::int64_t>(depth));
    }
    const StepPlan plan = Schedule(max_chunks);
    if (plan.chunks.empty()) break;
    if (planned) planned();
    Submit(plan);
  }
}

void ContinuousBatch::Submit(const StepPlan& plan) {
  if (plan.chunks.empty()) return;
  InFlightStep step;
  step.started = plan.started;
  for (const ScheduledChunk& chunk : plan.chunks) {
    step.chunks.push_back({chunk.seq->id(), chunk.count, chunk.is_decode, chunk.samples});
    chunk.seq->in_flight = true;
  }
  model_.Submit(BuildForwardBatch(plan, blocks_.block_size()), blocks_.cache());
  in_flight_.push_back(std::move(step));
}

void ContinuousBatch::CompleteOldest() {
  if (in_flight_.empty()) return;
  const InFlightStep step = std::move(in_flight_.front());
  in_flight_.pop_front();
  StatusOr<Logits> logits = model_.Collect();
  ++metrics_.steps;
  // The step's sequences that are still here (one cancelled meanwhile is gone).
  std::vector<Sequence*> seqs;
  for (const InFlightStep::Chunk& chunk : step.chunks) {
    const auto it = sequences_.find(chunk.id);
    Sequence* seq = it == sequences_.end() ? nullptr : it->second.get();
    if (seq != nullptr) seq->in_flight = false;
    seqs.push_back(seq);
  }
  if (!logits.ok()) {
    for (Sequence* seq : seqs) {
      if (seq == nullptr) continue;
      ++metrics_.requests_failed;
      Finish(seq, logits.status());
    }
    Observe(metrics_.step_latency, SecondsSince(step.started));
    return;
  }
  for (std::size_t i = 0; i < step.chunks.size(); ++i) {
    if (seqs[i] == nullptr) continue;
    MarkComputed(seqs[i], step.chunks[i].count);
    if (!step.chunks[i].is_decode) metrics_.prefill_tokens_computed += static_cast<std::uint64_t>(step.chunks[i].count);
  }
  std::int64_t row = 0;
  for (std::size_t i = 0; i < step.chunks.size(); ++i) {
    if (!step.chunks[i].samples) continue;
    const std::int64_t r = row++;
    Sequence* seq = seqs[i];
    if (seq == nullptr) continue;
    const bool done = seq->AcceptToken(*logits, r, eos_token_ids_);
    ++metrics_.generated_tokens;
    if (!seq->first_token_seen) {
      seq->first_token_seen = true;
      Observe(metrics_.time_to_first_token, SecondsSince(seq->submitted()));
    }
    if (done) {
      ++(seq->finish_reason() == FinishReason::kStop ? metrics_.requests_finished_stop
                                                     : metrics_.requests_finished_length);
      Finish(seq, Status::Ok());
    } else {
      updated_.push_back(seq);
    }
  }
  Observe(metrics_.step_latency, SecondsSince(step.started));
}

SchedulerMetrics ContinuousBatch::Metrics() const {
  SchedulerMetrics m = metrics_;
  m.queue_depth = num_waiting();
  m.running_sequences = num_running();
  m.kv_blocks_total = blocks_.num_total();
  m.kv_blocks_used = blocks_.num_used();
  m.kv_blocks_cached = blocks_.num_cached();
  m.kv_blocks_free = blocks_.num_free();
  return m;
}

}  // namespace engine
