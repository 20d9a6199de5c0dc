// Test doubles for the server: a scripted SequenceService and an Exchange
// that records what it is sent.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "engine/server/exchange.h"
#include "engine/server/generation_job.h"
#include "engine/server/sequence_service.h"

namespace engine::server::testing {

// One finished update with text `text` and `tokens`; its usage counts
// `tokens` as all the completion's tokens.
inline SequenceUpdate Finished(std::string text, std::vector<std::int32_t> tokens, FinishReason reason,
                               std::int64_t prompt_tokens) {
  SequenceUpdate u;
  u.text = std::move(text);
  u.token_ids = std::move(tokens);
  u.finished = true;
  u.finish_reason = reason;
  u.prompt_tokens = prompt_tokens;
  u.completion_tokens = static_cast<std::int64_t>(u.token_ids.size());
  return u;
}

inline SequenceUpdate Partial(std::string text, std::vector<std::int32_t> tokens) {
  SequenceUpdate u;
  u.text = std::move(text);
  u.token_ids = std::move(tokens);
  return u;
}

// A SequenceService whose sequences produce scripted updates.
//   - script (default: none): Submit delivers these updates at once (through
//     the callback, as the scheduler thread would);
//   - hold: Submit keeps the sequence; Cancel finishes it with Cancelled;
//     Deliver sends updates later;
//   - reject_with: Submit fails with this status.
// Thread-safe: the server calls it from its I/O thread, tests from theirs.
class FakeSequenceService final : public SequenceService {
 public:
  using Script = std::function<std::vector<SequenceUpdate>(const SequenceRequest&)>;

  StatusOr<SequenceId> Submit(SequenceRequest request, SequenceUpdateCallback on_update) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!reject_with.ok()) return reject_with;
    const SequenceId id = next_id_++;
    submitted.push_back(request.prompt_ids);
    params.push_back(request.params);
    if (hold) {
      held_[id] = std::move(on_update);
      cv_.notify_all();
      return id;
    }
    std::vector<SequenceUpdate> updates = script ? script(request) : std::vector<SequenceUpdate>{};
    lock.unlock();
    for (SequenceUpdate& u : updates) {
      u.id = id;
      on_update(u);
    }
    return id;
  }

  void Cancel(SequenceId id) override {
    SequenceUpdateCallback callback;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled.push_back(id);
      cv_.notify_all();
      auto it = held_.find(id);
      if (it == held_.end()) return;
      callback = std::move(it->second);
      held_.erase(it);
    }
    SequenceUpdate u;
    u.id = id;
    u.finished = true;
    u.status = cluster::CancelledError("cancelled");
    callback(u);
  }

  SchedulerMetrics Metrics() const override { return metrics; }
  std::int64_t context_limit() const override { return context; }

  // Sends `u` to held sequence `id` (removing it when u.finished).
  void Deliver(SequenceId id, SequenceUpdate u) {
    SequenceUpdateCallback callback;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = held_.find(id);
      if (it == held_.end()) return;
      callback = it->second;
      if (u.finished) held_.erase(it);
    }
    u.id = id;
    callback(u);
  }

  // Waits until `count` sequences are held (or cancelled), up to 10 s.
  bool WaitHeld(std::size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return held_.size() >= count; });
  }
  bool WaitCancelled(std::size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return cancelled.size() >= count; });
  }
  std::size_t held_count() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.size();
  }
  std::vector<SequenceId> cancelled_ids() {
    std::lock_guard<std::mutex> lock(mu_);
    return cancelled;
  }

  // Settings (set before use).
  Script script;
  bool hold = false;
  Status reject_with;
  std::int64_t context = 512;
  SchedulerMetrics metrics;

  // Records (read under no concurrency, or through the accessors).
  std::vector<std::vector<std::int32_t>> submitted;
  std::vector<SamplingParams> params;
  std::vector<SequenceId> cancelled;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  SequenceId next_id_ = 1;
  std::map<SequenceId, SequenceUpdateCallback> held_;
};

// Records the answer; not thread-safe (used on one thread).
class RecordingExchange final : public Exchange {
 public:
  void Reply(HttpReply r) override {
    reply = std::move(r);
    complete = true;
  }
  void BeginEvents() override { streaming = true; }
  void SendEvent(std::string framed) override { events.push_back(std::move(framed)); }
  void EndEvents() override { complete = true; }
  void OnClientGone(std::function<void()> h) override { client_gone = std::move(h); }

  std::optional<HttpReply> reply;
  bool streaming = false;
  bool complete = false;
  std::vector<std::string> events;
  std::function<void()> client_gone;
};

// Runs posted tasks when the test says so (the I/O thread, by hand).
struct ManualIoThread {
  std::deque<std::function<void()>> tasks;
  std::mutex mu;
  PostToIoThread post() {
    return [this](std::function<void()> task) {
      std::lock_guard<std::mutex> lock(mu);
      tasks.push_back(std::move(task));
    };
  }
  void RunAll() {
    while (true) {
      std::function<void()> task;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (tasks.empty()) return;
        task = std::move(tasks.front());
        tasks.pop_front();
      }
      task();
    }
  }
};

}  // namespace engine::server::testing
