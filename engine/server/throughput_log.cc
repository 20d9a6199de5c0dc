#include "engine/server/throughput_log.h"

#include <fmt/format.h>

namespace engine::server {

double KvCacheUsage(const SchedulerMetrics& m) {
  if (m.kv_blocks_total <= 0) return 0;
  return static_cast<double>(m.kv_blocks_used) / static_cast<double>(m.kv_blocks_total);
}

ThroughputLog::ThroughputLog(const SchedulerMetrics& start)
    : prompt_tokens_(start.prompt_tokens), generated_tokens_(start.generated_tokens) {}

std::optional<std::string> ThroughputLog::Next(const SchedulerMetrics& now, double seconds) {
  const std::uint64_t prompt = now.prompt_tokens - prompt_tokens_;
  const std::uint64_t generated = now.generated_tokens - generated_tokens_;
  prompt_tokens_ = now.prompt_tokens;
  generated_tokens_ = now.generated_tokens;
  const bool active = prompt > 0 || generated > 0 || now.running_sequences > 0 || now.queue_depth > 0;
  const bool quiet = !active && !was_active_;
  was_active_ = active;
  if (quiet) return std::nullopt;
  const double per_second = seconds > 0 ? 1.0 / seconds : 0;
  return fmt::format(
      "Avg prompt throughput: {:.1f} tokens/s, Avg generation throughput: {:.1f} tokens/s, Running: {} reqs, "
      "Waiting: {} reqs, KV cache usage: {:.1f}%",
      static_cast<double>(prompt) * per_second, static_cast<double>(generated) * per_second, now.running_sequences,
      now.queue_depth, KvCacheUsage(now) * 100);
}

}  // namespace engine::server
