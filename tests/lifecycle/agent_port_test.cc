// Two clusters on the same hosts: each cluster's agent has its own folder,
// systemd unit name and port (network.agent_port). A second cluster that
// asks for the port the first one's agent holds fails at once, naming the key
// to change; on a port of its own it serves beside the first, and its `down`
// leaves the first serving.
#include <chrono>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/files.h"
#include "lifecycle/lifecycle_fixture.h"

namespace cluster::lifecycle_test {
namespace {
namespace fs = std::filesystem;

// The first cluster's inventory with another name, agent port and API port.
fs::path SecondInventory(LifecycleFixture& f, int agent_port, int api_port) {
  auto text = ReadFile(f.inventory());
  REQUIRE(text.ok());
  std::string y = *text;
  auto replace = [&](const std::string& from, const std::string& to) {
    const std::size_t at = y.find(from);
    REQUIRE(at != std::string::npos);
    y.replace(at, from.size(), to);
  };
  replace("name: life-test\n", "name: life-two\n");
  replace("\nhosts:\n", fmt::format("\nnetwork:\n  agent_port: {}\nhosts:\n", agent_port));
  replace("port: 8000\n", fmt::format("port: {}\n", api_port));
  const fs::path file = f.cluster().dir() / fmt::format("cluster-two-{}.yaml", agent_port);
  REQUIRE(WriteFileAtomically(file, y).ok());
  return file;
}

Run Second(LifecycleFixture& f, const fs::path& inventory, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CLUSTERCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-f", inventory.string()});
  auto r = f.cluster().RunOnOperator(argv);
  REQUIRE(r.ok());
  return Run{r->exit_code, r->out, r->err, nullptr};
}

}  // namespace

TEST_CASE("A second cluster on the first one's agent port fails at once with the key to change, and on its own port "
          "both serve and the second's down leaves the first serving",
          "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 1});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  REQUIRE(f.Clusterctl({"up"}).exit_code == 0);

  const fs::path clash = SecondInventory(f, 7411, 8001);
  const auto t0 = std::chrono::steady_clock::now();
  Run check = Second(f, clash, {"check", "--no-hash"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);
  CHECK((check.out + check.err).find("port 7411 on host h1 (127.0.10.2) is in use by another program; set "
                                     "network.agent_port to a free port") != std::string::npos);
  CHECK(seconds < 10);  // not the 15 s wait for an agent that never listens

  const fs::path own = SecondInventory(f, 7412, 8001);
  Run up = Second(f, own, {"up"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.out.find("serving 'demo' at http://127.0.10.2:8001/v1") != std::string::npos);
  CHECK(Second(f, own, {"status"}).exit_code == 0);
  CHECK(f.Clusterctl({"status"}).exit_code == 0);

  Run down = Second(f, own, {"down", "--purge"});
  INFO(down.out << down.err);
  CHECK(down.exit_code == 0);
  CHECK(f.Clusterctl({"status"}).exit_code == 0);
  CHECK(fs::exists(f.cluster().HostPath(0, "/root/.local/state/clusterd/life-test")));
  CHECK_FALSE(fs::exists(f.cluster().HostPath(0, "/root/.local/state/clusterd/life-two")));
}

}  // namespace cluster::lifecycle_test
