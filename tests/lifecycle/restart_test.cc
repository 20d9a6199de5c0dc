// runtime.restart on the namespace cluster with the bundled engine on the
// CPU: a world of two ranks, rank 0 on h1 (the head) and rank 1 on h2. A
// rank killed by pid stops the gang everywhere; with on-failure the head's
// agent starts it again after the backoff and status shows RESTARTS 1 and
// the failure; the limit stops the next restart and status says why. With
// always, an agent that was killed and started again brings the gang back.
// (never, the default, is in engine_lifecycle_test: the gang stays down.)
#include <signal.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "lifecycle/lifecycle_fixture.h"

namespace cluster::lifecycle_test {
namespace {

// The pid of the running `unit` on `host` in a `status --json` object (0 when absent).
long RunningPid(const Json& status, const std::string& host, const std::string& unit) {
  if (!status.is_object()) return 0;
  for (const auto& h : status["hosts"]) {
    if (h["host"] != host || !h.contains("units")) continue;
    for (const auto& u : h["units"]) {
      if (u["name"] == unit && u["state"] == "running") return u["pid"].get<long>();
    }
  }
  return 0;
}

// The line of a table that holds `text` ("" when none).
std::string RowOf(const std::string& table, const std::string& text) {
  const std::size_t at = table.find(text);
  if (at == std::string::npos) return "";
  const std::size_t start = table.rfind('\n', at);
  const std::size_t end = table.find('\n', at);
  std::string row = table.substr(start == std::string::npos ? 0 : start + 1,
                                 (end == std::string::npos ? table.size() : end) - (start == std::string::npos ? 0 : start + 1));
  while (!row.empty() && row.back() == ' ') row.pop_back();
  return row;
}

bool Alive(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

// Two ranks, one per host (pipeline_parallel 2), and `restart` as runtime.restart.
std::string Runtime(const std::string& restart) {
  return LifecycleFixture::EngineRuntime(/*pipeline_parallel=*/2) + "  restart: " + restart + "\n";
}

// Waits until status says the gang serves again after `restarts` restarts.
Run WaitForRestarts(LifecycleFixture& f, int restarts) {
  Run status;
  WaitUntil(90, [&] {
    status = f.Clusterctl({"status", "--json"});
    return status.exit_code == 0 && status.json["restart"].is_object() &&
           status.json["restart"]["restarts"] == restarts;
  });
  return status;
}

}  // namespace

TEST_CASE("on-failure: a killed rank brings the whole gang back once, status shows RESTARTS 1 and the failure, and "
          "the limit keeps it down after the next one with the reason",
          "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(Runtime("{policy: on-failure, max: 1, window: 10m, backoff: 1s}"));
  f.Push();
  Run up = f.Clusterctl({"up"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  Run before = f.Clusterctl({"status", "--json"});
  INFO(before.out);
  CHECK(before.json["restart"]["policy"] == "on-failure");
  CHECK(before.json["restart"]["restarts"] == 0);
  const long rank0 = RunningPid(before.json, "h1", "rank 0");
  const long rank1 = RunningPid(before.json, "h2", "rank 1");
  REQUIRE(Alive(rank0));
  REQUIRE(Alive(rank1));

  // The rank on the other host fails: both stop, then both start again.
  ::kill(static_cast<pid_t>(rank1), SIGKILL);
  Run after = WaitForRestarts(f, 1);
  INFO(after.out << after.err);
  REQUIRE(after.exit_code == 0);
  CHECK_FALSE(Alive(rank0));
  CHECK_FALSE(Alive(rank1));
  const long new0 = RunningPid(after.json, "h1", "rank 0");
  const long new1 = RunningPid(after.json, "h2", "rank 1");
  CHECK(Alive(new0));
  CHECK(Alive(new1));
  CHECK(after.json["failure"].is_null());
  const Json& last = after.json["restart"]["last_failure"];
  CHECK(last["host"] == "h2");
  CHECK(last["unit"] == "rank 1");
  CHECK(last["message"] == "was killed by signal 9");
  CHECK(last["unix_ms"].get<std::int64_t>() > 0);
  CHECK(after.json["restart"]["not_restarted"].is_null());
  for (const auto& h : after.json["hosts"]) {
    for (const auto& u : h["units"]) CHECK(u["restarts"] == 1);
  }
  Run human = f.Clusterctl({"status"});
  INFO(human.out);
  CHECK(human.exit_code == 0);
  CHECK(human.out.find("RESTARTS") != std::string::npos);
  CHECK(RowOf(human.out, "rank 1").rfind(" 1") == RowOf(human.out, "rank 1").size() - 2);  // RESTARTS, the last column
  CHECK(human.out.find("restarts: 1 (runtime.restart on-failure: at most 1 within 10m)\n") != std::string::npos);
  CHECK(human.out.find(" rank 1 on h2 was killed by signal 9\n") != std::string::npos);
  CHECK(human.out.find("last failure: ") != std::string::npos);

  // The second failure (of the head's rank this time) is over the limit.
  ::kill(static_cast<pid_t>(new0), SIGKILL);
  Run down;
  REQUIRE(WaitUntil(20, [&] {
    down = f.Clusterctl({"status", "--json"});
    return down.json.is_object() && down.json["failure"].is_object() && down.json["restart"]["not_restarted"].is_string();
  }));
  INFO(down.out);
  CHECK(down.exit_code == 1);
  CHECK(down.json["failure"]["unit"] == "rank 0");
  CHECK(down.json["restart"]["not_restarted"] ==
        "1 restart within 10m already (runtime.restart max 1, window 10m); fix the cause and run `clusterctl up`");
  CHECK(WaitUntil(15, [&] { return !Alive(new1); }));  // the gang stops, nothing comes back
  Run said = f.Clusterctl({"status"});
  CHECK(said.out.find("failed: rank 0 on h1 was killed by signal 9\n") != std::string::npos);
  CHECK(said.out.find("not restarted: 1 restart within 10m already (runtime.restart max 1, window 10m); fix the "
                      "cause and run `clusterctl up`\n") != std::string::npos);
  CHECK(RunningPid(f.Clusterctl({"status", "--json"}).json, "h2", "rank 1") == 0);

  Run stop = f.Clusterctl({"down", "--json"});
  CHECK(stop.exit_code == 0);
}

TEST_CASE("always: a killed head agent, started again, brings the gang back from its deployment file",
          "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(Runtime("{policy: always, backoff: 1s}"));
  f.Push();
  REQUIRE(f.Clusterctl({"up"}).exit_code == 0);
  Run before = f.Clusterctl({"status", "--json"});
  const long agent = before.json["hosts"][0]["agent"]["pid"].get<long>();
  const long rank0 = RunningPid(before.json, "h1", "rank 0");
  REQUIRE(Alive(rank0));

  ::kill(static_cast<pid_t>(agent), SIGKILL);
  REQUIRE(WaitUntil(10, [&] { return !Alive(agent) && !Alive(rank0); }));  // a rank dies with its agent
  // `check` starts the agent again, as systemd would after a crash or at boot.
  Run check = f.Clusterctl({"check", "--no-hash"});
  INFO(check.out << check.err);
  Run after = WaitForRestarts(f, 1);
  INFO(after.out << after.err);
  REQUIRE(after.exit_code == 0);
  CHECK(after.json["hosts"][0]["agent"]["pid"] != agent);
  CHECK(Alive(RunningPid(after.json, "h1", "rank 0")));
  CHECK(Alive(RunningPid(after.json, "h2", "rank 1")));
  CHECK(after.json["restart"]["last_failure"]["host"] == "h1");
  CHECK(after.json["restart"]["last_failure"]["unit"] == "agent");
  CHECK(after.json["restart"]["last_failure"]["message"] ==
        "restarted; the units of this host had ended with the previous agent");

  // down is a stop on purpose: an agent that starts again later leaves it down.
  REQUIRE(f.Clusterctl({"down"}).exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(f.cluster().HostPath(0, "/root/.local/state/clusterd/life-test/deployment.json")));
}

}  // namespace cluster::lifecycle_test
