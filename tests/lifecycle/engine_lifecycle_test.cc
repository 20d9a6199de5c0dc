// The cluster lifecycle with the bundled engine on the CPU: hosts are
// network namespaces with real sshd, clusterctl installs and starts real
// agents over SSH, the agents run real engine ranks, and the npm `openai`
// client asks the endpoint. A world of four ranks (TP2 x PP2 over the two
// hosts) gives the one-rank answer. Faults: a killed rank (of one, which
// stays down under the default restart policy, and of four), a killed agent, an unreachable host, a wrong interface, and
// clients without the cluster's certificate.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>


#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/files.h"
#include "common/subprocess.h"
#include "lifecycle/lifecycle_fixture.h"

namespace cluster::lifecycle_test {
namespace {

constexpr const char* kEndpoint = "http://127.0.10.2:8000/v1";

// The pid of `unit` on `host` in a `status --json` object (0 when absent).
long UnitPid(const Json& status, const std::string& host, const std::string& unit) {
  for (const auto& h : status["hosts"]) {
    if (h["host"] != host || !h.contains("units")) continue;
    for (const auto& u : h["units"]) {
      if (u["name"] == unit) return u["pid"].get<long>();
    }
  }
  return 0;
}

bool Alive(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

// The argv of process `pid`, its words split by spaces ("" when it is gone).
std::string CommandLine(long pid) {
  auto text = ReadFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (!text.ok()) return "";
  std::string line = *text;
  std::replace(line.begin(), line.end(), '\0', ' ');
  return line;
}

}  // namespace

TEST_CASE("up serves the demo model on the head and the openai client gets an answer while status and logs show the "
          "rank and down leaves nothing", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();

  Run up = f.Clusterctl({"up", "-v"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.out.find("serving 'demo' at http://127.0.10.2:8000/v1") != std::string::npos);
  CHECK(up.out.find("curl http://127.0.10.2:8000/v1/chat/completions") != std::string::npos);
  CHECK(up.err.find("h1: agent started") != std::string::npos);
  CHECK(up.err.find("h2: agent started") != std::string::npos);
  CHECK(up.err.find("h1: started rank 0") != std::string::npos);
  // -v: where the rank runs, the environment it gets, and its state as it changes.
  CHECK(up.err.find("[info] h1: rank 0 (stage 0, tensor-parallel rank 0) on the CPU\n") != std::string::npos);
  CHECK(up.err.find("[info] h1: environment GLOO_SOCKET_IFNAME=") != std::string::npos);
  CHECK(up.err.find("[info] h1: rank 0 running (pid ") != std::string::npos);

  Run chat = f.Node("cluster_chat.mjs", {kEndpoint, "demo"});
  INFO(chat.out << chat.err);
  REQUIRE(chat.exit_code == 0);
  CHECK(chat.json["models"] == Json::array({"demo"}));
  CHECK_FALSE(chat.json["answer"].get<std::string>().empty());

  Run status = f.Clusterctl({"status", "--json"});
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == 0);
  CHECK(status.json["ok"] == true);
  CHECK(status.json["endpoint"]["healthy"] == true);
  const long rank_pid = UnitPid(status.json, "h1", "rank 0");
  CHECK(Alive(rank_pid));
  CHECK(status.json["hosts"][1]["units"].empty());  // h2 runs nothing in a world of one rank
  CHECK(status.json["hosts"][0]["agent"]["version"] == "0.1.0");

  Run human = f.Clusterctl({"status"});
  CHECK(human.out.find("rank 0") != std::string::npos);
  CHECK(human.out.find("endpoint http://127.0.10.2:8000: healthy, models: demo") != std::string::npos);

  Run logs = f.Clusterctl({"logs", "--rank", "0", "--tail", "20"});
  INFO(logs.out << logs.err);
  REQUIRE(logs.exit_code == 0);
  CHECK(logs.out.find("h1 rank 0 | infer-engine: serving 'demo' on http://127.0.10.2:8000") != std::string::npos);

  // `check` while serving: the port our own rank holds is no failure.
  Run check = f.Clusterctl({"check", "--json", "-v"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  // -v: each host's agent, its facts, the probe of the head's agent, on stderr beside the JSON.
  CHECK(check.err.find("[info] h1: agent running\n") != std::string::npos);
  CHECK(check.err.find("[info] h2: asking the agent for its facts (hashing the model at /srv/models/demo)\n") !=
        std::string::npos);
  CHECK(check.err.find("[info] h2: reached the agent of h1 in ") != std::string::npos);
  bool port_row = false;
  for (const auto& row : check.json["rows"]) {
    if (row["host"] == "h1" && row["item"] == "port 8000")
      port_row = row["verdict"] == "pass" && row["detail"] == "in use by this cluster's running rank 0";
  }
  CHECK(port_row);

  SECTION("a second up of the unchanged cluster leaves it as it is") {
    Run again = f.Clusterctl({"up"});
    CHECK(again.exit_code == 0);
    CHECK(again.out.find("already up") != std::string::npos);
    CHECK(UnitPid(f.Clusterctl({"status", "--json"}).json, "h1", "rank 0") == rank_pid);
  }

  Run down = f.Clusterctl({"down", "--json"});
  INFO(down.out << down.err);
  REQUIRE(down.exit_code == 0);
  CHECK(down.json["ok"] == true);
  CHECK(down.json["hosts"][0]["stopped"] == Json::array({"rank 0"}));
  CHECK(down.json["hosts"][0]["left"].empty());
  CHECK_FALSE(Alive(rank_pid));
  Run twice = f.Clusterctl({"down"});
  CHECK(twice.exit_code == 0);
  CHECK(twice.out.find("down: nothing of the deployment left running; agents still running on 2 hosts (clusterctl "
                       "down --purge removes them)") != std::string::npos);
}

TEST_CASE("a killed rank stops the deployment and status names that rank within seconds", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  REQUIRE(f.Clusterctl({"up"}).exit_code == 0);
  const long pid = UnitPid(f.Clusterctl({"status", "--json"}).json, "h1", "rank 0");
  REQUIRE(Alive(pid));

  // A follower of the rank's log sees how it ended.
  auto follower = f.cluster().StartOnOperator(
      {CLUSTERCTL_BIN, "logs", "--follow", "--rank", "0", "--tail", "1", "-f", f.inventory().string()});
  REQUIRE(follower.ok());
  std::string followed;
  auto read_follower = [&] {
    char buffer[4096];
    for (ssize_t n; (n = ::read(follower->stdout_fd(), buffer, sizeof buffer)) > 0;) followed.append(buffer, n);
  };
  ::fcntl(follower->stdout_fd(), F_SETFL, O_NONBLOCK);
  REQUIRE(WaitUntil(10, [&] {
    read_follower();
    return followed.find("h1 rank 0 | infer-engine: serving 'demo'") != std::string::npos;  // the tail
  }));

  ::kill(static_cast<pid_t>(pid), SIGKILL);
  Run status;
  REQUIRE(WaitUntil(10, [&] {
    status = f.Clusterctl({"status", "--json"});
    return status.json.is_object() && status.json["failure"].is_object();
  }));
  CHECK(status.exit_code == 1);
  CHECK(status.json["failure"]["host"] == "h1");
  CHECK(status.json["failure"]["unit"] == "rank 0");
  CHECK(status.json["failure"]["message"] == "was killed by signal 9");
  // runtime.restart never (the default): it stays down, and status says so.
  CHECK(status.json["restart"]["policy"] == "never");
  CHECK(status.json["restart"]["restarts"] == 0);
  CHECK(status.json["restart"]["not_restarted"] ==
        "runtime.restart is never (on-failure restarts the gang after a failure)");
  Run human = f.Clusterctl({"status"});
  CHECK(human.out.find("failed: rank 0 on h1 was killed by signal 9") != std::string::npos);
  CHECK(human.out.find("not restarted: runtime.restart is never (on-failure restarts the gang after a failure)\n") !=
        std::string::npos);

  CHECK(WaitUntil(5, [&] {  // the follower sees how the rank ended
    read_follower();
    return followed.find("h1 rank 0 | clusterd: killed by signal 9") != std::string::npos;
  }));
  follower->Kill(SIGTERM);
  follower->Wait();
  CHECK(f.Clusterctl({"down"}).exit_code == 0);
}

TEST_CASE("a killed agent shows as unreachable in status and up starts it again", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  REQUIRE(f.Clusterctl({"up"}).exit_code == 0);
  Run before = f.Clusterctl({"status", "--json"});
  const long agent = before.json["hosts"][0]["agent"]["pid"].get<long>();
  const long rank = UnitPid(before.json, "h1", "rank 0");
  REQUIRE(Alive(agent));

  ::kill(static_cast<pid_t>(agent), SIGKILL);
  REQUIRE(WaitUntil(5, [&] { return !Alive(agent); }));
  Run status = f.Clusterctl({"status", "--json"});
  CHECK(status.exit_code == 1);
  CHECK(status.json["hosts"][0]["reachable"] == false);
  CHECK(status.json["hosts"][0]["error"].get<std::string>().find("h1 (127.0.10.2): agent not reachable") == 0);
  CHECK(WaitUntil(5, [&] { return !Alive(rank); }));  // a rank does not outlive its agent

  Run up = f.Clusterctl({"up"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.err.find("h1: agent started") != std::string::npos);
  CHECK(up.err.find("h2: agent running") != std::string::npos);
  CHECK(f.Clusterctl({"status"}).exit_code == 0);

  // New credentials for h2 (as after a change of its address): its agent is replaced.
  std::filesystem::remove(f.cluster().OperatorHome() / ".local/state/clusterctl/life-test/hosts/h2.crt");
  Run again = f.Clusterctl({"up"});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("h2: agent replaced") != std::string::npos);
}

TEST_CASE("2 hosts x TP2 x PP2 on CPU serve the one-rank answer, a killed rank stops all four and status names it",
          "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  // The answer of one rank, to compare with.
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  REQUIRE(f.Clusterctl({"up"}).exit_code == 0);
  Run one = f.Node("cluster_chat.mjs", {kEndpoint, "demo"});
  INFO(one.out << one.err);
  REQUIRE(one.exit_code == 0);
  const std::string one_rank_answer = one.json["answer"].get<std::string>();
  REQUIRE(f.Clusterctl({"down"}).exit_code == 0);

  // Four ranks: stage 0 (ranks 0 and 1) on h1, stage 1 (ranks 2 and 3) on h2, batch invariant
  // (the CPU engine always is; it takes the flag and answers the same).
  f.WriteInventory(LifecycleFixture::EngineRuntime(/*pipeline_parallel=*/2, /*tensor_parallel=*/2) +
                   "    batch_invariant: true\n");

  // check --comm: the agents run bench-comm on the four ranks; each stage's
  // all-reduce and both stage pairs are measured (the namespaces' loopback
  // has no link speed, so nothing is compared).
  Run comm = f.Clusterctl({"check", "--comm", "--comm-sizes", "64K,1M", "--json"});
  INFO(comm.out << comm.err);
  REQUIRE(comm.exit_code == 0);
  std::vector<std::string> comm_rows;
  for (const auto& row : comm.json["rows"]) {
    if (row["area"] != "comm") continue;
    comm_rows.push_back(row["host"].get<std::string>() + " " + row["item"].get<std::string>() + " " +
                        row["verdict"].get<std::string>());
    if (row["item"] == "stage 0 -> 1") {
      CHECK_THAT(row["detail"].get<std::string>(),
                 Catch::Matches("rank [01] \\(h1\\) -> rank [23] \\(h2\\): [0-9.]+ GB/s for 1 MiB messages; link "
                                "speed unknown, nothing to compare"));
    }
  }
  CHECK(comm_rows == std::vector<std::string>{"h1 stage 0 all-reduce pass", "h2 stage 1 all-reduce pass",
                                              "h2 stage 0 -> 1 pass", "h2 stage 0 -> 1 pass"});

  Run up = f.Clusterctl({"up"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.err.find("h1: started rank 0, rank 1") != std::string::npos);
  CHECK(up.err.find("h2: started rank 2, rank 3") != std::string::npos);
  Run four = f.Node("cluster_chat.mjs", {kEndpoint, "demo"});
  INFO(four.out << four.err);
  REQUIRE(four.exit_code == 0);
  CHECK(four.json["answer"].get<std::string>() == one_rank_answer);

  Run status = f.Clusterctl({"status", "--json"});
  std::vector<long> pids = {UnitPid(status.json, "h1", "rank 0"), UnitPid(status.json, "h1", "rank 1"),
                            UnitPid(status.json, "h2", "rank 2"), UnitPid(status.json, "h2", "rank 3")};
  for (long pid : pids) CHECK(Alive(pid));
  for (long pid : pids) {
    CHECK_THAT(CommandLine(pid), Catch::Contains(" serve ") && Catch::Contains(" --batch-invariant"));
  }
  // While the deployment runs, its rank 0 holds the rendezvous port: --comm says so and measures nothing.
  Run busy = f.Clusterctl({"check", "--comm"});
  INFO(busy.out << busy.err);
  CHECK(busy.exit_code == 0);
  CHECK(busy.out.find("not run: rank 0 of the running deployment holds the rendezvous port") != std::string::npos);
  CHECK(busy.out.find("run clusterctl check --comm before clusterctl up, or after clusterctl down") !=
        std::string::npos);
  Run logs = f.Clusterctl({"logs", "--rank", "2", "--tail", "5"});
  CHECK(logs.out.find("h2 rank 2 | infer-engine: rank 2 (stage 1 of 2, tensor-parallel rank 0 of 2, layers 3-5)") !=
        std::string::npos);

  ::kill(static_cast<pid_t>(pids[2]), SIGKILL);
  REQUIRE(WaitUntil(10, [&] {
    status = f.Clusterctl({"status", "--json"});
    return status.json.is_object() && status.json["failure"].is_object();
  }));
  CHECK(status.json["failure"]["host"] == "h2");
  CHECK(status.json["failure"]["unit"] == "rank 2");
  CHECK(status.json["failure"]["message"] == "was killed by signal 9");
  CHECK(WaitUntil(10, [&] { return std::none_of(pids.begin(), pids.end(), Alive); }));  // the gang stops

  Run down = f.Clusterctl({"down", "--json"});
  CHECK(down.exit_code == 0);
  CHECK(down.json["hosts"][0]["left"].empty());
  CHECK(down.json["hosts"][1]["left"].empty());
}

TEST_CASE("an unreachable host stops up with a clear error before any rank starts", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  REQUIRE(f.cluster().StopSshd(1).ok());

  Run up = f.Clusterctl({"up"});
  CHECK(up.exit_code == 1);
  CHECK(up.err.find("h2 (127.0.10.3)") != std::string::npos);
  CHECK(up.err.find("no rank was started") != std::string::npos);
  CHECK(f.Clusterctl({"status", "--json"}).json["hosts"][0]["units"].empty());
}

TEST_CASE("a wrong interface name fails check with the fix", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(LifecycleFixture::EngineRuntime(), "network:\n  interface: ens9\n");
  f.Push();
  Run check = f.Clusterctl({"check", "--json"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);
  bool found = false;
  for (const auto& row : check.json["rows"]) {
    if (row["verdict"] == "fail" && row["host"] == "h1" &&
        row["fix"].get<std::string>().find("set network.interface to one of them or to auto") != std::string::npos)
      found = true;
  }
  CHECK(found);
  Run human = f.Clusterctl({"check"});
  CHECK(human.out.find("interface ens9 not found on h1") != std::string::npos);
}

TEST_CASE("an agent refuses a client without a certificate and one with a certificate of another CA",
          "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 1});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  Run check = f.Clusterctl({"check"});  // starts the agent
  INFO(check.out << check.err);
  REQUIRE(check.exit_code == 0);
  const auto ca = f.cluster().OperatorHome() / ".local/state/clusterctl/life-test/ca.crt";
  REQUIRE(std::filesystem::exists(ca));
  const std::string connect = "127.0.10.2:7411";

  // No client certificate: the handshake fails and no request is read.
  auto bare = f.cluster().RunOnOperator({"sh", "-c", fmt::format(
      "printf 'x' | timeout 10 openssl s_client -quiet -verify_return_error -CAfile {} -connect {} 2>&1", ca.string(), connect)});
  REQUIRE(bare.ok());
  CHECK(bare->out.find("alert certificate required") != std::string::npos);

  // A certificate of another CA: refused the same way.
  const auto dir = f.cluster().dir() / "foreign";
  std::filesystem::create_directories(dir);
  REQUIRE(RunProcess({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                      "-keyout", (dir / "key.pem").string(), "-out", (dir / "cert.pem").string(), "-days", "1",
                      "-subj", "/CN=intruder"})->exit_code == 0);
  auto foreign = f.cluster().RunOnOperator({"sh", "-c", fmt::format(
      "printf 'x' | timeout 10 openssl s_client -quiet -CAfile {} -cert {} -key {} -connect {} 2>&1", ca.string(),
      (dir / "cert.pem").string(), (dir / "key.pem").string(), connect)});
  REQUIRE(foreign.ok());
  CHECK(foreign->out.find("alert unknown ca") != std::string::npos);
}

TEST_CASE("check shows a host it cannot reach over SSH once, with SSH's fix rather than up's", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 2});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  REQUIRE(f.cluster().StopSshd(1).ok());
  Run check = f.Clusterctl({"check", "--no-hash", "--json"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);
  bool ssh_row = false;
  for (const auto& row : check.json["rows"]) {
    if (row["host"] != "h2") continue;
    CHECK(row["fix"].get<std::string>().find("clusterctl up") == std::string::npos);
    if (row["area"] != "ssh") continue;
    ssh_row = true;
    CHECK(row["verdict"] == "fail");
    CHECK(row["detail"].get<std::string>().rfind("cannot connect to 127.0.10.3:22: ", 0) == 0);
    CHECK(row["detail"].get<std::string>().find("h2") == std::string::npos);  // the row names the host
    CHECK(row["fix"] ==
          "check SSH from this machine to 127.0.10.3 port 22: the key (ssh.identity_file, its public key in "
          "~/.ssh/authorized_keys of ssh.user there), known_hosts (--accept-new-host-keys records a new host's key), "
          "the port (ssh.port) and any firewall in between");
  }
  CHECK(ssh_row);
}

}  // namespace cluster::lifecycle_test
