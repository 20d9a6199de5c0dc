// ThroughputLog: the periodic line vLLM logs, from two snapshots of the
// scheduler's metrics:
//
//   Avg prompt throughput: 41.0 tokens/s, Avg generation throughput: 12.5 tokens/s, Running: 2 reqs,
//   Waiting: 0 reqs, KV cache usage: 3.1%
//
// (one line). Prompt tokens are those of admitted sequences, generation
// tokens those sampled, both over the interval; running and waiting are
// sequences now; KV cache usage is the share of blocks held by running
// sequences (prefix-cache blocks nobody holds are evictable: free, as vLLM
// counts them). An idle server stays quiet: no line when nothing ran in this
// interval or the one before (the one after activity shows the drop to 0).
//
// Used by one thread (the server's I/O thread); no locking.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/scheduler/scheduler.h"

namespace engine::server {

// Blocks held by running sequences / all blocks, in [0, 1]; 0 without blocks.
double KvCacheUsage(const SchedulerMetrics& metrics);

class ThroughputLog {
 public:
  // `start`: the metrics when the interval began.
  explicit ThroughputLog(const SchedulerMetrics& start);
  // The line for the `seconds` since the previous call (or construction),
  // ending with `now`; nothing when idle (see above).
  std::optional<std::string> Next(const SchedulerMetrics& now, double seconds);

 private:
  std::uint64_t prompt_tokens_, generated_tokens_;
  bool was_active_ = false;
};

}  // namespace engine::server
