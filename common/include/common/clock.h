// The wall clock as the agent protocol and the logs carry it.
#pragma once

#include <chrono>
#include <cstdint>

namespace cluster {

// Milliseconds since the Unix epoch (UTC), from the system clock.
inline std::int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace cluster
