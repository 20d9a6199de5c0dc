// Our vllm-docker orchestration (agent/vllm_docker.h) against a real dockerd
// on two harness hosts with stand-in GPUs, running STAND-IN Ray and vLLM
// (tests/lifecycle/standin): it proves the argvs we build drive Docker as we
// intend (host network, shm, GPU device request through the NVIDIA hook, the
// model mount, env, labels, foreground supervision, stop and removal), not
// that Ray or vLLM work.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "agent/vllm_docker.h"
#include "common/files.h"
#include "harness/test_cluster.h"
#include "skip.h"

namespace cluster {
namespace {

namespace fs = std::filesystem;
using Argv = std::vector<std::string>;
using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kImage = "clusterd-standin/vllm:test";
constexpr const char* kModel = "/srv/models/tiny";

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// argv with the docker CLI pointed at host i's dockerd, as an SSH session there has it.
Argv WithDocker(const harness::TestCluster& c, int i, const Argv& argv) {
  Argv full = {"env", "DOCKER_HOST=" + c.DockerHost(i)};
  full.insert(full.end(), argv.begin(), argv.end());
  return full;
}

// A foreground command of the runtime (docker run / docker exec), started in
// host i's namespaces like the agent would, its output going to `log`.
Subprocess StartLogged(const harness::TestCluster& c, int i, const Argv& argv, const fs::path& log) {
  Argv full = {"sh", "-c", "exec \"$@\" >" + log.string() + " 2>&1", "sh"};
  const Argv docker = WithDocker(c, i, argv);
  full.insert(full.end(), docker.begin(), docker.end());
  Subprocess::Options o;
  o.pipe_stdin = o.pipe_stdout = o.pipe_stderr = false;
  auto p = c.StartOnHost(i, full, o);
  REQUIRE(p.ok());
  return std::move(*p);
}

// Removes the test's containers however the test ends (the harness then stops dockerd).
struct ContainerCleanup {
  const harness::TestCluster* cluster;
  std::vector<std::pair<int, std::string>> containers;
  ~ContainerCleanup() {
    for (const auto& [i, name] : containers) {
      (void)cluster->RunOnHost(i, WithDocker(*cluster, i, agent::DockerRemoveArgs(name)));
    }
  }
};

Json Inspect(const harness::TestCluster& c, int i, const std::string& name) {
  auto r = c.RunOnHost(i, WithDocker(c, i, {"docker", "inspect", name}));
  REQUIRE(r.ok());
  INFO(r->err);
  REQUIRE(r->exit_code == 0);
  return Json::parse(r->out).at(0);
}

std::set<std::string> Strings(const Json& array) {
  std::set<std::string> out;
  for (const auto& v : array) out.insert(v.get<std::string>());
  return out;
}

control::ContainerSpec Spec(const harness::TestCluster& c, int i) {
  control::ContainerSpec s;
  s.name = "clusterd-standin-" + c.HostName(i);
  s.image = kImage;
  s.shm_size = "64m";
  s.model_path = kModel;
  s.env = {{"NCCL_SOCKET_IFNAME", "eth0"}, {"GLOO_SOCKET_IFNAME", "eth0"}, {"VLLM_HOST_IP", c.HostAddress(i)}};
  s.gpus = true;
  s.head = i == 0;
  s.node_address = c.HostAddress(i);
  s.head_address = c.HostAddress(0);
  s.ray_port = 6379;
  s.expected_gpus = 2;
  s.served_model_name = "tiny";
  s.tensor_parallel = 1;
  s.pipeline_parallel = 2;
  s.dtype = "float16";
  s.serve_port = 8000;
  s.vllm_args = {"--max-model-len", "2048"};
  return s;
}

// Checks our orchestration with stand-ins, not Ray or vLLM themselves.
TEST_CASE("Orchestration with stand-in Ray/vLLM: 2 hosts on a real dockerd reach 2 GPUs, serve, leave nothing") {
  if (auto why = harness::TestCluster::WhyUnavailable()) testing::SkipTest(*why);
  auto cli = RunProcess({"docker", "--version"});
  if (!cli.ok() || cli->exit_code != 0) testing::SkipTest("no docker CLI (apt-get install docker.io)");
  auto daemon = RunProcess({"dockerd", "--version"});
  if (!daemon.ok() || daemon->exit_code != 0) testing::SkipTest("no dockerd (apt-get install docker.io)");

  harness::TestClusterOptions options;
  options.hosts = 2;
  options.docker = {{0, true}, {1, true}};
  options.fake_gpus = {{0, harness::FakeGpus{}}, {1, harness::FakeGpus{}}};
  auto created = harness::TestCluster::Create(options);
  if (!created.ok()) FAIL("cannot set up the test cluster: " << created.status().message());
  const harness::TestCluster& c = **created;

  // The hosts' stand-in nvidia-smi answers the agent's query.
  auto smi = c.RunOnHost(0, {"nvidia-smi",
                             "--query-gpu=index,name,memory.total,memory.used,memory.free,compute_cap,driver_version,"
                             "utilization.gpu",
                             "--format=csv,noheader,nounits"});
  REQUIRE(smi.ok());
  CHECK(smi->out == "0, Tesla T4, 15360, 0, 15360, 7.5, 535.104.05, 0\n");

  // The image and the model, on both hosts, as `push` would leave them.
  const fs::path tarball = c.dir() / "standin.tar";
  auto made = RunProcess({MAKE_STANDIN_IMAGE, tarball.string(), kImage});
  REQUIRE(made.ok());
  INFO(made->err);
  REQUIRE(made->exit_code == 0);
  for (int i = 0; i < 2; ++i) {
    auto load = RunProcess({"docker", "-H", c.DockerHost(i), "load", "-i", tarball.string()});
    REQUIRE(load.ok());
    INFO(load->err);
    REQUIRE(load->exit_code == 0);
    fs::create_directories(c.HostPath(i, kModel));
    REQUIRE(WriteFileAtomically(c.HostPath(i, std::string(kModel) + "/config.json"), "{}\n", 0644).ok());
  }

  const agent::ContainerLabels labels{"standin-test", "d1"};
  REQUIRE(agent::ValidateContainerLabels(labels).ok());
  ContainerCleanup cleanup{&c, {}};
  std::vector<Subprocess> rays;
  for (int i = 0; i < 2; ++i) {
    const control::ContainerSpec spec = Spec(c, i);
    REQUIRE(agent::ValidateContainerSpec(spec).ok());
    cleanup.containers.emplace_back(i, spec.name);
    rays.push_back(StartLogged(c, i, agent::DockerRunArgs(spec, labels), c.dir() / ("ray-" + c.HostName(i) + ".log")));
  }
  auto run_log = [&](int i) { return ReadText(c.dir() / ("ray-" + c.HostName(i) + ".log")); };

  // Ray sees both hosts' GPUs (bounded wait; a dead `docker run` ends it early).
  const control::ContainerSpec head = Spec(c, 0);
  std::optional<double> gpus;
  std::string last_status;
  for (auto until = Clock::now() + std::chrono::seconds(90); Clock::now() < until;) {
    for (int i = 0; i < 2; ++i) {
      INFO("last ray status:\n" << last_status << "\nhead log:\n" << run_log(0) << "\nworker log:\n" << run_log(1));
      REQUIRE_FALSE(rays[i].WaitFor(0));
    }
    auto status = c.RunOnHost(0, WithDocker(c, 0, agent::RayStatusArgs(head.name)));
    REQUIRE(status.ok());
    last_status = status->out + status->err;
    gpus = agent::ParseRayStatusGpus(status->out);
    if (gpus == 2.0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  INFO("last ray status:\n" << last_status << "\nhead log:\n" << run_log(0) << "\nworker log:\n" << run_log(1));
  REQUIRE(gpus == 2.0);
  CHECK(run_log(0).find("ray-standin argv: ray start --block --head --port 6379 --dashboard-host 127.0.0.1 "
                        "--node-ip-address 127.0.10.2\n") != std::string::npos);
  CHECK(run_log(0).find("ray-standin: node 127.0.10.2 gpus 1\n") != std::string::npos);
  CHECK(run_log(1).find("ray-standin argv: ray start --block --address 127.0.10.2:6379 --node-ip-address "
                        "127.0.10.3\n") != std::string::npos);
  CHECK(run_log(1).find("ray-standin: node 127.0.10.3 gpus 1 registered with 127.0.10.2:6379\n") != std::string::npos);
  // dockerd ran the NVIDIA prestart hook for each container.
  CHECK(ReadText(c.GpuHookLog(0)) == "prestart\n");
  CHECK(ReadText(c.GpuHookLog(1)) == "prestart\n");

  // vllm serve in the head container answers on the head's cluster address.
  const fs::path serve_log = c.dir() / "vllm.log";
  Subprocess serve = StartLogged(c, 0, agent::VllmServeArgs(head), serve_log);
  std::string models;
  bool healthy = false;
  for (auto until = Clock::now() + std::chrono::seconds(30); Clock::now() < until && !healthy;) {
    INFO("vllm log:\n" << ReadText(serve_log));
    REQUIRE_FALSE(serve.WaitFor(0));
    auto health = c.RunOnOperator({"curl", "-sSf", "--max-time", "2", "http://127.0.10.2:8000/health"});
    healthy = health.ok() && health->exit_code == 0;
    if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  INFO("vllm log:\n" << ReadText(serve_log));
  REQUIRE(healthy);
  auto listed = c.RunOnOperator({"curl", "-sSf", "--max-time", "2", "http://127.0.10.2:8000/v1/models"});
  REQUIRE(listed.ok());
  REQUIRE(listed->exit_code == 0);
  const Json model_list = Json::parse(listed->out);
  CHECK(model_list["object"] == "list");
  CHECK(model_list["data"][0]["id"] == "tiny");
  CHECK(ReadText(serve_log).find("vllm-standin argv: vllm serve /srv/models/tiny --served-model-name tiny "
                                 "--tensor-parallel-size 1 --pipeline-parallel-size 2 --dtype float16 --host "
                                 "127.0.10.2 --port 8000 --distributed-executor-backend ray --max-model-len 2048\n") !=
        std::string::npos);

  // What Docker made of our flags.
  for (int i = 0; i < 2; ++i) {
    const control::ContainerSpec spec = Spec(c, i);
    const Json info = Inspect(c, i, spec.name);
    INFO(info.dump(2));
    CHECK(info["State"]["Running"] == true);
    CHECK(Strings(info["Config"]["Env"]) ==
          std::set<std::string>{"PATH=/usr/local/bin:/usr/bin:/bin", "NCCL_SOCKET_IFNAME=eth0",
                                "GLOO_SOCKET_IFNAME=eth0", "VLLM_HOST_IP=" + c.HostAddress(i)});
    CHECK(info["HostConfig"]["NetworkMode"] == "host");
    CHECK(info["HostConfig"]["ShmSize"] == 64 * 1024 * 1024);
    CHECK(info["HostConfig"]["IpcMode"] != "host");
    CHECK(info["HostConfig"]["AutoRemove"] == false);
    CHECK(info["HostConfig"]["Binds"] == Json::array({"/srv/models/tiny:/srv/models/tiny:ro"}));
    REQUIRE(info["Mounts"].size() == 1);
    CHECK(info["Mounts"][0]["Type"] == "bind");
    CHECK(info["Mounts"][0]["Source"] == kModel);
    CHECK(info["Mounts"][0]["Destination"] == kModel);
    CHECK(info["Mounts"][0]["RW"] == false);
    const Json& devices = info["HostConfig"]["DeviceRequests"];
    REQUIRE(devices.size() == 1);
    CHECK(devices[0]["Count"] == -1);
    CHECK(devices[0]["Capabilities"] == Json::parse(R"([["gpu"]])"));
    CHECK(info["Config"]["Labels"]["clusterd.cluster"] == "standin-test");
    CHECK(info["Config"]["Labels"]["clusterd.deployment"] == "d1");
    CHECK(info["Config"]["Entrypoint"] == Json::array({"ray"}));
    auto listed_here = c.RunOnHost(i, WithDocker(c, i, agent::DockerListByLabelArgs("standin-test")));
    REQUIRE(listed_here.ok());
    CHECK(listed_here->out == spec.name + "\n");
  }

  // down: stop ends the supervised foreground processes; rm leaves nothing.
  for (int i = 0; i < 2; ++i) {
    auto stop = c.RunOnHost(i, WithDocker(c, i, agent::DockerStopArgs(Spec(c, i).name, 10)));
    REQUIRE(stop.ok());
    INFO(stop->err);
    CHECK(stop->exit_code == 0);
  }
  for (int i = 0; i < 2; ++i) {
    INFO("ray log of " << c.HostName(i) << ":\n" << run_log(i));
    REQUIRE(rays[i].WaitFor(20000));
    // The stand-in Ray exits 0 on SIGTERM: `docker run` passes the container's status on.
    CHECK(Inspect(c, i, Spec(c, i).name)["State"]["ExitCode"] == 0);
  }
  CHECK(serve.WaitFor(20000));
  for (int i = 0; i < 2; ++i) {
    auto rm = c.RunOnHost(i, WithDocker(c, i, agent::DockerRemoveArgs(Spec(c, i).name)));
    REQUIRE(rm.ok());
    CHECK(rm->exit_code == 0);
    auto left = c.RunOnHost(i, WithDocker(c, i, agent::DockerListByLabelArgs("standin-test")));
    REQUIRE(left.ok());
    CHECK(left->exit_code == 0);
    CHECK(left->out.empty());
    auto all = c.RunOnHost(i, WithDocker(c, i, {"docker", "ps", "-aq"}));
    REQUIRE(all.ok());
    CHECK(all->out.empty());
  }
}

}  // namespace
}  // namespace cluster
