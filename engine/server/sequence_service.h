// SequenceService: what the server needs from the continuous-batching
// scheduler (engine/scheduler/scheduler.h), behind an interface so the HTTP
// layer can be tested with a scripted fake.
//
// The contract is Scheduler's: Submit is thread-safe and returns an id or
// InvalidArgument / ResourceExhausted (queue full) / Unavailable (shutting
// down); every accepted sequence gets exactly one finished update, last;
// updates arrive on another thread (the scheduler's loop), so the server
// posts them to its I/O thread before touching any state; Cancel never
// blocks and ignores unknown ids.
#pragma once

#include <cstdint>

#include "engine/scheduler/scheduler.h"

namespace engine::server {

class SequenceService {
 public:
  virtual ~SequenceService() = default;
  virtual StatusOr<SequenceId> Submit(SequenceRequest request, SequenceUpdateCallback on_update) = 0;
  virtual void Cancel(SequenceId id) = 0;
  virtual SchedulerMetrics Metrics() const = 0;
  // The longest prompt + max_tokens Submit accepts.
  virtual std::int64_t context_limit() const = 0;
};

// The real one: forwards to a Scheduler, which must outlive it.
class SchedulerService final : public SequenceService {
 public:
  explicit SchedulerService(Scheduler& scheduler) : scheduler_(scheduler) {}
  StatusOr<SequenceId> Submit(SequenceRequest request, SequenceUpdateCallback on_update) override {
    return scheduler_.Submit(std::move(request), std::move(on_update));
  }
  void Cancel(SequenceId id) override { scheduler_.Cancel(id); }
  SchedulerMetrics Metrics() const override { return scheduler_.Metrics(); }
  std::int64_t context_limit() const override { return scheduler_.context_limit(); }

 private:
  Scheduler& scheduler_;
};

}  // namespace engine::server
