// The periodic throughput line reads as vLLM's: prompt and generation tokens
// per second over the interval, running and waiting requests, and the share
// of the KV cache that running sequences hold. An idle server stays quiet.
#include "engine/server/throughput_log.h"

#include <catch2/catch.hpp>

using namespace engine;
using namespace engine::server;

namespace {

SchedulerMetrics Snapshot(std::uint64_t prompt, std::uint64_t generated, std::int64_t running, std::int64_t waiting,
                          std::int64_t kv_used) {
  SchedulerMetrics m;
  m.prompt_tokens = prompt;
  m.generated_tokens = generated;
  m.running_sequences = running;
  m.queue_depth = waiting;
  m.kv_blocks_total = 64;
  m.kv_blocks_used = kv_used;
  m.kv_blocks_cached = 4;  // evictable: not usage
  m.kv_blocks_free = 64 - kv_used - 4;
  return m;
}

}  // namespace

TEST_CASE("Each interval with work logs its throughput, requests and KV cache usage, and idle ones log nothing") {
  ThroughputLog log(Snapshot(100, 1000, 0, 0, 0));
  // Idle since start: nothing.
  CHECK_FALSE(log.Next(Snapshot(100, 1000, 0, 0, 0), 10));
  // 410 prompt and 125 generated tokens in 10 s; 2 running, 1 waiting, 2 of 64 blocks held.
  CHECK(log.Next(Snapshot(510, 1125, 2, 1, 2), 10) ==
        "Avg prompt throughput: 41.0 tokens/s, Avg generation throughput: 12.5 tokens/s, Running: 2 reqs, "
        "Waiting: 1 reqs, KV cache usage: 3.1%");
  // The first idle interval after work shows the drop to zero; the next is quiet.
  CHECK(log.Next(Snapshot(510, 1125, 0, 0, 0), 5) ==
        "Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 0.0 tokens/s, Running: 0 reqs, "
        "Waiting: 0 reqs, KV cache usage: 0.0%");
  CHECK_FALSE(log.Next(Snapshot(510, 1125, 0, 0, 0), 5));
  // A request waiting with no tokens moving is work.
  CHECK(log.Next(Snapshot(510, 1125, 0, 1, 0), 5) ==
        "Avg prompt throughput: 0.0 tokens/s, Avg generation throughput: 0.0 tokens/s, Running: 0 reqs, "
        "Waiting: 1 reqs, KV cache usage: 0.0%");
}

TEST_CASE("KV cache usage counts blocks running sequences hold, not evictable prefix-cache blocks") {
  CHECK(KvCacheUsage(Snapshot(0, 0, 1, 0, 16)) == 0.25);
  CHECK(KvCacheUsage(SchedulerMetrics{}) == 0);
}
