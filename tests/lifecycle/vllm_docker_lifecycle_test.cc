// The cluster lifecycle (check, push, up, status, logs, down) with runtime
// vllm-docker, through `clusterctl` and real agents, on two harness hosts
// that each run a real dockerd and pretend to have one Tesla T4
// (TestClusterOptions::fake_gpus). The image is make-standin-image's: its
// `ray` and `vllm` are STAND-INS (tests/lifecycle/standin), so these tests
// check OUR orchestration (what we ask Docker for, gang stop, clean-up), not
// Ray or vLLM.
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/subprocess.h"
#include "lifecycle/lifecycle_fixture.h"
#include "skip.h"

namespace cluster::lifecycle_test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kImage = "clusterd-standin/vllm:test";
constexpr const char* kCluster = "life-test";                // LifecycleFixture's cluster.name
constexpr const char* kContainer = "clusterd-life-test";     // "clusterd-" + cluster.name
constexpr const char* kEndpoint = "http://127.0.10.2:8000/v1";

// `restart`: runtime.restart's value ("" for the default, never).
std::string VllmDockerRuntime(const std::string& dtype, const std::string& restart = "") {
  return fmt::format(
      "runtime:\n  kind: vllm-docker\n  model: demo\n  tensor_parallel: 1\n  pipeline_parallel: 2\n  dtype: {}\n"
      "  port: 8000\n  vllm_docker:\n    image: {}\n    shm_size: 64m\n    env:\n      VLLM_LOGGING_LEVEL: DEBUG\n"
      "    args: [\"--max-model-len\", \"2048\"]\n"
      "    volumes: [/srv/models:/mnt/all-models:ro]\n    devices: [/dev/null:/dev/extra-null:r]\n"
      "    ulimits: {{memlock: 1048576, nofile: \"4096:8192\"}}\n{}",
      dtype, kImage, restart.empty() ? "" : "  restart: " + restart + "\n");
}

// Two hosts with dockerd and one stand-in T4 each; skips without Docker.
harness::TestClusterOptions DockerHosts() {
  if (auto why = harness::TestCluster::WhyUnavailable()) testing::SkipTest(*why);
  for (const char* program : {"docker", "dockerd"}) {
    auto v = RunProcess({program, "--version"});
    if (!v.ok() || v->exit_code != 0) testing::SkipTest(std::string("no ") + program + " (apt-get install docker.io)");
  }
  harness::TestClusterOptions o;
  o.hosts = 2;
  o.docker = {{0, true}, {1, true}};
  o.fake_gpus = {{0, harness::FakeGpus{}}, {1, harness::FakeGpus{}}};
  return o;
}

// The stand-in image as a `docker save` tarball in the cluster's folder, and
// the inventory listing it; `push` loads it into every host's dockerd.
void WriteInventoryWithImage(LifecycleFixture& f, const std::string& dtype, const std::string& restart = "") {
  const auto tarball = f.cluster().dir() / "standin-vllm.tar";
  auto made = RunProcess({MAKE_STANDIN_IMAGE, tarball.string(), kImage});
  REQUIRE(made.ok());
  INFO(made->out << made->err);
  REQUIRE(made->exit_code == 0);
  f.WriteInventory(VllmDockerRuntime(dtype, restart), "",
                   fmt::format("  images:\n    - name: {}\n      file: {}\n", kImage, tarball.string()),
                   /*gpus_per_host=*/1);
}

ProcessResult Docker(LifecycleFixture& f, int host, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"docker", "-H", f.cluster().DockerHost(host)};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunProcess(argv);
  REQUIRE(r.ok());
  return *r;
}

// Names of the cluster's containers on `host`, running or not.
std::string ClusterContainers(LifecycleFixture& f, int host, bool running_only = false) {
  std::vector<std::string> args = {"ps", "--filter", std::string("label=clusterd.cluster=") + kCluster, "--format",
                                   "{{.Names}}"};
  if (!running_only) args.insert(args.begin() + 1, "-a");
  ProcessResult r = Docker(f, host, args);
  INFO(r.err);
  CHECK(r.exit_code == 0);
  return r.out;
}

// Removes whatever the test left in the hosts' dockerds, before the fixture
// (declared earlier) runs `down --purge` and the harness stops the daemons.
struct ContainerCleanup {
  LifecycleFixture& f;
  ~ContainerCleanup() {
    for (int i = 0; i < f.cluster().host_count(); ++i) {
      auto names = RunProcess({"docker", "-H", f.cluster().DockerHost(i), "ps", "-aq", "--filter",
                               std::string("label=clusterd.cluster=") + kCluster});
      if (!names.ok()) continue;
      std::vector<std::string> rm = {"docker", "-H", f.cluster().DockerHost(i), "rm", "-f"};
      std::size_t start = 0;
      const std::string& out = names->out;
      while (start < out.size()) {
        std::size_t end = out.find('\n', start);
        if (end == std::string::npos) end = out.size();
        if (end > start) rm.push_back(out.substr(start, end - start));
        start = end + 1;
      }
      if (rm.size() > 5) (void)RunProcess(rm);
    }
  }
};

const Json* FindRow(const Json& check, const std::string& host, const std::string& area, const std::string& item) {
  for (const auto& row : check["rows"]) {
    if (row["host"] == host && row["area"] == area && row["item"] == item) return &row;
  }
  return nullptr;
}

std::set<std::string> Strings(const Json& array) {
  std::set<std::string> out;
  for (const auto& v : array) out.insert(v.get<std::string>());
  return out;
}

Json Inspect(LifecycleFixture& f, int host, const std::string& name) {
  ProcessResult r = Docker(f, host, {"inspect", name});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return Json::parse(r.out).at(0);
}

const Json* FindUnit(const Json& status, const std::string& host, const std::string& unit) {
  for (const auto& h : status["hosts"]) {
    if (h["host"] != host || !h.contains("units")) continue;
    for (const auto& u : h["units"]) {
      if (u["name"] == unit) return &u;
    }
  }
  return nullptr;
}

double SecondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

TEST_CASE("vllm-docker orchestration with stand-in ray and vllm: check passes on fake T4s and up runs the containers "
          "we specify and serves and a killed worker container stops the gang and down leaves no container",
          "[lifecycle][hosts][docker]") {
  LifecycleFixture f(DockerHosts());
  ContainerCleanup cleanup{f};
  WriteInventoryWithImage(f, "float16");
  f.Push();
  for (int i = 0; i < 2; ++i) {
    ProcessResult image = Docker(f, i, {"image", "inspect", "--format", "{{.Id}}", kImage});
    INFO("push did not load the image into " << f.cluster().HostName(i) << "'s dockerd: " << image.err);
    CHECK(image.exit_code == 0);
  }

  // 1. check: the T4s pass with float16; it fixes the network `up` uses.
  Run check = f.Clusterctl({"check", "--json"});
  INFO(check.out << check.err);
  REQUIRE(check.exit_code == 0);
  REQUIRE(check.json["ok"] == true);
  std::map<std::string, std::map<std::string, std::string>> env_of;  // host -> env from check
  for (int i = 0; i < 2; ++i) {
    const std::string host = f.cluster().HostName(i);
    const Json* count = FindRow(check.json, host, "gpu", "count");
    REQUIRE(count != nullptr);
    CHECK((*count)["verdict"] == "pass");
    CHECK((*count)["detail"].get<std::string>().find("Tesla T4") != std::string::npos);
    const Json* cc = FindRow(check.json, host, "gpu", "compute capability");
    REQUIRE(cc != nullptr);
    CHECK((*cc)["verdict"] == "pass");
    CHECK((*cc)["detail"] == "7.5 (float16)");
    const Json* docker = FindRow(check.json, host, "docker", "image");
    REQUIRE(docker != nullptr);
    CHECK((*docker)["verdict"] == "pass");
    const Json& net = check.json["network"][host];
    REQUIRE(net.is_object());
    CHECK(net["address"] == f.cluster().HostAddress(i));
    const std::string iface = net["interface"].get<std::string>();
    CHECK_FALSE(iface.empty());
    CHECK(net["env"] == Json{{"GLOO_SOCKET_IFNAME", iface}, {"NCCL_SOCKET_IFNAME", iface},
                             {"VLLM_HOST_IP", f.cluster().HostAddress(i)}});
    for (const auto& [k, v] : net["env"].items()) env_of[host][k] = v.get<std::string>();
  }

  // 2. up: both containers, vllm serve on the head, the endpoint.
  auto t0 = Clock::now();
  Run up = f.Clusterctl({"up", "--timeout", "120"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  WARN("up took " << SecondsSince(t0) << " s");
  CHECK(up.out.find("serving 'demo' at http://127.0.10.2:8000/v1") != std::string::npos);
  CHECK(up.err.find(fmt::format("h1: started container {}", kContainer)) != std::string::npos);
  CHECK(up.err.find(fmt::format("h2: started container {}", kContainer)) != std::string::npos);

  Run status = f.Clusterctl({"status", "--json"});
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == 0);
  CHECK(status.json["ok"] == true);
  CHECK(status.json["endpoint"]["healthy"] == true);
  CHECK(status.json["endpoint"]["models"] == Json::array({"demo"}));
  const std::string deployment = status.json["deployment"].get<std::string>();
  const std::string container_unit = std::string("container ") + kContainer;
  for (const char* host : {"h1", "h2"}) {
    const Json* unit = FindUnit(status.json, host, container_unit);
    REQUIRE(unit != nullptr);
    CHECK((*unit)["state"] == "running");
  }
  const Json* serve = FindUnit(status.json, "h1", "vllm serve");
  REQUIRE(serve != nullptr);
  CHECK((*serve)["state"] == "running");
  CHECK(FindUnit(status.json, "h2", "vllm serve") == nullptr);

  // What Docker made of the StartRequests.
  const std::vector<std::vector<std::string>> cmds = {
      {"start", "--block", "--head", "--port", "6379", "--dashboard-host", "127.0.0.1", "--node-ip-address",
       "127.0.10.2"},
      {"start", "--block", "--address", "127.0.10.2:6379", "--node-ip-address", "127.0.10.3"}};
  for (int i = 0; i < 2; ++i) {
    const std::string host = f.cluster().HostName(i);
    const Json info = Inspect(f, i, kContainer);
    INFO(host << ": " << info.dump(2));
    CHECK(info["State"]["Running"] == true);
    CHECK(info["HostConfig"]["NetworkMode"] == "host");
    CHECK(info["HostConfig"]["ShmSize"] == 64 * 1024 * 1024);
    // docker keeps the binds in no fixed order.
    CHECK(Strings(info["HostConfig"]["Binds"]) ==
          std::set<std::string>{"/srv/models/demo:/srv/models/demo:ro", "/srv/models:/mnt/all-models:ro"});
    REQUIRE(info["Mounts"].size() == 2);
    for (const Json& mount : info["Mounts"]) {
      CHECK(mount["Type"] == "bind");
      CHECK(mount["RW"] == false);
    }
    // The inventory gives each host 1 GPU: the container gets GPU 0, not all.
    const Json& gpus = info["HostConfig"]["DeviceRequests"];
    REQUIRE(gpus.size() == 1);
    CHECK(gpus[0]["DeviceIDs"] == Json::array({"0"}));
    CHECK(gpus[0]["Capabilities"] == Json::parse(R"([["gpu"]])"));
    CHECK(info["HostConfig"]["Devices"] ==
          Json::parse(R"([{"PathOnHost": "/dev/null", "PathInContainer": "/dev/extra-null", "CgroupPermissions": "r"}])"));
    CHECK(info["HostConfig"]["Ulimits"] == Json::parse(R"([{"Name": "memlock", "Hard": 1048576, "Soft": 1048576},
                                                             {"Name": "nofile", "Hard": 8192, "Soft": 4096}])"));
    CHECK(info["Config"]["Labels"]["clusterd.cluster"] == kCluster);
    CHECK(info["Config"]["Labels"]["clusterd.deployment"] == deployment);
    CHECK(info["Config"]["Entrypoint"] == Json::array({"ray"}));
    CHECK(info["Config"]["Cmd"] == Json(cmds[i]));
    std::set<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "VLLM_LOGGING_LEVEL=DEBUG"};
    for (const auto& [k, v] : env_of[host]) env.insert(k + "=" + v);
    CHECK(Strings(info["Config"]["Env"]) == env);
    CHECK(ClusterContainers(f, i) == std::string(kContainer) + "\n");
  }
  // dockerd ran the (stand-in) NVIDIA prestart hook for each container: the GPU request reached the runtime.
  for (int i = 0; i < 2; ++i) {
    auto hook = RunProcess({"cat", f.cluster().GpuHookLog(i).string()});
    REQUIRE(hook.ok());
    CHECK(hook->out == "prestart\n");
  }

  Run logs = f.Clusterctl({"logs", "--host", "h1", "--tail", "200"});
  INFO(logs.out << logs.err);
  REQUIRE(logs.exit_code == 0);
  CHECK(logs.out.find("vllm-standin argv: vllm serve /srv/models/demo --served-model-name demo "
                      "--tensor-parallel-size 1 --pipeline-parallel-size 2 --dtype float16 --host 127.0.10.2 "
                      "--port 8000 --distributed-executor-backend ray --max-model-len 2048") != std::string::npos);
  CHECK(logs.out.find("ray-standin argv: ray start --block --head --port 6379 --dashboard-host 127.0.0.1 "
                      "--node-ip-address 127.0.10.2") != std::string::npos);
  Run worker_logs = f.Clusterctl({"logs", "--host", "h2", "--tail", "200"});
  CHECK(worker_logs.out.find("ray-standin: node 127.0.10.3 gpus 1 registered with 127.0.10.2:6379") !=
        std::string::npos);

  Run models = f.Node("cluster_chat.mjs", {kEndpoint, "-"});
  INFO(models.out << models.err);
  REQUIRE(models.exit_code == 0);
  CHECK(models.json["models"] == Json::array({"demo"}));

  // 3. Gang: the worker's container dies; both hosts stop, status names it.
  ProcessResult kill = Docker(f, 1, {"kill", kContainer});
  INFO(kill.err);
  REQUIRE(kill.exit_code == 0);
  t0 = Clock::now();
  Run failed;
  REQUIRE(WaitUntil(15, [&] {
    failed = f.Clusterctl({"status", "--json"});
    return failed.json.is_object() && failed.json["failure"].is_object();
  }));
  WARN("status showed the failure after " << SecondsSince(t0) << " s");
  INFO(failed.out << failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.json["failure"]["host"] == "h2");
  CHECK(failed.json["failure"]["unit"] == container_unit);
  CHECK(failed.json["failure"]["message"] == "was killed by signal 9");
  // The head stops its units (docker stop -t 8, within the agent's 10 s grace).
  Run stopped;
  const bool head_stopped = WaitUntil(15, [&] {
    stopped = f.Clusterctl({"status", "--json"});
    const Json* c = FindUnit(stopped.json, "h1", container_unit);
    const Json* s = FindUnit(stopped.json, "h1", "vllm serve");
    return c != nullptr && s != nullptr && (*c)["state"] != "running" && (*c)["state"] != "starting" &&
           (*s)["state"] != "running" && (*s)["state"] != "starting";
  });
  WARN("the head's units were stopped after " << SecondsSince(t0) << " s");
  INFO(stopped.out);
  CHECK(head_stopped);
  CHECK(stopped.json["failure"]["host"] == "h2");  // still the first failure, not the head's stop
  CHECK(ClusterContainers(f, 0, /*running_only=*/true).empty());
  CHECK(ClusterContainers(f, 1, /*running_only=*/true).empty());
  Run human = f.Clusterctl({"status"});
  CHECK(human.out.find(fmt::format("failed: {} on h2 was killed by signal 9", container_unit)) != std::string::npos);

  // 4. down removes the (stopped) containers; a second down finds nothing.
  t0 = Clock::now();
  Run down = f.Clusterctl({"down", "--json"});
  INFO(down.out << down.err);
  REQUIRE(down.exit_code == 0);
  WARN("down took " << SecondsSince(t0) << " s");
  CHECK(down.json["ok"] == true);
  for (int i = 0; i < 2; ++i) {
    CHECK(down.json["hosts"][i]["left"].empty());
    CHECK(ClusterContainers(f, i).empty());
  }
  Run twice = f.Clusterctl({"down"});
  INFO(twice.out << twice.err);
  CHECK(twice.exit_code == 0);
  CHECK(twice.out.find("down: nothing of the deployment left running; agents still running on 2 hosts (clusterctl "
                       "down --purge removes them)") != std::string::npos);
}

TEST_CASE("vllm-docker orchestration with stand-in ray and vllm: up then down on a healthy cluster stops and "
          "removes both containers",
          "[lifecycle][hosts][docker]") {
  LifecycleFixture f(DockerHosts());
  ContainerCleanup cleanup{f};
  WriteInventoryWithImage(f, "float16");
  f.Push();
  Run up = f.Clusterctl({"up", "--timeout", "120"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  for (int i = 0; i < 2; ++i) REQUIRE(ClusterContainers(f, i, /*running_only=*/true) == std::string(kContainer) + "\n");

  auto t0 = Clock::now();
  Run down = f.Clusterctl({"down", "--json"});
  INFO(down.out << down.err);
  REQUIRE(down.exit_code == 0);
  WARN("down of a serving cluster took " << SecondsSince(t0) << " s");
  CHECK(down.json["ok"] == true);
  CHECK(Strings(down.json["hosts"][0]["stopped"]).count(std::string("container ") + kContainer) == 1);
  CHECK(Strings(down.json["hosts"][0]["stopped"]).count("vllm serve") == 1);
  CHECK(Strings(down.json["hosts"][1]["stopped"]).count(std::string("container ") + kContainer) == 1);
  for (int i = 0; i < 2; ++i) {
    CHECK(down.json["hosts"][i]["left"].empty());
    CHECK(ClusterContainers(f, i).empty());
  }
  Run status = f.Clusterctl({"status", "--json"});
  CHECK(status.json["failure"].is_null());  // a purposeful stop is no failure
  CHECK(f.Clusterctl({"down"}).exit_code == 0);
}

TEST_CASE("vllm-docker orchestration with stand-in ray and vllm: with restart on-failure a killed worker container "
          "brings both containers and vllm serve back, and status shows RESTARTS 1",
          "[lifecycle][hosts][docker]") {
  LifecycleFixture f(DockerHosts());
  ContainerCleanup cleanup{f};
  WriteInventoryWithImage(f, "float16", "{policy: on-failure, max: 2, window: 10m, backoff: 1s}");
  f.Push();
  Run up = f.Clusterctl({"up", "--timeout", "120"});
  INFO(up.out << up.err);
  REQUIRE(up.exit_code == 0);
  const std::string first = Inspect(f, 1, kContainer)["Id"].get<std::string>();

  ProcessResult kill = Docker(f, 1, {"kill", kContainer});
  INFO(kill.err);
  REQUIRE(kill.exit_code == 0);
  const auto t0 = Clock::now();
  const std::string container_unit = std::string("container ") + kContainer;
  Run status;
  const bool back = WaitUntil(120, [&] {
    status = f.Clusterctl({"status", "--json"});
    if (status.exit_code != 0 || !status.json["restart"].is_object() || status.json["restart"]["restarts"] != 1)
      return false;
    for (const auto& [host, unit] : {std::pair{"h1", container_unit}, {"h2", container_unit}, {"h1", "vllm serve"}}) {
      const Json* u = FindUnit(status.json, host, unit);
      if (u == nullptr || (*u)["state"] != "running") return false;
    }
    return status.json["endpoint"]["healthy"] == true;
  });
  WARN("the gang served again after " << SecondsSince(t0) << " s");
  INFO(status.out << status.err);
  REQUIRE(back);
  CHECK(status.json["failure"].is_null());
  CHECK(status.json["restart"]["last_failure"]["host"] == "h2");
  CHECK(status.json["restart"]["last_failure"]["unit"] == container_unit);
  CHECK(status.json["restart"]["last_failure"]["message"] == "was killed by signal 9");
  // A new container on each host, one per host as before.
  CHECK(Inspect(f, 1, kContainer)["Id"].get<std::string>() != first);
  for (int i = 0; i < 2; ++i) CHECK(ClusterContainers(f, i) == std::string(kContainer) + "\n");
  Run models = f.Node("cluster_chat.mjs", {kEndpoint, "-"});
  INFO(models.out << models.err);
  CHECK(models.json["models"] == Json::array({"demo"}));

  Run down = f.Clusterctl({"down", "--json"});
  CHECK(down.exit_code == 0);
  for (int i = 0; i < 2; ++i) CHECK(ClusterContainers(f, i).empty());
}

TEST_CASE("vllm-docker orchestration with stand-in ray and vllm: bfloat16 on T4s fails check with the fix use "
          "float16",
          "[lifecycle][hosts][docker]") {
  LifecycleFixture f(DockerHosts());
  ContainerCleanup cleanup{f};
  WriteInventoryWithImage(f, "bfloat16");
  f.Push();
  Run check = f.Clusterctl({"check", "--json"});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 1);
  CHECK(check.json["ok"] == false);
  for (const char* host : {"h1", "h2"}) {
    const Json* row = FindRow(check.json, host, "gpu", "dtype");
    REQUIRE(row != nullptr);
    CHECK((*row)["verdict"] == "fail");
    CHECK((*row)["detail"] == "runtime.dtype bfloat16 needs compute capability 8.0; GPU 0 (Tesla T4) has 7.5");
    CHECK((*row)["fix"] == "use float16: set runtime.dtype: float16 (compute capability 7.5 has no bfloat16)");
  }
  std::vector<std::string> failing;
  for (const auto& row : check.json["rows"]) {
    if (row["verdict"] == "fail") failing.push_back(row["host"].get<std::string>() + " " + row["item"].get<std::string>());
  }
  CHECK(failing == std::vector<std::string>{"h1 dtype", "h2 dtype"});  // nothing else fails

  Run up = f.Clusterctl({"up"});
  CHECK(up.exit_code == 1);
  CHECK(up.err.find("use float16: set runtime.dtype: float16") != std::string::npos);
  for (int i = 0; i < 2; ++i) CHECK(ClusterContainers(f, i).empty());
}

}  // namespace cluster::lifecycle_test
