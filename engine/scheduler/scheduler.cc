// Scheduler: the loop thread around ContinuousBatch, and the thread-safe
// entry points.
//
// Shared state (inbox_, cancels_, stopping_, published_, rejected_,
// next_id_) is guarded by mu_. Everything in batch_ belongs to the loop
// thread. Callbacks run on the loop thread without mu_ held, so they may call
// Submit, Cancel and Metrics.
#include "engine/scheduler/scheduler.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>

#include "engine/scheduler/continuous_batch.h"

namespace engine {
namespace {

Status ValidateOptions(const SchedulerOptions& o, const KvCache& cache) {
  auto bad = [](const std::string& what) { return cluster::InvalidArgumentError("scheduler: " + what); };
  if (o.max_batch_tokens < 1) return bad("max_batch_tokens must be >= 1, got " + std::to_string(o.max_batch_tokens));
  if (o.max_running_sequences < 1) {
    return bad("max_running_sequences must be >= 1, got " + std::to_string(o.max_running_sequences));
  }
  if (o.max_queued_requests < 1) {
    return bad("max_queued_requests must be >= 1, got " + std::to_string(o.max_queued_requests));
  }
  if (o.max_context_tokens < 0) {
    return bad("max_context_tokens must be >= 0 (0: the model's), got " + std::to_string(o.max_context_tokens));
  }
  if (cache.shape().num_blocks < 1) return bad("the KV cache has no blocks");
  return Status::Ok();
}

}  // namespace

class Scheduler::Loop {
 public:
  Loop(LanguageModel& model, KvCache& cache, const SchedulerOptions& options, std::vector<std::int32_t> eos,
       TokenTextDecoderFactory factory)
      : model_(model),
        options_(options),
        has_factory_(factory != nullptr),
        context_limit_(ContextLimit(model, cache, options)),
        batch_(model, cache, options, std::move(eos), std::move(factory)) {
    published_ = batch_.Metrics();
  }

  static std::int64_t ContextLimit(const LanguageModel& model, const KvCache& cache, const SchedulerOptions& o) {
    const std::int64_t model_limit = model.config().max_position_embeddings;
    std::int64_t limit = o.max_context_tokens > 0 ? std::min(o.max_context_tokens, model_limit) : model_limit;
    return std::min(limit, cache.shape().num_blocks * cache.shape().block_size);
  }

  Status Start() {
    try {
      thread_ = std::thread([this] { Run(); });
    } catch (const std::system_error& e) {
      return cluster::ResourceExhaustedError(std::string("scheduler: cannot start the loop thread: ") + e.what());
    }
    return Status::Ok();
  }

  StatusOr<SequenceId> Submit(SequenceRequest request, SequenceUpdateCallback on_update) {
    Status valid = Validate(request, on_update);
    std::unique_lock lock(mu_);
    if (!valid.ok()) {
      ++rejected_;
      return valid;
    }
    if (stopping_) {
      ++rejected_;
      return cluster::UnavailableError("scheduler: shutting down; not accepting requests");
    }
    const auto queued = static_cast<std::int64_t>(inbox_.size()) + published_.queue_depth;
    if (queued >= options_.max_queued_requests) {
      ++rejected_;
      return cluster::ResourceExhaustedError("scheduler: " + std::to_string(queued) +
                                             " requests are queued (max_queued_requests " +
                                             std::to_string(options_.max_queued_requests) + "); retry later");
    }
    const SequenceId id = next_id_++;
    inbox_.push_back(std::make_unique<Sequence>(id, std::move(request), std::move(on_update), context_limit_,
                                                Sequence::Clock::now()));
    lock.unlock();
    cv_.notify_one();
    return id;
  }

  void Cancel(SequenceId id) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;  // Shutdown finishes everything anyway
      cancels_.push_back(id);
    }
    cv_.notify_one();
  }

  SchedulerMetrics Metrics() const {
    std::lock_guard lock(mu_);
    SchedulerMetrics m = published_;
    m.queue_depth += static_cast<std::int64_t>(inbox_.size());
    m.requests_rejected = rejected_;
    return m;
  }

  std::int64_t context_limit() const { return context_limit_; }

  void Shutdown() {
    std::call_once(shutdown_once_, [this] {
      {
        std::lock_guard lock(mu_);
        stopping_ = true;
      }
      cv_.notify_one();
      if (thread_.joinable()) thread_.join();
    });
  }

 private:
  Status Validate(const SequenceRequest& r, const SequenceUpdateCallback& on_update) const {
    using cluster::InvalidArgumentError;
    if (!on_update) return InvalidArgumentError("scheduler: on_update must not be empty");
    if (r.prompt_ids.empty()) return InvalidArgumentError("scheduler: the prompt has no tokens");
    CLUSTER_RETURN_IF_ERROR(ValidateSamplingParams(r.params));
    if (!r.params.stop.empty() && r.decoder == nullptr && !has_factory_) {
      return InvalidArgumentError("scheduler: stop strings need a tokenizer to turn tokens into text");
    }
    const std::int64_t vocab = model_.config().vocab_size;
    for (std::size_t i = 0; i < r.prompt_ids.size(); ++i) {
      if (r.prompt_ids[i] < 0 || r.prompt_ids[i] >= vocab) {
        return InvalidArgumentError("scheduler: prompt token " + std::to_string(i) + " is id " +
                                    std::to_string(r.prompt_ids[i]) + ", outside the vocabulary [0, " +
                                    std::to_string(vocab) + ")");
      }
    }
    const auto prompt = static_cast<std::int64_t>(r.prompt_ids.size());
    if (prompt + r.params.max_tokens > context_limit_) {
      return InvalidArgumentError("scheduler: prompt of " + std::to_string(prompt) + " tokens + max_tokens " +
                                  std::to_string(r.params.max_tokens) + " exceeds the context of " +
                                  std::to_string(context_limit_) + " tokens");
    }
    return Status::Ok();
  }

  // The loop thread.
  void Run() {
    while (true) {
      std::deque<std::unique_ptr<Sequence>> arrived;
      std::vector<SequenceId> cancels;
      bool stop = false;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !inbox_.empty() || !cancels_.empty() || batch_.has_work(); });
        arrived.swap(inbox_);
        cancels.swap(cancels_);
        stop = stopping_;
        published_.queue_depth += static_cast<std::int64_t>(arrived.size());  // still counted until admitted
      }
      for (auto& seq : arrived) batch_.Add(std::move(seq));
      for (SequenceId id : cancels) batch_.Cancel(id, cluster::CancelledError("scheduler: request cancelled"));
      if (stop) batch_.CancelAll(cluster::UnavailableError("scheduler: shutting down"));
      PublishAndDeliver();
      if (stop) return;
      if (!batch_.has_work()) continue;
      batch_.FillPipeline([this] { Publish(); });  // queue depth, running and blocks as each step starts
      batch_.CompleteOldest();
      PublishAndDeliver();
    }
  }

  // Metrics first, so a client that got its final update sees it counted.
  void PublishAndDeliver() {
    Publish();
    batch_.DeliverUpdates();
  }

  void Publish() {
    SchedulerMetrics m = batch_.Metrics();
    std::lock_guard lock(mu_);
    published_ = std::move(m);
  }

  LanguageModel& model_;
  const SchedulerOptions options_;
  const bool has_factory_;
  const std::int64_t context_limit_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Sequence>> inbox_;  // guarded by mu_
  std::vector<SequenceId> cancels_;              // guarded by mu_
  bool stopping_ = false;                        // guarded by mu_
  SchedulerMetrics published_;                   // guarded by mu_
  std::uint64_t rejected_ = 0;                   // guarded by mu_
  SequenceId next_id_ = 1;                       // guarded by mu_

  ContinuousBatch batch_;  // loop thread only (and construction/destruction)
  std::thread thread_;
  std::once_flag shutdown_once_;
};

StatusOr<std::unique_ptr<Scheduler>> Scheduler::Create(LanguageModel& model, KvCache& cache,
                                                       SchedulerOptions options,
                                                       std::vector<std::int32_t> eos_token_ids,
                                                       TokenTextDecoderFactory decoder_factory) {
  CLUSTER_RETURN_IF_ERROR(ValidateOptions(options, cache));
  auto loop = std::make_unique<Loop>(model, cache, options, std::move(eos_token_ids), std::move(decoder_factory));
  CLUSTER_RETURN_IF_ERROR(loop->Start());
  return std::unique_ptr<Scheduler>(new Scheduler(std::move(loop)));
}

Scheduler::Scheduler(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

Scheduler::~Scheduler() { Shutdown(); }

StatusOr<SequenceId> Scheduler::Submit(SequenceRequest request, SequenceUpdateCallback on_update) {
  return loop_->Submit(std::move(request), std::move(on_update));
}

void Scheduler::Cancel(SequenceId id) { loop_->Cancel(id); }

SchedulerMetrics Scheduler::Metrics() const { return loop_->Metrics(); }

std::int64_t Scheduler::context_limit() const { return loop_->context_limit(); }

void Scheduler::Shutdown() { loop_->Shutdown(); }

}  // namespace engine
