// The vllm-docker runtime's argv builders, spec validation and `ray status`
// parser (agent/vllm_docker.h), without Docker.
#include "agent/vllm_docker.h"

#include <algorithm>
#include <functional>

#include <catch2/catch.hpp>

namespace cluster::agent {
namespace {

using Argv = std::vector<std::string>;

control::ContainerSpec HeadSpec() {
  control::ContainerSpec s;
  s.name = "clusterd-demo-h1";
  s.image = "registry.local:5000/vllm/vllm-openai:v0.6.3";
  s.shm_size = "16g";
  s.model_path = "/srv/models/llama-70b";
  s.env = {{"VLLM_HOST_IP", "10.0.0.1"}, {"NCCL_SOCKET_IFNAME", "ens1f0"}, {"GLOO_SOCKET_IFNAME", "ens1f0"}};
  s.gpus = true;
  s.head = true;
  s.node_address = "10.0.0.1";
  s.head_address = "10.0.0.1";
  s.ray_port = 6379;
  s.expected_gpus = 16;
  s.served_model_name = "llama-70b";
  s.tensor_parallel = 4;
  s.pipeline_parallel = 4;
  s.dtype = "float16";
  s.serve_port = 8000;
  s.vllm_args = {"--max-model-len", "4096"};
  return s;
}

control::ContainerSpec WorkerSpec() {
  control::ContainerSpec s = HeadSpec();
  s.name = "clusterd-demo-h2";
  s.head = false;
  s.node_address = "10.0.0.2";
  s.env["VLLM_HOST_IP"] = "10.0.0.2";
  return s;
}

const ContainerLabels kLabels{"demo", "d-20240101-1"};

TEST_CASE("The head's docker run is foreground, host-networked, GPU-enabled, labelled and starts a Ray head") {
  // Env in key order; the dashboard on loopback; no -d, no --rm, no --ipc.
  CHECK(DockerRunArgs(HeadSpec(), kLabels) ==
        Argv{"docker", "run", "--name", "clusterd-demo-h1", "--network", "host", "--shm-size", "16g", "--gpus", "all",
             "-v", "/srv/models/llama-70b:/srv/models/llama-70b:ro", "-e", "GLOO_SOCKET_IFNAME=ens1f0", "-e",
             "NCCL_SOCKET_IFNAME=ens1f0", "-e", "VLLM_HOST_IP=10.0.0.1", "--label", "clusterd.cluster=demo", "--label",
             "clusterd.deployment=d-20240101-1", "--pull", "never", "--entrypoint", "ray",
             "registry.local:5000/vllm/vllm-openai:v0.6.3", "start", "--block", "--head", "--port", "6379",
             "--dashboard-host", "127.0.0.1", "--node-ip-address", "10.0.0.1"});
}

TEST_CASE("The API key reaches the container by name only so that no argv or log holds it") {
  // The spec only says that vLLM requires the key; the agent fills the
  // value into the docker process's environment from its own copy.
  control::ContainerSpec s = HeadSpec();
  s.api_key = true;
  const Argv argv = DockerRunArgs(s, kLabels);
  const auto named = std::find(argv.begin(), argv.end(), "VLLM_API_KEY");
  REQUIRE(named != argv.end());
  CHECK(*(named - 1) == "-e");
  const Argv without = DockerRunArgs(HeadSpec(), kLabels);
  CHECK(std::find(without.begin(), without.end(), "VLLM_API_KEY") == without.end());
}

TEST_CASE("The operator's GPUs, ipc, volumes, devices and ulimits reach docker run in that order") {
  control::ContainerSpec s = HeadSpec();
  s.gpu_devices = {0, 1, 2, 3};
  s.ipc_host = true;
  s.volumes = {"/data/hf:/root/.cache/huggingface:rw"};
  s.devices = {"/dev/infiniband:/dev/infiniband:rwm"};
  s.ulimits = {"memlock=-1:-1", "stack=67108864:67108864"};
  REQUIRE(ValidateContainerSpec(s).ok());
  const Argv argv = DockerRunArgs(s, kLabels);
  // --ipc host replaces --shm-size; docker reads --gpus as CSV, so the list is quoted.
  CHECK(Argv(argv.begin(), argv.begin() + 20) ==
        Argv{"docker", "run", "--name", "clusterd-demo-h1", "--network", "host", "--ipc", "host", "--gpus",
             "\"device=0,1,2,3\"", "-v", "/srv/models/llama-70b:/srv/models/llama-70b:ro", "-v",
             "/data/hf:/root/.cache/huggingface:rw", "--device", "/dev/infiniband:/dev/infiniband:rwm", "--ulimit",
             "memlock=-1:-1", "--ulimit", "stack=67108864:67108864"});
  CHECK(std::find(argv.begin(), argv.end(), "--shm-size") == argv.end());
}

TEST_CASE("A worker's docker run joins the head's Ray port, without GPUs there is no --gpus flag") {
  control::ContainerSpec s = WorkerSpec();
  s.gpus = false;
  s.ray_port = 6380;
  const Argv argv = DockerRunArgs(s, kLabels, "/usr/bin/docker");
  CHECK(argv.front() == "/usr/bin/docker");
  CHECK(std::find(argv.begin(), argv.end(), "--gpus") == argv.end());
  const Argv tail(argv.end() - 6, argv.end());
  CHECK(tail == Argv{"start", "--block", "--address", "10.0.0.1:6380", "--node-ip-address", "10.0.0.2"});
  CHECK(std::find(argv.begin(), argv.end(), "--head") == argv.end());
}

TEST_CASE("vllm serve runs in the head container with TP, PP, dtype, the cluster address and extra args last") {
  CHECK(VllmServeArgs(HeadSpec()) ==
        Argv{"docker", "exec", "clusterd-demo-h1", "vllm", "serve", "/srv/models/llama-70b", "--served-model-name",
             "llama-70b", "--tensor-parallel-size", "4", "--pipeline-parallel-size", "4", "--dtype", "float16",
             "--host", "10.0.0.1", "--port", "8000", "--distributed-executor-backend", "ray", "--max-model-len",
             "4096"});
  control::ContainerSpec s = HeadSpec();
  s.dtype.clear();
  s.served_model_name.clear();
  s.vllm_args.clear();
  CHECK(VllmServeArgs(s) == Argv{"docker", "exec", "clusterd-demo-h1", "vllm", "serve", "/srv/models/llama-70b",
                                 "--tensor-parallel-size", "4", "--pipeline-parallel-size", "4", "--host", "10.0.0.1",
                                 "--port", "8000", "--distributed-executor-backend", "ray"});
}

TEST_CASE("stop, rm, ray status and the leftover listing are fixed argvs") {
  CHECK(DockerStopArgs("c1") == Argv{"docker", "stop", "-t", "30", "c1"});
  CHECK(DockerStopArgs("c1", 5, "d") == Argv{"d", "stop", "-t", "5", "c1"});
  CHECK(DockerRemoveArgs("c1") == Argv{"docker", "rm", "-f", "c1"});
  CHECK(RayStatusArgs("c1") == Argv{"docker", "exec", "c1", "ray", "status"});
  CHECK(DockerListByLabelArgs("demo") ==
        Argv{"docker", "ps", "-a", "--filter", "label=clusterd.cluster=demo", "--format", "{{.Names}}"});
}

TEST_CASE("Well-formed head and worker specs validate") {
  CHECK(ValidateContainerSpec(HeadSpec()).ok());
  CHECK(ValidateContainerSpec(WorkerSpec()).ok());
  CHECK(ValidateContainerLabels(kLabels).ok());
  const std::vector<std::string> images = {"vllm/vllm-openai", "vllm/vllm-openai:latest", "localhost/x", "ubuntu",
                                           "a.b_c__d-e/f---g:T.1-x_", "Registry.Example.com/team/img:1",
                                           "img@sha256:" + std::string(64, 'a'),
                                           "host:1/img:tag@sha256:" + std::string(64, '0')};
  for (const std::string& image : images) {
    control::ContainerSpec s = HeadSpec();
    s.image = image;
    INFO(image);
    CHECK(ValidateContainerSpec(s).ok());
  }
}

// Each bad value is rejected with a message naming the field and the value.
TEST_CASE("A malformed spec field is rejected, naming the field and its value") {
  struct Case {
    std::function<void(control::ContainerSpec&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](auto& s) { s.name = "-bad"; }, "container.name: \"-bad\" is not a valid name"},
      {[](auto& s) { s.name = "a b"; }, "container.name: \"a b\" is not a valid name"},
      {[](auto& s) { s.image = "vllm/Vllm-OpenAI"; },
       "container.image: \"vllm/Vllm-OpenAI\" is not an image reference"},
      {[](auto& s) { s.image = "img:"; }, "container.image: \"img:\" is not an image reference"},
      {[](auto& s) { s.image = "img@sha256:abc"; }, "container.image: \"img@sha256:abc\" is not an image reference"},
      {[](auto& s) { s.image = "a//b"; }, "container.image: \"a//b\" is not an image reference"},
      {[](auto& s) { s.image = "-v /:/host"; }, "container.image: \"-v /:/host\" is not an image reference"},
      {[](auto& s) { s.shm_size = "16G"; }, "container.shm_size: \"16G\" is not a size"},
      {[](auto& s) { s.shm_size = "1.5g"; }, "container.shm_size: \"1.5g\" is not a size"},
      {[](auto& s) { s.shm_size = ""; }, "container.shm_size: \"\" is not a size"},
      {[](auto& s) { s.model_path = "models/x"; }, "container.model_path: \"models/x\" is not usable as a mount"},
      {[](auto& s) { s.model_path = "/srv/a:b"; }, "container.model_path: \"/srv/a:b\" is not usable as a mount"},
      {[](auto& s) { s.model_path = "/srv/a,b"; }, "container.model_path: \"/srv/a,b\" is not usable as a mount"},
      {[](auto& s) { s.model_path = "/"; }, "container.model_path: \"/\" is not usable as a mount"},
      {[](auto& s) { s.env["lower"] = "x"; }, "container.env: 'lower' is not an environment variable name"},
      {[](auto& s) { s.env["LD_PRELOAD"] = "/tmp/x.so"; },
       "container.env: 'LD_PRELOAD' is not one of the variables a request may set"},
      {[](auto& s) { s.env["VLLM_API_KEY"] = "sk"; }, "container.env: 'VLLM_API_KEY' may not be set by a request"},
      {[](auto& s) { s.env["VLLM_A"] = "x\ny"; }, "container.env.VLLM_A: \"x\\x0ay\" contains a NUL, newline"},
      {[](auto& s) { s.env["VLLM_A"] = std::string("x\0y", 3); }, "container.env.VLLM_A: \"x\\x00y\" contains a NUL"},
      {[](auto& s) { s.node_address = "host1"; }, "container.node_address: \"host1\" is not an IPv4 address"},
      {[](auto& s) { s.node_address = "10.0.0.256"; }, "container.node_address: \"10.0.0.256\" is not an IPv4"},
      {[](auto& s) { s.head = false; s.head_address = ""; }, "container.head_address: \"\" is not an IPv4 address"},
      {[](auto& s) { s.ray_port = 0; }, "container.ray_port: \"0\" is not a TCP port (1-65535)"},
      {[](auto& s) { s.serve_port = 70000; }, "container.serve_port: \"70000\" is not a TCP port"},
      {[](auto& s) { s.serve_port = 6379; }, "container.serve_port: \"6379\" is also the Ray port"},
      {[](auto& s) { s.tensor_parallel = 0; }, "container.tensor_parallel: \"0\" must be at least 1"},
      {[](auto& s) { s.dtype = "fp16"; }, "container.dtype: \"fp16\" is not a vLLM dtype"},
      {[](auto& s) { s.vllm_args = {"--x\n"}; }, "container.vllm_args: \"--x\\x0a\" contains a NUL"},
      {[](auto& s) { s.volumes = {"/data:/data"}; },
       "container.volumes: \"/data:/data\" is not in the form HOST:CONTAINER:ro|rw"},
      {[](auto& s) { s.volumes = {"/:/host:rw"}; },
       "container.volumes: \"/:/host:rw\" the host path \"/\" would give the container the whole host"},
      {[](auto& s) { s.volumes = {"/x:/srv/models/llama-70b:ro"}; },
       "container.volumes: \"/x:/srv/models/llama-70b:ro\" mounts over the model folder"},
      {[](auto& s) { s.devices = {"/dev/infiniband"}; },
       "container.devices: \"/dev/infiniband\" is not in the form HOST:CONTAINER:PERMISSIONS"},
      {[](auto& s) { s.devices = {"/etc/shadow:/dev/x:r"}; },
       "container.devices: \"/etc/shadow:/dev/x:r\" \"/etc/shadow\" is not a device under /dev/"},
      {[](auto& s) { s.ulimits = {"memlock=-1"}; },
       "container.ulimits: \"memlock=-1\" is not in the form NAME=SOFT:HARD"},
      {[](auto& s) { s.ulimits = {"memlock"}; }, "container.ulimits: \"memlock\" is not in the form NAME=SOFT:HARD"},
      {[](auto& s) { s.ulimits = {"x=1:1"}; }, "container.ulimits: \"x=1:1\" \"x\" is not a limit docker sets"},
      {[](auto& s) { s.gpu_devices = {0, 0}; }, "container.gpu_devices: \"0\" is not a GPU index 0-1023 listed once"},
      {[](auto& s) { s.gpu_devices = {-1}; }, "container.gpu_devices: \"-1\" is not a GPU index 0-1023 listed once"},
  };
  for (const auto& c : cases) {
    control::ContainerSpec s = HeadSpec();
    c.change(s);
    const Status status = ValidateContainerSpec(s);
    INFO(c.message);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK(status.message().rfind(c.message, 0) == 0);
  }
}

TEST_CASE("A worker's serve fields are not checked, labels must be names") {
  control::ContainerSpec s = WorkerSpec();
  s.dtype = "nonsense";
  s.serve_port = 0;
  CHECK(ValidateContainerSpec(s).ok());
  const Status bad = ValidateContainerLabels({"demo", "d 1"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.message().rfind("container.label clusterd.deployment: \"d 1\" is not a valid name", 0) == 0);
}

// Ray 2.x before the v2 autoscaler (the format of `ray status` on a cluster
// started with `ray start`), as Ray prints it.
constexpr const char* kRayStatus = R"(======== Autoscaler status: 2024-05-02 10:11:12.345678 ========
Node status
---------------------------------------------------------------
Active:
 1 node_7f2a3c0e9a1b4c5d8e6f
 1 node_0b1c2d3e4f5a6b7c8d9e
Pending:
 (no pending nodes)
Recent failures:
 (no failures)

Resources
---------------------------------------------------------------
Usage:
 0.0/32.0 CPU
 0.0/8.0 GPU
 0.0/2.0 accelerator_type:T4
 0B/98.53GiB memory
 0B/44.22GiB object_store_memory

Demands:
 (no resource demands)
)";

// The v2 autoscaler's format (newer Ray), verbose: a cluster-wide "Total
// Usage:" block, then per-node indented " Usage:" blocks.
constexpr const char* kRayStatusV2 = R"(======== Autoscaler status: 2025-01-10 08:00:00 ========
Node status
--------------------------------------------------------
Active:
 (no active nodes)
Idle:
 1 head_node
 1 worker_node
Pending:
 (no pending nodes)
Recent failures:
 (no failures)

Resources
--------------------------------------------------------
Total Usage:
 0.5/3.0 CPU
 0/4.0 GPU
 5.42KiB/10.04KiB object_store_memory

Total Constraints:
 (no request_resources() constraints)
Total Demands:
 (no resource demands)

Node: instance1 (head_node)
 Id: fffffffffffffffffffffffffffffffffffffffffffffffffff00001
 Usage:
  0.5/1.0 CPU
  0.0/2.0 GPU
 Activity:
  (no activity)
)";

TEST_CASE("ray status: the cluster's GPU total comes from the cluster-wide usage block of either format") {
  CHECK(ParseRayStatusGpus(kRayStatus) == 8.0);
  CHECK(ParseRayStatusGpus(kRayStatusV2) == 4.0);
  std::string crlf;
  for (char c : std::string(kRayStatus)) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  CHECK(ParseRayStatusGpus(crlf) == 8.0);
}

TEST_CASE("ray status: no GPU line means 0 GPUs, no usage block (Ray not running) means unknown") {
  CHECK(ParseRayStatusGpus("Resources\n------\nUsage:\n 0.0/4.0 CPU\n 0B/1GiB memory\n\nDemands:\n") == 0.0);
  CHECK(ParseRayStatusGpus("ConnectionError: Could not find any running Ray instance. Please specify the one to "
                           "connect to by setting `--address` flag or `RAY_ADDRESS` environment variable.\n") ==
        std::nullopt);
  CHECK(ParseRayStatusGpus("") == std::nullopt);
  // A per-node block alone is not the cluster's total.
  CHECK(ParseRayStatusGpus("Node: a\n Usage:\n  0.0/2.0 GPU\n") == std::nullopt);
}

}  // namespace
}  // namespace cluster::agent
