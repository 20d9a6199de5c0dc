// clusterctl push against real sshd hosts in network namespaces
// (tests/harness). Each case builds its own small cluster and tears it down.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common/content_hash.h"
#include "common/files.h"
#include "push/push_fixture.h"

using namespace cluster;
using namespace cluster::push_test;
namespace fs = std::filesystem;

namespace {

harness::TestClusterOptions Hosts(int n) {
  harness::TestClusterOptions o;
  o.hosts = n;
  return o;
}

std::string HashOrEmpty(const fs::path& p) {
  auto h = HashFile(p);
  return h.ok() ? *h : "";
}

// Waits until `path` holds at least `bytes`, for at most `seconds`.
bool WaitForSize(const fs::path& path, std::uintmax_t bytes, int seconds) {
  for (int i = 0; i < seconds * 20; ++i) {
    std::error_code ec;
    if (fs::file_size(path, ec) >= bytes && !ec) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("A fresh push copies every file to every host, and a second push skips them all") {
  // Given two hosts with nothing on them, push puts each model file at the same
  // path on both, verified; pushed again, it sends nothing and says so.
  PushFixture f(Hosts(2));
  ModelSpec model = f.MakeModel("tiny", {{"tokenizer.bin", 700}, {"model.safetensors", 5 << 20}, {"sub/empty.txt", 0}});
  f.WriteInventory({model});

  PushRun first = f.Push();
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.summary["ok"] == true);
  for (int i = 0; i < 2; ++i) {
    const auto& h = first.Host(f.cluster().HostName(i));
    CHECK(h["ok"] == true);
    CHECK(h["files_sent"] == 3);
    CHECK(h["files_verified"] == 3);
    CHECK(h["bytes_sent"] == 700 + (5 << 20));
    for (const char* file : {"tokenizer.bin", "model.safetensors", "sub/empty.txt"}) {
      CHECK(HashOrEmpty(f.cluster().HostPath(i, std::string("/srv/models/tiny/") + file)) ==
            HashOrEmpty(model.source / file));
    }
  }

  PushRun second = f.PushHuman();
  INFO(second.out << second.err);
  REQUIRE(second.exit_code == 0);
  // The summary table: one row per host, everything skipped, nothing sent.
  CHECK(second.out.find("HOST  STATUS") != std::string::npos);
  CHECK(second.out.find("h1    ok       0 B  5.0 MiB (3)  0 B (0)") != std::string::npos);
  CHECK(second.out.find("h2    ok       0 B  5.0 MiB (3)  0 B (0)") != std::string::npos);
}

TEST_CASE("A corrupted file on a host is detected and replaced") {
  PushFixture f(Hosts(1));
  ModelSpec model = f.MakeModel("m", {{"weights.bin", 2 << 20}});
  f.WriteInventory({model});
  REQUIRE(f.Push().exit_code == 0);

  // Flip bytes in the middle of the host's copy, keeping its size.
  const fs::path on_host = f.cluster().HostPath(0, "/srv/models/m/weights.bin");
  {
    std::fstream io(on_host, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(1 << 20);
    io.write("CORRUPT", 7);
  }
  REQUIRE(HashOrEmpty(on_host) != HashOrEmpty(model.source / "weights.bin"));

  PushRun again = f.Push();
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.Host("h1")["files_replaced"] == 1);
  CHECK(again.Host("h1")["files_sent"] == 1);
  CHECK(HashOrEmpty(on_host) == HashOrEmpty(model.source / "weights.bin"));
}

TEST_CASE("A connection cut mid-file resumes from the verified offset") {
  // Given a push killed while a large file is half sent, the next push sends
  // only the rest: far fewer bytes than the file, and the file ends up right.
  PushFixture f(Hosts(1));
  constexpr std::size_t kSize = 48 << 20;
  ModelSpec model = f.MakeModel("big", {{"blob.bin", kSize}});
  f.WriteInventory({model});
  REQUIRE(f.cluster().LimitRate(0, "64mbit").ok());  // ~8 MB/s: the cut lands mid-file

  auto running = f.cluster().StartOnOperator(f.PushArgv({}, true));
  REQUIRE(running.ok());
  const fs::path partial = f.cluster().HostPath(0, "/srv/models/big/.blob.bin.clusterd-partial");
  REQUIRE(WaitForSize(partial, 12 << 20, 60));
  running->Kill(SIGKILL);  // the operator's side dies: its SSH session is cut
  running->Wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const std::uintmax_t kept = fs::file_size(partial);
  CHECK(kept >= (12u << 20));
  CHECK(kept < kSize);
  CHECK_FALSE(fs::exists(f.cluster().HostPath(0, "/srv/models/big/blob.bin")));  // never the real name

  REQUIRE(f.cluster().LimitRate(0, "10gbit").ok());
  PushRun resumed = f.Push();
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const auto& h = resumed.Host("h1");
  CHECK(h["files_resumed"] == 1);
  CHECK(h["bytes_resumed"].get<std::uint64_t>() >= kept - (8u << 20));
  CHECK(h["bytes_sent"].get<std::uint64_t>() <= kSize - (12u << 20) + (8u << 20));
  CHECK(HashOrEmpty(f.cluster().HostPath(0, "/srv/models/big/blob.bin")) == HashOrEmpty(model.source / "blob.bin"));
  CHECK_FALSE(fs::exists(partial));
}

TEST_CASE("Ctrl-C stops a push cleanly and leaves it resumable") {
  PushFixture f(Hosts(1));
  constexpr std::size_t kSize = 32 << 20;
  ModelSpec model = f.MakeModel("big", {{"blob.bin", kSize}});
  f.WriteInventory({model});
  REQUIRE(f.cluster().LimitRate(0, "64mbit").ok());
  auto running = f.cluster().StartOnOperator(f.PushArgv({}, true));
  REQUIRE(running.ok());
  const fs::path partial = f.cluster().HostPath(0, "/srv/models/big/.blob.bin.clusterd-partial");
  REQUIRE(WaitForSize(partial, 4 << 20, 60));
  running->Kill(SIGINT);
  running->CloseStdin();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(running->stdout_fd(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  INFO(out);
  CHECK(running->Wait() == 1);
  CHECK(out.find("\"interrupted\":true") != std::string::npos);
  CHECK(out.find("\"error\":\"h1 (127.0.10.2): /srv/models/big/blob.bin: interrupted; the bytes sent so far are "
                 "kept on the host\"") != std::string::npos);
  CHECK(fs::exists(partial));

  REQUIRE(f.cluster().LimitRate(0, "10gbit").ok());
  PushRun resumed = f.Push();
  REQUIRE(resumed.exit_code == 0);
  CHECK(resumed.Host("h1")["files_resumed"] == 1);
}

TEST_CASE("A changed host key is refused with both fingerprints, and the other hosts still get their files") {
  PushFixture f(Hosts(2));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 1000}})});
  REQUIRE(WriteFileAtomically(f.cluster().KnownHostsFile(), f.cluster().WrongKnownHostsLine(0) + "\n" +
                                                                f.cluster().KnownHostsLine(1) + "\n").ok());
  PushRun run = f.Push({"--accept-new-host-keys"});  // never overrides a changed key
  CHECK(run.exit_code == 1);
  CHECK(run.summary["ok"] == false);
  const std::string error = run.Host("h1")["error"];
  INFO(error);
  CHECK(error.rfind("h1 (127.0.10.2): REFUSED: the host key has changed: " + f.cluster().KnownHostsFile().string() +
                        " has ssh-ed25519 SHA256:", 0) == 0);
  CHECK(error.find(", the host presented ssh-ed25519 SHA256:") != std::string::npos);
  CHECK(error.find("ssh-keygen -R HOST") != std::string::npos);
  CHECK(run.Host("h2")["ok"] == true);
  CHECK_FALSE(fs::exists(f.cluster().HostPath(0, "/srv/models/m")));
}

TEST_CASE("An unknown host is refused unless --accept-new-host-keys, which records its key") {
  PushFixture f(Hosts(2));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 1000}})});
  REQUIRE(WriteFileAtomically(f.cluster().KnownHostsFile(), f.cluster().KnownHostsLine(1) + "\n").ok());

  PushRun refused = f.Push();
  CHECK(refused.exit_code == 1);
  const std::string error = refused.Host("h1")["error"];
  CHECK(error.rfind("h1 (127.0.10.2): REFUSED: unknown host key ssh-ed25519 SHA256:", 0) == 0);
  CHECK(error.find("run the command again with --accept-new-host-keys to record it") != std::string::npos);
  CHECK(refused.Host("h2")["ok"] == true);

  PushRun accepted = f.Push({"--accept-new-host-keys"});
  CHECK(accepted.exit_code == 0);
  auto known = ReadFile(f.cluster().KnownHostsFile());
  REQUIRE(known.ok());
  CHECK(known->find("127.0.10.2 ssh-ed25519 ") != std::string::npos);
  CHECK(f.Push().exit_code == 0);  // now known: no flag needed
}

TEST_CASE("A known_hosts file that is a FIFO is refused at once, naming the key to fix, and nothing blocks") {
  PushFixture f(Hosts(1));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 1000}})});
  const std::string known = f.cluster().KnownHostsFile().string();
  std::filesystem::remove(known);
  REQUIRE(::mkfifo(known.c_str(), 0600) == 0);

  PushRun run = f.Push();
  CHECK(run.exit_code == 1);
  CHECK(run.Host("h1")["error"] == "h1 (127.0.10.2): ssh.known_hosts_file " + known +
                                       " is not a regular file; point ssh.known_hosts_file at a regular file (it is "
                                       "created when absent)");
}

TEST_CASE("A host whose disk is too small fails before anything is sent") {
  harness::TestClusterOptions o = Hosts(2);
  o.srv_tmpfs_size[1] = "1m";
  PushFixture f(o);
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 3 << 20}})});
  PushRun run = f.Push();
  CHECK(run.exit_code == 1);
  CHECK(run.Host("h1")["ok"] == true);
  const auto& h2 = run.Host("h2");
  CHECK(h2["ok"] == false);
  CHECK(h2["error"] == "h2 (127.0.10.3): not enough free disk for /srv/models/m: need 3.0 MiB, 1.0 MiB free; free "
                       "space there or choose another path (artifacts.models[].path, hosts[].model_paths, "
                       "--image-dir). Nothing was sent");
  CHECK(h2["bytes_sent"] == 0);
  CHECK_FALSE(fs::exists(f.cluster().HostPath(1, "/srv/models/m")));
}

TEST_CASE("One unreachable host fails alone: the others complete and the summary names it") {
  PushFixture f(Hosts(3));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 100000}})});
  REQUIRE(f.cluster().StopSshd(1).ok());
  PushRun run = f.PushHuman();
  CHECK(run.exit_code == 1);
  CHECK(run.out.find("h1    ok  ") != std::string::npos);
  CHECK(run.out.find("h2    FAILED") != std::string::npos);
  CHECK(run.out.find("h3    ok  ") != std::string::npos);
  CHECK(run.err.find("error: h2 (127.0.10.3): cannot connect to 127.0.10.3:22: ") != std::string::npos);
  // Each line names the host once, then says what to check on the SSH side.
  const std::string fix = "; check that sshd runs on the host and listens on port 22 (ssh.port), and that no "
                          "firewall between this machine and the host blocks it\n";
  CHECK(run.err.find("\nerror: h2 (127.0.10.3): cannot connect to 127.0.10.3:22: ") != std::string::npos);
  CHECK(run.err.find(fix) != std::string::npos);
  std::istringstream lines(run.err);
  for (std::string line; std::getline(lines, line);) {
    INFO(line);
    CHECK(line.find("h2 (127.0.10.3)") == line.rfind("h2 (127.0.10.3)"));
  }
}

TEST_CASE("With -v push logs each host's phases and every file it sends or skips") {
  PushFixture f(Hosts(2));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 1000}})});
  PushRun first = f.PushHuman({"-v"});
  CHECK(first.exit_code == 0);
  CHECK(first.err.find("[info] h1: connecting\n") != std::string::npos);
  CHECK(first.err.find("[info] h2: 1000 B to send, 0 B already there\n") != std::string::npos);
  CHECK(first.err.find("[info] h2: m/a.bin sent (1000 B)\n") != std::string::npos);
  PushRun second = f.PushHuman({"-v"});
  CHECK(second.err.find("[info] h2: m/a.bin skipped (already there)\n") != std::string::npos);
  // Without -v none of it.
  CHECK(f.PushHuman().err.find("[info]") == std::string::npos);
}

TEST_CASE("The agent is copied once and then recognised by its stamp, and a wrong stamp has it copied again") {
  // Given a host that got clusterd from a first push, the install holds
  // CLUSTERD_HASH, the hash the copy computed of itself; later pushes do not
  // copy it again. A stamp that names another hash (a damaged or foreign
  // install) makes the next push copy and check the binary once more.
  PushFixture f(Hosts(1));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 1000}})});
  REQUIRE(f.Push().exit_code == 0);
  const fs::path agent = fs::path(CLUSTERCTL_BIN).parent_path().parent_path() / "agent" / "clusterd";
  const std::string hash = HashOrEmpty(agent);
  fs::path install;
  for (const auto& e : fs::directory_iterator(f.cluster().HostPath(0, "/root/.cache/clusterd"))) {
    if (e.is_directory() && e.path().filename().string().rfind("0.1.0-", 0) == 0) install = e.path();
  }
  REQUIRE(!install.empty());
  CHECK(*ReadFile(install / "CLUSTERD_HASH") == hash + "\n");
  const auto copied_at = fs::last_write_time(install / "clusterd");

  REQUIRE(f.Push().exit_code == 0);
  CHECK(fs::last_write_time(install / "clusterd") == copied_at);

  REQUIRE(WriteFileAtomically(install / "CLUSTERD_HASH", std::string(32, '0') + "\n").ok());
  PushRun again = f.Push();
  INFO(again.out << again.err);
  CHECK(again.exit_code == 0);
  CHECK(fs::last_write_time(install / "clusterd") != copied_at);
  CHECK(*ReadFile(install / "CLUSTERD_HASH") == hash + "\n");
}

TEST_CASE("An image tarball is docker-loaded by the host's dockerd, then skipped, and a host without Docker is told so") {
  harness::TestClusterOptions o = Hosts(2);
  o.docker[0] = true;
  PushFixture f(o);
  const fs::path tarball = f.cluster().dir() / "src" / "busybox.tar";
  fs::create_directories(tarball.parent_path());
  auto made = RunProcess({MAKE_IMAGE_TAR, tarball.string(), "clusterctl-test/busybox:1"});
  REQUIRE(made.ok());
  REQUIRE(made->exit_code == 0);
  const std::string image_id = made->out.substr(0, made->out.find('\n'));
  f.WriteInventory({f.MakeModel("m", {{"a.bin", 1000}})}, {{"clusterctl-test/busybox:1", tarball}});

  PushRun first = f.Push();
  INFO(first.out << first.err);
  const auto& h1 = first.Host("h1");
  CHECK(h1["ok"] == true);
  CHECK(h1["images_loaded"] == Json::array({"clusterctl-test/busybox:1"}));
  auto inspect = RunProcess({"docker", "-H", f.cluster().DockerHost(0), "image", "inspect", "--format", "{{.Id}}",
                             "clusterctl-test/busybox:1"});
  REQUIRE(inspect.ok());
  CHECK(inspect->out == image_id + "\n");
  // h2 has the docker CLI but no daemon: a clear message, and nothing sent there.
  const auto& h2 = first.Host("h2");
  CHECK(h2["ok"] == false);
  CHECK(h2["error"].get<std::string>().rfind("h2 (127.0.10.3): image clusterctl-test/busybox:1 asked for: Docker is "
                                             "installed but its daemon does not answer (", 0) == 0);
  CHECK(h2["bytes_sent"] == 0);
  CHECK(first.exit_code == 1);

  PushRun second = f.Push();
  CHECK(second.Host("h1")["images_present"] == Json::array({"clusterctl-test/busybox:1"}));
  CHECK(second.Host("h1")["images_loaded"] == Json::array());
  CHECK(second.Host("h1")["bytes_sent"] == 0);
}

TEST_CASE("With --relay chain the operator sends each byte once, every host verifies, nothing stays listening") {
  // Given three hosts, one of which already holds part of the file, a chain
  // push leaves the operator's link carrying the file about once (star would
  // carry it three times), resumes that host from its own offset, and leaves
  // no relay listener behind.
  PushFixture f(Hosts(3));
  constexpr std::size_t kSize = 16 << 20;
  ModelSpec model = f.MakeModel("m", {{"blob.bin", kSize}, {"small.json", 1000}});
  f.WriteInventory({model});
  // h2 holds the first 4 MiB already.
  const fs::path partial = f.cluster().HostPath(1, "/srv/models/m/.blob.bin.clusterd-partial");
  fs::create_directories(partial.parent_path());
  {
    auto bytes = ReadFile(model.source / "blob.bin");
    REQUIRE(bytes.ok());
    REQUIRE(WriteFileAtomically(partial, bytes->substr(0, 4 << 20)).ok());
  }
  auto tx = [&] {
    auto r = RunProcess({"ip", "netns", "exec", f.cluster().OperatorNamespace(), "cat",
                         "/sys/class/net/eth0/statistics/tx_bytes"});
    REQUIRE(r.ok());
    return std::stoull(r->out);
  };
  const auto before = tx();
  PushRun run = f.Push({"--relay", "chain"});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const auto operator_sent = tx() - before;
  // The agent binary goes to every host too (over SSH); the model file once.
  const auto agent_size = fs::file_size(fs::path(CLUSTERCTL_BIN).parent_path().parent_path() / "agent" / "clusterd");
  CHECK(operator_sent < kSize * 5 / 4 + 3 * agent_size * 5 / 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(HashOrEmpty(f.cluster().HostPath(i, "/srv/models/m/blob.bin")) == HashOrEmpty(model.source / "blob.bin"));
    auto listening = f.cluster().RunOnHost(i, {"ss", "-ltnH"});
    REQUIRE(listening.ok());
    INFO(listening->out);
    CHECK(listening->out.find(f.cluster().HostAddress(i) + ":22 ") != std::string::npos);
    CHECK(std::count(listening->out.begin(), listening->out.end(), '\n') == 1);  // sshd only
  }
  CHECK(run.Host("h2")["files_resumed"] == 1);
  CHECK(run.Host("h2")["bytes_resumed"] == (4 << 20));
  CHECK(run.Host("h1")["files_sent"] == 2);

  PushRun again = f.Push({"--relay", "chain"});
  CHECK(again.exit_code == 0);
  CHECK(again.Host("h3")["files_skipped"] == 2);
}

TEST_CASE("A host with transport local is pushed to without SSH, through the same receiver") {
  // No namespaces needed: the host is this machine and the files land under a
  // temporary folder.
  const fs::path dir = fs::temp_directory_path() / ("push_local_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  WritePseudoRandomFile(dir / "src" / "w.bin", 300000, 7);
  const std::string inventory = fmt::format(
      "cluster:\n  name: local\nhosts:\n  - name: here\n    address: 127.0.0.1\n    transport: local\n    gpus: 0\n"
      "artifacts:\n  models:\n    - name: m\n      source: {}\n      path: {}\n      config: deepseek-r1-distill-qwen-7b\n"
      "runtime:\n  kind: engine\n  model: m\n  engine:\n    device: cpu\n",
      (dir / "src").string(), (dir / "dest").string());
  REQUIRE(WriteFileAtomically(dir / "cluster.yaml", inventory).ok());
  auto run = RunProcess({"env", "HOME=" + (dir / "home").string(), CLUSTERCTL_BIN, "push", "-f",
                         (dir / "cluster.yaml").string()});
  REQUIRE(run.ok());
  INFO(run->out << run->err);
  CHECK(run->exit_code == 0);
  CHECK(HashOrEmpty(dir / "dest" / "w.bin") == HashOrEmpty(dir / "src" / "w.bin"));
  CHECK(run->out.find("here  ok") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("In a chain, an unreachable host drops out and the hosts around it still get the file") {
  PushFixture f(Hosts(3));
  ModelSpec model = f.MakeModel("m", {{"blob.bin", 3 << 20}});
  f.WriteInventory({model});
  REQUIRE(f.cluster().StopSshd(1).ok());
  PushRun run = f.Push({"--relay", "chain"});
  INFO(run.out << run.err);
  CHECK(run.exit_code == 1);
  CHECK(run.Host("h1")["ok"] == true);
  CHECK(run.Host("h3")["ok"] == true);
  CHECK(run.Host("h2")["error"].get<std::string>().rfind("h2 (127.0.10.3): cannot connect to 127.0.10.3:22: ", 0) == 0);
  for (int i : {0, 2}) {
    CHECK(HashOrEmpty(f.cluster().HostPath(i, "/srv/models/m/blob.bin")) == HashOrEmpty(model.source / "blob.bin"));
  }
}
