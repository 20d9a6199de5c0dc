// runtime.restart: a policy word or a mapping with the limit and the backoff;
// each mistake is one error with the key's path and position, what was
// expected and what was found.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/inventory/loader.h"

using namespace cluster::inventory;

namespace {

LoadResult Load(const std::string& yaml) {
  LoadOptions options;
  options.require_artifacts = false;
  return LoadInventoryFromString(yaml, "cluster.yaml", options);
}

// The diagnostics about runtime.restart (the model's folder does not exist
// here: that warning is not under test).
std::vector<std::string> Diagnostics(const std::string& yaml) {
  std::vector<std::string> out;
  for (const Diagnostic& d : Load(yaml).diagnostics) {
    if (d.ToString().find("runtime.restart") != std::string::npos) out.push_back(d.ToString());
  }
  return out;
}

// `restart_value` follows "  restart: " on line 9.
std::string WithRestart(const std::string& restart_value) {
  return "cluster: {name: lab}\n"                                // 1
         "hosts:\n"                                              // 2
         "  - {name: gpu1, address: 10.0.0.11, gpus: 4}\n"       // 3
         "artifacts:\n"                                          // 4
         "  models:\n"                                           // 5
         "    - {name: m, source: /models/m}\n"                  // 6
         "runtime:\n"                                            // 7
         "  model: m\n"                                          // 8
         "  tensor_parallel: 4\n"                                // 9
         "  restart: " + restart_value;                          // 10...
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("Without runtime.restart a deployment is never restarted, as before the key existed") {
  const LoadResult r = Load(WithRestart("never\n"));
  REQUIRE(r.ok());
  const RestartPolicy& p = r.inventory->runtime.restart;
  CHECK(p.policy == RestartPolicyKind::kNever);
  CHECK(p.max_restarts == 5);
  CHECK(p.window_s == 600);
  CHECK(p.backoff_s == 10);
  const std::string without = "cluster: {name: lab}\nhosts: [{name: gpu1, address: 10.0.0.11}]\n"
                              "artifacts: {models: [{name: m, source: /models/m}]}\nruntime: {model: m}\n";
  CHECK(Load(without).inventory->runtime.restart.policy == RestartPolicyKind::kNever);
}

TEST_CASE("runtime.restart as a word takes the default limit, and as a mapping it sets max, window and backoff") {
  LoadResult r = Load(WithRestart("on-failure\n"));
  REQUIRE(r.ok());
  CHECK(r.inventory->runtime.restart.policy == RestartPolicyKind::kOnFailure);
  CHECK(r.inventory->runtime.restart.max_restarts == 5);

  r = Load(WithRestart("{policy: always, max: 3, window: 1h, backoff: 30s}\n"));
  REQUIRE(r.ok());
  const RestartPolicy& p = r.inventory->runtime.restart;
  CHECK(p.policy == RestartPolicyKind::kAlways);
  CHECK(p.max_restarts == 3);
  CHECK(p.window_s == 3600);
  CHECK(p.backoff_s == 30);
  CHECK(Load(WithRestart("{policy: on-failure, window: 90, backoff: 2m}\n")).inventory->runtime.restart.window_s == 90);
  CHECK(Diagnostics(WithRestart("{policy: on-failure, window: 90, backoff: 2m}\n")).empty());
}

TEST_CASE("runtime.restart's policy is one of three words, with the nearest one as a hint") {
  CHECK(Diagnostics(WithRestart("on_failure\n")) ==
        Lines{"cluster.yaml:10:12: error: runtime.restart: expected one of never, on-failure or always, found "
              "\"on_failure\" (did you mean on-failure?)"});
  CHECK(Diagnostics(WithRestart("sometimes\n")) ==
        Lines{"cluster.yaml:10:12: error: runtime.restart: expected one of never, on-failure or always, found "
              "\"sometimes\""});
  CHECK(Diagnostics(WithRestart("[on-failure]\n")) ==
        Lines{"cluster.yaml:10:12: error: runtime.restart: expected never, on-failure, always or a mapping with "
              "policy, max, window and backoff, found a list"});
  CHECK(Diagnostics(WithRestart("{max: 3}\n")) ==
        Lines{"cluster.yaml:10:12: error: runtime.restart.policy: required key is missing (add policy: on-failure "
              "(or never, always))"});
  CHECK(Diagnostics(WithRestart("{policy: always, limit: 3}\n")) ==
        Lines{"cluster.yaml:10:29: error: runtime.restart.limit: unknown key (valid keys here: policy, max, window, "
              "backoff)"});
}

TEST_CASE("runtime.restart's limit and backoff are bounded") {
  CHECK(Diagnostics(WithRestart("{policy: on-failure, max: 0}\n")) ==
        Lines{"cluster.yaml:10:38: error: runtime.restart.max: expected a number of restarts from 1 to 100, found 0"});
  CHECK(Diagnostics(WithRestart("{policy: on-failure, window: 10 minutes}\n")) ==
        Lines{"cluster.yaml:10:41: error: runtime.restart.window: expected a duration from 1s to 24h such as 30s or "
              "10m, found \"10 minutes\" (unknown unit \"minutes\"; use s, m or h)"});
  CHECK(Diagnostics(WithRestart("{policy: on-failure, window: 2d}\n")) ==
        Lines{"cluster.yaml:10:41: error: runtime.restart.window: expected a duration from 1s to 24h such as 30s or "
              "10m, found \"2d\" (unknown unit \"d\"; use s, m or h)"});
  CHECK(Diagnostics(WithRestart("{policy: on-failure, window: 25h}\n")) ==
        Lines{"cluster.yaml:10:41: error: runtime.restart.window: expected a duration from 1s to 24h such as 30s or "
              "10m, found \"25h\""});
  CHECK(Diagnostics(WithRestart("{policy: on-failure, backoff: 1.5m}\n")) ==
        Lines{"cluster.yaml:10:42: error: runtime.restart.backoff: expected a duration from 1s to 1h such as 30s or "
              "10m, found \"1.5m\" (a fraction; use a smaller unit (90s, not 1.5m))"});
  CHECK(Diagnostics(WithRestart("{policy: on-failure, backoff: 0s}\n")) ==
        Lines{"cluster.yaml:10:42: error: runtime.restart.backoff: expected a duration from 1s to 1h such as 30s or "
              "10m, found \"0s\" (it must be at least 1 second)"});
}

TEST_CASE("A limit beside policy never is a warning: it would never apply") {
  CHECK(Diagnostics(WithRestart("{policy: never, max: 3}\n")) ==
        Lines{"cluster.yaml:10:28: warning: runtime.restart.max: has no effect with policy never (set policy: "
              "on-failure or always, or remove it)"});
}
