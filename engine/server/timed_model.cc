#include "engine/server/timed_model.h"

namespace engine::server {
namespace {

// A pure decode step: every token of the batch had its logits asked for.
bool IsDecode(const ForwardBatch& batch) {
  return !batch.token_ids.empty() && batch.logit_rows.size() == batch.token_ids.size();
}

}  // namespace

void TimedModel::Record(const Submitted& step) {
  const auto nanoseconds =
      static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - step.start).count());
  nanoseconds_.fetch_add(nanoseconds, std::memory_order_relaxed);
  calls_.fetch_add(1, std::memory_order_relaxed);
  if (step.decode) {
    decode_nanoseconds_.fetch_add(nanoseconds, std::memory_order_relaxed);
    decode_calls_.fetch_add(1, std::memory_order_relaxed);
  }
}

StatusOr<Logits> TimedModel::Forward(const ForwardBatch& batch, KvCache& cache) {
  const Submitted step{std::chrono::steady_clock::now(), IsDecode(batch)};
  StatusOr<Logits> logits = model_.Forward(batch, cache);
  Record(step);
  return logits;
}

void TimedModel::Submit(const ForwardBatch& batch, KvCache& cache) {
  submitted_.push_back(Submitted{std::chrono::steady_clock::now(), IsDecode(batch)});
  model_.Submit(batch, cache);
}

StatusOr<Logits> TimedModel::Collect() {
  StatusOr<Logits> logits = model_.Collect();
  Record(submitted_.front());
  submitted_.pop_front();
  return logits;
}

ModelTiming TimedModel::timing() const {
  return ModelTiming{calls_.load(std::memory_order_relaxed),
                     static_cast<double>(nanoseconds_.load(std::memory_order_relaxed)) * 1e-9,
                     decode_calls_.load(std::memory_order_relaxed),
                     static_cast<double>(decode_nanoseconds_.load(std::memory_order_relaxed)) * 1e-9};
}

}  // namespace engine::server
