// What `up` asks each agent to start (cli/lifecycle/deployment.h): the API
// key of the endpoint never travels in a start request; the head's request
// only says that vLLM requires it.
#include "cli/lifecycle/deployment.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "common/inventory/loader.h"
#include "common/inventory/placement.h"
#include "builtin_runtime.h"
#include "fake_runtime.h"

using namespace cluster;
using namespace cluster::cli;
namespace fs = std::filesystem;

namespace {

// The inventory of `yaml` (its artifacts need not exist here) and its placement.
struct Loaded {
  inventory::Inventory inventory;
  inventory::Placement placement;
};
Loaded Load(const std::string& yaml, const fs::path& file = "/lab/cluster.yaml") {
  inventory::LoadOptions options;
  options.require_artifacts = false;
  const auto loaded = inventory::LoadInventoryFromString(yaml, file, options);
  for (const auto& d : loaded.diagnostics) INFO(d.ToString());
  REQUIRE(loaded.ok());
  auto placement = inventory::PlaceRanks(*loaded.inventory, std::nullopt);
  REQUIRE(placement.ok());
  return {*loaded.inventory, *placement};
}

// The start requests `up` sends for `loaded`, with the inventory's runtime and no network chosen.
std::map<std::string, control::StartRequest> Requests(const inventory::Inventory& inventory,
                                                      const inventory::Placement& placement) {
  const CheckReport report;
  return BuildStartRequests(*RuntimeFor(inventory), StartPlan{&inventory, &placement, &report, "d1"});
}

}  // namespace

TEST_CASE("A vllm-docker start request says the API key is required, never what it is") {
  // The fixtures' api-key file holds the key; it used to travel to the head
  // as VLLM_API_KEY in the container's env, contrary to the protocol's rule.
  const fs::path fixtures = fs::path(CLUSTER_SOURCE_DIR) / "tests/fixtures/inventories";
  const std::string yaml =
      "cluster: {name: docker-lab}\n"
      "hosts:\n"
      "  - {name: gpu1, address: 10.0.0.11, gpus: 2}\n"
      "  - {name: gpu2, address: 10.0.0.12, gpus: 2}\n"
      "artifacts:\n"
      "  images: [{name: \"vllm/vllm-openai:v0.8.5\", file: images/vllm-openai.tar}]\n"
      "  models: [{name: tiny-llama, source: models/tiny-llama}]\n"
      "runtime:\n"
      "  kind: vllm-docker\n"
      "  model: tiny-llama\n"
      "  tensor_parallel: 2\n"
      "  pipeline_parallel: 2\n"
      "  api_key_file: api-key\n"
      "  vllm_docker: {image: \"vllm/vllm-openai:v0.8.5\"}\n";
  const Loaded loaded = Load(yaml, fixtures / "cluster.yaml");
  const auto requests = Requests(loaded.inventory, loaded.placement);
  const std::string key = "test-api-key";  // what tests/fixtures/inventories/api-key holds
  REQUIRE(requests.at("gpu1").container.has_value());
  CHECK(requests.at("gpu1").container->head);
  CHECK(requests.at("gpu1").container->api_key);
  CHECK_FALSE(requests.at("gpu2").container->api_key);
  for (const auto& [host, request] : requests) {
    const std::string wire = control::EncodeRequest(request).dump();
    INFO(host << ": " << wire);
    CHECK(wire.find("VLLM_API_KEY") == std::string::npos);
    CHECK(wire.find(key) == std::string::npos);
  }
}

TEST_CASE("A vllm-docker container gets the GPUs the inventory gives its host and the operator's docker options") {
  const std::string yaml =
      "cluster: {name: docker-lab}\n"
      "hosts:\n"
      "  - {name: gpu1, address: 10.0.0.11, gpus: 2}\n"
      "  - {name: gpu2, address: 10.0.0.12, gpus: auto}\n"
      "artifacts:\n"
      "  images: [{name: \"vllm/vllm-openai:v0.8.5\", file: /i.tar}]\n"
      "  models: [{name: m, source: /m, path: /srv/m}]\n"
      "runtime:\n"
      "  kind: vllm-docker\n"
      "  model: m\n"
      "  tensor_parallel: 2\n"
      "  pipeline_parallel: 2\n"
      "  vllm_docker:\n"
      "    image: \"vllm/vllm-openai:v0.8.5\"\n"
      "    volumes: [/data/hf:/root/.cache/huggingface]\n"
      "    devices: [/dev/infiniband]\n"
      "    ulimits: {memlock: -1}\n"
      "    ipc: host\n";
  const Loaded loaded = Load(yaml);
  const auto requests = Requests(loaded.inventory, loaded.placement);
  const control::ContainerSpec& head = *requests.at("gpu1").container;
  CHECK(head.gpu_devices == std::vector<int>{0, 1});
  CHECK(requests.at("gpu2").container->gpu_devices.empty());  // gpus: auto -> all of them
  CHECK(head.volumes == std::vector<std::string>{"/data/hf:/root/.cache/huggingface:rw"});
  CHECK(head.devices == std::vector<std::string>{"/dev/infiniband:/dev/infiniband:rwm"});
  CHECK(head.ulimits == std::vector<std::string>{"memlock=-1:-1"});
  CHECK(head.ipc_host);

  // The agent decodes what clusterctl encodes, field for field.
  const auto decoded = control::DecodeRequest(control::EncodeRequest(control::Request{requests.at("gpu1")}));
  INFO(decoded.status().ToString());
  REQUIRE(decoded.ok());
  const control::ContainerSpec& wire = *std::get<control::StartRequest>(*decoded).container;
  CHECK(wire.gpu_devices == head.gpu_devices);
  CHECK(wire.volumes == head.volumes);
  CHECK(wire.devices == head.devices);
  CHECK(wire.ulimits == head.ulimits);
  CHECK(wire.ipc_host);
}

TEST_CASE("Cluster traffic uses each host's data_address and the API listens on runtime.bind") {
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts:\n"
      "  - {name: gpu1, address: 10.0.0.11, data_address: 192.168.0.1, gpus: 1}\n"
      "  - {name: gpu2, address: 10.0.0.12, data_address: 192.168.0.2, gpus: 1}\n"
      "artifacts:\n"
      "  images: [{name: \"vllm/vllm-openai:v0.8.5\", file: /i.tar}]\n"
      "  models: [{name: m, source: /m, path: /srv/m}]\n"
      "runtime: {kind: KIND, model: m, pipeline_parallel: 2, bind: 0.0.0.0, vllm_docker: {image: "
      "\"vllm/vllm-openai:v0.8.5\"}}\n";
  auto requests_for = [&](const std::string& kind) {
    std::string text = yaml;
    text.replace(text.find("KIND"), 4, kind);
    inventory::LoadOptions options;
    options.require_artifacts = false;
    const auto loaded = inventory::LoadInventoryFromString(text, "/lab/cluster.yaml", options);
    for (const auto& d : loaded.diagnostics) INFO(d.ToString());
    REQUIRE(loaded.ok());
    const auto placement = inventory::PlaceRanks(*loaded.inventory, 2);
    REQUIRE(placement.ok());
    CHECK(EndpointOf(*loaded.inventory).address == "10.0.0.11");  // 0.0.0.0 includes the head's address
    return Requests(*loaded.inventory, *placement);
  };

  const auto engine = requests_for("engine");
  const control::RankSpec& rank0 = engine.at("gpu1").ranks.at(0);
  CHECK(rank0.rendezvous == "192.168.0.1:8001");
  CHECK(rank0.local_address == "192.168.0.1");
  CHECK(rank0.rendezvous_peers == std::vector<std::string>{"192.168.0.1", "192.168.0.2"});
  CHECK(rank0.serve_address == "0.0.0.0");
  CHECK(engine.at("gpu2").ranks.at(0).local_address == "192.168.0.2");

  const auto vllm = requests_for("vllm-docker");
  const control::ContainerSpec& head = *vllm.at("gpu1").container;
  CHECK(head.node_address == "192.168.0.1");
  CHECK(head.head_address == "192.168.0.1");
  CHECK(head.serve_address == "0.0.0.0");
  CHECK(vllm.at("gpu2").container->node_address == "192.168.0.2");
  // The agents still talk over the hosts' addresses.
  CHECK(vllm.at("gpu2").peers.at(0).address == "10.0.0.11");
}

TEST_CASE("runtime.engine.batch_invariant reaches every engine rank's start request") {
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts:\n"
      "  - {name: gpu1, address: 10.0.0.11, gpus: 2}\n"
      "  - {name: gpu2, address: 10.0.0.12, gpus: 2}\n"
      "artifacts:\n"
      "  models: [{name: m, source: /m, path: /srv/m}]\n"
      "runtime: {model: m, tensor_parallel: 2, pipeline_parallel: 2, engine: {device: cpu, batch_invariant: BI}}\n";
  auto ranks_for = [&](const std::string& batch_invariant) {
    std::string text = yaml;
    text.replace(text.find("BI"), 2, batch_invariant);
    const Loaded loaded = Load(text);
    std::vector<control::RankSpec> ranks;
    for (const auto& [host, request] : Requests(loaded.inventory, loaded.placement))
      ranks.insert(ranks.end(), request.ranks.begin(), request.ranks.end());
    REQUIRE(ranks.size() == 4);
    return ranks;
  };
  for (const control::RankSpec& rank : ranks_for("true")) CHECK(rank.batch_invariant);
  for (const control::RankSpec& rank : ranks_for("false")) CHECK_FALSE(rank.batch_invariant);
}

TEST_CASE("Every start request carries the deployment, the peers and the restart policy around the runtime's units") {
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts:\n"
      "  - {name: gpu1, address: 10.0.0.11, gpus: 1}\n"
      "  - {name: gpu2, address: 10.0.0.12, gpus: 1}\n"
      "  - {name: gpu3, address: 10.0.0.13, gpus: 1}\n"
      "artifacts:\n"
      "  models: [{name: m, source: /m, path: /srv/m}]\n"
      "runtime: {model: m, pipeline_parallel: 2, restart: on-failure, engine: {device: cpu}}\n";
  const Loaded loaded = Load(yaml);
  // A third runtime, known to up only through cli::Runtime.
  FakeRuntime runtime;
  runtime.container.name = "sglang";
  CheckReport report;
  report.network["gpu2"] = HostNetwork{"eth1", "10.0.0.12"};
  const auto requests = BuildStartRequests(runtime, StartPlan{&loaded.inventory, &loaded.placement, &report, "d7"});
  REQUIRE(requests.size() == 3);
  for (const auto& [host, request] : requests) {
    INFO(host);
    CHECK(request.deployment == "d7");
    CHECK(request.peers.size() == 2);
    CHECK(request.restart.policy == control::RestartPolicyKind::kOnFailure);
  }
  CHECK(requests.at("gpu1").container->name == "sglang");
  CHECK(requests.at("gpu2").container->env.at("NCCL_SOCKET_IFNAME") == "eth1");
  CHECK_FALSE(requests.at("gpu3").container.has_value());  // beyond pipeline_parallel: runs nothing, forgets older units
}
