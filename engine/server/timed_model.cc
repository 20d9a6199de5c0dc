#include "engine/server/timed_model.h"

#include <chrono>

namespace engine::server {

StatusOr<Logits> TimedModel::Forward(const ForwardBatch& batch, KvCache& cache) {
  const auto start = std::chrono::steady_clock::now();
  StatusOr<Logits> logits = model_.Forward(batch, cache);
  const auto nanoseconds =
      static_cast<std::uint64_t>(std::chrono::nanoseconds(std::chrono::steady_clock::now() - start).count());
  nanoseconds_.fetch_add(nanoseconds, std::memory_order_relaxed);
  calls_.fetch_add(1, std::memory_order_relaxed);
  if (!batch.token_ids.empty() && batch.logit_rows.size() == batch.token_ids.size()) {
    decode_nanoseconds_.fetch_add(nanoseconds, std::memory_order_relaxed);
    decode_calls_.fetch_add(1, std::memory_order_relaxed);
  }
  return logits;
}

ModelTiming TimedModel::timing() const {
  return ModelTiming{calls_.load(std::memory_order_relaxed),
                     static_cast<double>(nanoseconds_.load(std::memory_order_relaxed)) * 1e-9,
                     decode_calls_.load(std::memory_order_relaxed),
                     static_cast<double>(decode_nanoseconds_.load(std::memory_order_relaxed)) * 1e-9};
}

}  // namespace engine::server
