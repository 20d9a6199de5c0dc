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

StepPlan ContinuousBatch::Schedule() {
  StepPlan plan = PlanStep(running_, waiting_, blocks_, options_);
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
  if (plan.chunks.empty()) return;
  StatusOr<Logits> logits = model_.Forward(BuildForwardBatch(plan, blocks_.block_size()), blocks_.cache());
  ++metrics_.steps;
  if (!logits.ok()) {
    for (const ScheduledChunk& chunk : plan.chunks) {
      ++metrics_.requests_failed;
      Finish(chunk.seq, logits.status());
    }
    Observe(metrics_.step_latency, SecondsSince(plan.started));
    return;
  }
  for (const ScheduledChunk& chunk : plan.chunks) {
    MarkComputed(chunk.seq, chunk.count);
    if (!chunk.is_decode) metrics_.prefill_tokens_computed += static_cast<std::uint64_t>(chunk.count);
  }
  const std::vector<const ScheduledChunk*> sampled = SampledChunks(plan);
  for (std::size_t r = 0; r < sampled.size(); ++r) {
    Sequence* seq = sampled[r]->seq;
    const bool done = seq->AcceptToken(*logits, static_cast<std::int64_t>(r), eos_token_ids_);
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
  Observe(metrics_.step_latency, SecondsSince(plan.started));
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
