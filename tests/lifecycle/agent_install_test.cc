// How `up` installs the agent on a host (docs/install.md): the host bundle,
// streamed, resumed, verified by SHA-256 before it runs and unpacked
// complete or not at all; upgrades, where a clusterd of a newer version
// replaces the running one and the old install is removed; and a bare
// Debian 12 host booted with systemd as PID 1, where the agent runs as a
// systemd unit. Hosts are harness namespaces with real sshd (or that
// container); the engine serves the demo model on the CPU.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/files.h"
#include "lifecycle/lifecycle_fixture.h"
#include "skip.h"

namespace cluster::lifecycle_test {
namespace {
namespace fs = std::filesystem;

bool Alive(long pid) { return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) == 0; }

// The agent installs (folders VERSION-HASH16) below host 0's ~/.cache/clusterd.
std::set<std::string> Installs(LifecycleFixture& f) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(f.cluster().HostPath(0, "/root/.cache/clusterd"), ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("0.1.0-", 0) == 0) names.insert(name);
  }
  return names;
}

long RankPid(const Json& status) {
  for (const auto& u : status["hosts"][0]["units"]) {
    if (u["name"] == "rank 0" && u["state"] == "running") return u["pid"].get<long>();
  }
  return 0;
}

// The folder of test roots: $CLUSTER_TEST_ROOTS, else scripts/make-test-roots' default.
fs::path TestRoot(const std::string& name) {
  const char* dir = std::getenv("CLUSTER_TEST_ROOTS");
  return fs::path(dir && *dir ? dir : "/var/cache/clusterctl-test/roots") / name;
}

// `script` run by /bin/sh inside host 0; its stdout, trimmed.
std::string OnHost(LifecycleFixture& f, const std::string& script) {
  auto r = f.cluster().RunOnHost(0, {"/bin/sh", "-c", script});
  REQUIRE(r.ok());
  std::string out = r->out;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The SHA-256 of the bundle, from the .sha256 file beside it.
std::string BundleSha256() {
  auto text = ReadFile(std::string(HOST_BUNDLE) + ".sha256");
  REQUIRE(text.ok());
  return text->substr(0, 64);
}

}  // namespace

TEST_CASE("up with a clusterd of a newer version replaces the running agent, starts the rank again and removes the "
          "old install", "[lifecycle][hosts]") {
  LifecycleFixture f({.hosts = 1});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  REQUIRE(f.Clusterctl({"up"}).exit_code == 0);
  Run before = f.Clusterctl({"status", "--json"});
  const long old_agent = before.json["hosts"][0]["agent"]["pid"].get<long>();
  const long old_rank = RankPid(before.json);
  CHECK(before.json["hosts"][0]["agent"]["version"] == CLUSTER_VERSION);
  REQUIRE(Installs(f).size() == 1);
  const std::string old_install = *Installs(f).begin();

  Run up = f.Clusterctl({"up", "--agent", CLUSTERD_NEXT_BIN});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(up.err.find("h1: agent replaced") != std::string::npos);

  Run after = f.Clusterctl({"status", "--json"});
  INFO(after.out);
  CHECK(after.json["hosts"][0]["agent"]["version"] == "9.9.9");
  CHECK(WaitUntil(5, [&] { return !Alive(old_agent); }));
  CHECK(WaitUntil(5, [&] { return !Alive(old_rank); }));
  CHECK(RankPid(after.json) != 0);
  const std::set<std::string> installs = Installs(f);
  CHECK(installs.size() == 1);
  CHECK(installs.count(old_install) == 0);

  Run down = f.Clusterctl({"down", "--purge"});
  INFO(down.out << down.err);
  CHECK(down.exit_code == 0);
  // The agent answers down, then exits.
  const long new_agent = after.json["hosts"][0]["agent"]["pid"].get<long>();
  CHECK(WaitUntil(5, [&] { return !Alive(new_agent); }));
}

TEST_CASE("up installs the host bundle: the agent and the engine run from it, a second up sends nothing, a cut copy "
          "resumes and a damaged one is refused before it runs", "[lifecycle][hosts]") {
  if (!fs::exists(HOST_BUNDLE))
    testing::SkipTest(fmt::format("no host bundle at {}: build it with `ninja -C build host-bundle`", HOST_BUNDLE));
  LifecycleFixture f({.hosts = 1});
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();
  const std::string sha = BundleSha256();
  const std::string install = fmt::format("{}-{}", CLUSTER_VERSION, sha.substr(0, 16));
  const fs::path cache = f.cluster().HostPath(0, "/root/.cache/clusterd");
  const fs::path part = cache / (install + ".tar.part");
  const std::uintmax_t size = fs::file_size(HOST_BUNDLE);

  SECTION("a damaged partial copy is found by its SHA-256, removed, and the next up sends it whole") {
    fs::create_directories(cache);
    std::ofstream(part, std::ios::binary) << std::string(4096, 'x');
    Run up = f.Clusterctl({"up", "--bundle", HOST_BUNDLE});
    INFO(up.out << up.err);
    CHECK(up.exit_code == 1);
    CHECK(up.err.find("cannot install the host bundle " + fs::path(HOST_BUNDLE).filename().string() +
                      " on the host: the copied bundle has SHA-256 ") != std::string::npos);
    CHECK(up.err.find("it was damaged on the way and removed; run again") != std::string::npos);
    CHECK(!fs::exists(part));
    CHECK(!fs::exists(cache / install));
  }
  SECTION("a cut copy (the bundle's first half) is continued") {
    fs::create_directories(cache);
    std::ifstream in(HOST_BUNDLE, std::ios::binary);
    std::string half(static_cast<std::size_t>(size / 2), '\0');
    in.read(half.data(), static_cast<std::streamsize>(half.size()));
    std::ofstream(part, std::ios::binary) << half;
  }

  Run up = f.Clusterctl({"up", "--bundle", HOST_BUNDLE});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(!fs::exists(part));
  auto recorded = ReadFile(cache / install / "BUNDLE_SHA256");
  CHECK((recorded.ok() && *recorded == sha + "\n"));
  CHECK(fs::exists(cache / install / "BUILD_INFO"));

  Run status = f.Clusterctl({"status", "--json"});
  const long agent = status.json["hosts"][0]["agent"]["pid"].get<long>();
  const long rank = RankPid(status.json);
  REQUIRE(rank != 0);
  // As the host's mount namespace names them (its /root is a bind mount).
  const fs::path on_host = fs::path("/root/.cache/clusterd") / install;
  CHECK(fs::read_symlink(fmt::format("/proc/{}/exe", agent)) == on_host / "bin/clusterd");
  CHECK(fs::read_symlink(fmt::format("/proc/{}/exe", rank)) == on_host / "bin/infer-engine");

  // Nothing to send the second time: the install is recognised by its SHA-256.
  const auto installed_at = fs::last_write_time(cache / install / "BUNDLE_SHA256");
  Run again = f.Clusterctl({"up", "--bundle", HOST_BUNDLE});
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(again.err.find("h1: agent running") != std::string::npos);
  CHECK(fs::last_write_time(cache / install / "BUNDLE_SHA256") == installed_at);

  CHECK(f.Clusterctl({"down", "--purge"}).exit_code == 0);
}

TEST_CASE("On a bare Debian 12 host booted with systemd, up runs the agent from the bundle as the unit "
          "clusterd-CLUSTER.service, status sees it, a reboot leaves nothing running, with restart always the "
          "deployment comes back after a reboot, and down --purge removes it",
          "[lifecycle][hosts][systemd]") {
  if (!fs::exists(HOST_BUNDLE))
    testing::SkipTest(fmt::format("no host bundle at {}: build it with `ninja -C build host-bundle`", HOST_BUNDLE));
  const fs::path root = TestRoot("debian12");
  if (!fs::exists(root / "lib/systemd/systemd"))
    testing::SkipTest(fmt::format("no Debian 12 root with systemd at {}: make it with scripts/make-test-roots "
                                  "(debootstrap from Debian's mirror)", root.string()));
  if (auto why = harness::TestCluster::WhyBootUnavailable()) testing::SkipTest(*why);
  // Every clusterctl run takes the agent from the bundle: the host has none of the build's libraries.
  ::setenv("CLUSTERCTL_BUNDLE", HOST_BUNDLE, 1);
  LifecycleFixture f({.hosts = 1, .booted_root = {{0, root}}});
  const std::string unit = "clusterd-life-test.service";
  REQUIRE(OnHost(f, "cat /proc/1/comm") == "systemd");
  f.WriteInventory(LifecycleFixture::EngineRuntime());
  f.Push();

  Run up = f.Clusterctl({"up"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  CHECK(OnHost(f, "systemctl is-active " + unit) == "active");
  Run status = f.Clusterctl({"status", "--json"});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  const long agent = status.json["hosts"][0]["agent"]["pid"].get<long>();
  // The agent (its pid as the container sees it) is the unit's main process.
  CHECK(OnHost(f, fmt::format("systemctl show -p MainPID --value {}", unit)) == std::to_string(agent));
  CHECK(RankPid(status.json) != 0);

  // A reboot: the transient unit does not come back, nothing of the cluster runs.
  REQUIRE(f.cluster().RebootHost(0).ok());
  CHECK(OnHost(f, "systemctl list-units --all --plain --no-legend 'clusterd-*'").empty());
  CHECK(OnHost(f, "for e in /proc/[0-9]*/exe; do readlink $e; done | grep -c /.cache/clusterd/ || true") == "0");
  CHECK(f.Clusterctl({"status"}).exit_code == 1);

  Run again = f.Clusterctl({"up"});
  INFO(again.out << again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("h1: agent started") != std::string::npos);
  CHECK(OnHost(f, "systemctl is-active " + unit) == "active");
  CHECK(OnHost(f, "systemctl is-enabled " + unit + " || true") == "transient");

  // runtime.restart always: the agent becomes an enabled unit, and a reboot brings the deployment back.
  f.WriteInventory(LifecycleFixture::EngineRuntime() + "  restart: always\n");
  Run always = f.Clusterctl({"up"});
  INFO(always.out << always.err);
  REQUIRE(always.exit_code == 0);
  CHECK(always.err.find("h1: agent replaced") != std::string::npos);
  CHECK(OnHost(f, "systemctl is-enabled " + unit) == "enabled");
  CHECK(OnHost(f, "grep -c '^WantedBy=multi-user.target$' /etc/systemd/system/" + unit) == "1");
  Run checked = f.Clusterctl({"check", "--json"});
  INFO(checked.out);
  bool boot_row = false;
  for (const auto& row : checked.json["rows"]) {
    if (row["item"] != "start at boot") continue;
    boot_row = true;
    CHECK(row["verdict"] == "pass");
    CHECK(row["detail"] == unit + " is enabled: after a reboot the agent brings the deployment back");
  }
  CHECK(boot_row);
  REQUIRE(f.cluster().RebootHost(0).ok());
  Run back;
  CHECK(WaitUntil(60, [&] {
    back = f.Clusterctl({"status", "--json"});
    return back.exit_code == 0 && RankPid(back.json) != 0;
  }));
  INFO(back.out << back.err);
  CHECK(OnHost(f, "systemctl is-active " + unit) == "active");

  Run down = f.Clusterctl({"down", "--purge"});
  INFO(down.out << down.err);
  CHECK(down.exit_code == 0);
  CHECK(OnHost(f, "systemctl is-active " + unit + " || true") != "active");
  CHECK(OnHost(f, "systemctl list-units --all --plain --no-legend 'clusterd-*'").empty());
  CHECK(OnHost(f, "ls /etc/systemd/system/ | grep -c clusterd || true") == "0");
  CHECK(OnHost(f, "for e in /proc/[0-9]*/exe; do readlink $e; done | grep -c /.cache/clusterd/ || true") == "0");
  CHECK(!fs::exists(f.cluster().HostPath(0, "/root/.local/state/clusterd/life-test")));
}

}  // namespace cluster::lifecycle_test
