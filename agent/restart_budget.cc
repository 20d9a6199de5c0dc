#include "agent/restart_budget.h"

#include <algorithm>

#include <fmt/format.h>

namespace cluster::agent {

RestartDecision DecideRestart(const control::RestartPolicy& policy, const control::GangFailure& failure,
                              const std::vector<std::int64_t>& restarts_unix_ms, std::int64_t now_unix_ms) {
  using control::RestartPolicyKind;
  RestartDecision d;
  switch (policy.policy) {
    case RestartPolicyKind::kNever:
      d.why_not = "runtime.restart is never (on-failure restarts the gang after a failure)";
      return d;
    case RestartPolicyKind::kOnFailure:
      if (failure.cause == "exited") {
        d.why_not = fmt::format("{} exited with code 0 and runtime.restart on-failure restarts only after a failure "
                                "(always restarts it too)",
                                failure.unit);
        return d;
      }
      if (failure.cause == "agent-restarted") {
        d.why_not = fmt::format("the agent of {} restarted and runtime.restart on-failure restarts only after a "
                                "failure of a rank or container (always brings the deployment back)",
                                failure.host);
        return d;
      }
      break;
    case RestartPolicyKind::kAlways:
      break;
  }
  const std::int64_t window_start = now_unix_ms - std::int64_t{policy.window_s} * 1000;
  const int recent = static_cast<int>(std::count_if(restarts_unix_ms.begin(), restarts_unix_ms.end(),
                                                    [&](std::int64_t t) { return t > window_start; }));
  if (recent >= policy.max_restarts) {
    d.why_not = fmt::format("{} restart{} within {} already (runtime.restart max {}, window {}); fix the cause and "
                            "run `clusterctl up`",
                            recent, recent == 1 ? "" : "s", control::DurationText(policy.window_s), policy.max_restarts,
                            control::DurationText(policy.window_s));
    return d;
  }
  const std::int64_t cap = std::max(kMaxRestartDelayS, policy.backoff_s);
  std::int64_t delay = policy.backoff_s;
  for (int i = 0; i < recent && delay < cap; ++i) delay *= 2;
  d.restart = true;
  d.delay_s = static_cast<int>(std::min(delay, cap));
  return d;
}

}  // namespace cluster::agent
