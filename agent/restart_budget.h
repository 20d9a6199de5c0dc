// How runtime.restart decides whether a stopped gang starts again, and when:
// a pure function of the policy, why the gang stopped and the restarts it
// already had, so that it is tested without processes or clocks.
//
//   never       no restart.
//   on-failure  after a failure (exit code other than 0, signal, a unit that
//               could not start, Ray not seeing the GPUs in time).
//   always      also after a unit that exited with code 0, and after a host's
//               agent restarted (its units had ended with it).
//
// At most policy.max_restarts restarts within policy.window_s; the delay
// before one is backoff_s x 2^(restarts already in the window), at most
// kMaxRestartDelayS (or backoff_s where that is longer).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/messages.h"

namespace cluster::agent {

inline constexpr int kMaxRestartDelayS = 300;

struct RestartDecision {
  bool restart = false;
  int delay_s = 0;           // when restart
  std::string why_not;       // when !restart: what status shows after "not restarted: "
};

// `failure` is why the gang stopped (its cause); `restarts_unix_ms` the
// times of the gang's earlier restarts; `now_unix_ms` the time now.
RestartDecision DecideRestart(const control::RestartPolicy& policy, const control::GangFailure& failure,
                              const std::vector<std::int64_t>& restarts_unix_ms, std::int64_t now_unix_ms);

}  // namespace cluster::agent
