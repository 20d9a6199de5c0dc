// runtime.restart's decision (agent/restart_budget.h): which stops restart
// the gang, how long the backoff is, and when the limit says no more.
#include "agent/restart_budget.h"

#include <catch2/catch.hpp>

using namespace cluster;
using namespace cluster::agent;
using control::RestartPolicy;
using control::RestartPolicyKind;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

control::GangFailure Stop(const std::string& cause) {
  control::GangFailure f;
  f.host = "h2";
  f.unit = "rank 1";
  f.message = cause == "exited" ? "exited with code 0 while the deployment was running" : "was killed by signal 9";
  f.cause = cause;
  return f;
}

}  // namespace

TEST_CASE("never restarts nothing, and says which policy would") {
  const RestartDecision d = DecideRestart(RestartPolicy{}, Stop("failed"), {}, kNow);
  CHECK_FALSE(d.restart);
  CHECK(d.why_not == "runtime.restart is never (on-failure restarts the gang after a failure)");
}

TEST_CASE("on-failure restarts after a failure, not after an exit with code 0 nor an agent's restart") {
  const RestartPolicy p{RestartPolicyKind::kOnFailure, 5, 600, 10};
  const RestartDecision failed = DecideRestart(p, Stop("failed"), {}, kNow);
  CHECK(failed.restart);
  CHECK(failed.delay_s == 10);
  const RestartDecision exited = DecideRestart(p, Stop("exited"), {}, kNow);
  CHECK_FALSE(exited.restart);
  CHECK(exited.why_not == "rank 1 exited with code 0 and runtime.restart on-failure restarts only after a failure "
                          "(always restarts it too)");
  const RestartDecision agent = DecideRestart(p, Stop("agent-restarted"), {}, kNow);
  CHECK_FALSE(agent.restart);
  CHECK(agent.why_not == "the agent of h2 restarted and runtime.restart on-failure restarts only after a failure of a "
                         "rank or container (always brings the deployment back)");
}

TEST_CASE("always restarts after every kind of stop") {
  const RestartPolicy p{RestartPolicyKind::kAlways, 5, 600, 10};
  for (const char* cause : {"failed", "exited", "agent-restarted"}) {
    INFO(cause);
    CHECK(DecideRestart(p, Stop(cause), {}, kNow).restart);
  }
}

TEST_CASE("The backoff doubles with each restart in the window, up to five minutes") {
  const RestartPolicy p{RestartPolicyKind::kOnFailure, 100, 3600, 10};
  std::vector<std::int64_t> restarts;
  std::vector<int> delays;
  for (int i = 0; i < 7; ++i) {
    delays.push_back(DecideRestart(p, Stop("failed"), restarts, kNow).delay_s);
    restarts.push_back(kNow - 1000);
  }
  CHECK(delays == std::vector<int>{10, 20, 40, 80, 160, 300, 300});
  // A backoff longer than the cap is kept as it is.
  CHECK(DecideRestart(RestartPolicy{RestartPolicyKind::kOnFailure, 100, 3600, 600}, Stop("failed"), restarts, kNow)
            .delay_s == 600);
}

TEST_CASE("max restarts within the window, then none, and restarts older than the window no longer count") {
  const RestartPolicy p{RestartPolicyKind::kOnFailure, 2, 600, 10};
  const std::vector<std::int64_t> two_recent = {kNow - 500'000, kNow - 100'000};
  const RestartDecision d = DecideRestart(p, Stop("failed"), two_recent, kNow);
  CHECK_FALSE(d.restart);
  CHECK(d.why_not ==
        "2 restarts within 10m already (runtime.restart max 2, window 10m); fix the cause and run `clusterctl up`");
  const std::vector<std::int64_t> one_old = {kNow - 700'000, kNow - 100'000};
  const RestartDecision again = DecideRestart(p, Stop("failed"), one_old, kNow);
  CHECK(again.restart);
  CHECK(again.delay_s == 20);  // one restart in the window
  CHECK(DecideRestart(RestartPolicy{RestartPolicyKind::kOnFailure, 1, 90, 1}, Stop("failed"), {kNow - 1}, kNow)
            .why_not == "1 restart within 90s already (runtime.restart max 1, window 90s); fix the cause and run "
                        "`clusterctl up`");
}
