// The schema of an inventory, key by key: each kind of mistake gives one
// error with the key's path, its 1-based line and column, what was expected,
// what was found and, where we can tell, what to do.
//
// Artifacts are not required in these tests (missing ones are warnings), so
// that only the mistake under test is an error.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "common/inventory/loader.h"
#include "runtimes/vllm_docker/inventory.h"

using namespace cluster::inventory;

namespace {

LoadResult Load(const std::string& yaml) {
  LoadOptions options;
  options.require_artifacts = false;
  return LoadInventoryFromString(yaml, "cluster.yaml", options);
}

// The errors of `yaml` as the user reads them.
std::vector<std::string> Errors(const std::string& yaml) {
  std::vector<std::string> out;
  for (const Diagnostic& d : Load(yaml).diagnostics)
    if (d.severity == Diagnostic::Severity::kError) out.push_back(d.ToString());
  return out;
}

std::vector<std::string> Warnings(const std::string& yaml) {
  std::vector<std::string> out;
  for (const Diagnostic& d : Load(yaml).diagnostics)
    if (d.severity == Diagnostic::Severity::kWarning) out.push_back(d.ToString());
  return out;
}

using Lines = std::vector<std::string>;

// Everything after `runtime:` varies per test; the rest is a valid inventory.
std::string WithRuntime(const std::string& runtime_block) {
  return "cluster: {name: lab}\n"                                // 1
         "hosts:\n"                                              // 2
         "  - {name: gpu1, address: 10.0.0.11, gpus: 4}\n"       // 3
         "artifacts:\n"                                          // 4
         "  models:\n"                                           // 5
         "    - {name: m, source: /models/m}\n"                  // 6
         "runtime:\n" +                                          // 7
         runtime_block;                                          // 8...
}

// A host block under `hosts:` at line 3; the runtime follows it.
std::string WithHost(const std::string& host_block) {
  return "cluster: {name: lab}\n"  // 1
         "hosts:\n" +              // 2
         host_block +              // 3...
         "artifacts:\n"
         "  models:\n"
         "    - {name: m, source: /models/m}\n"
         "runtime: {model: m}\n";
}

}  // namespace

TEST_CASE("A misspelt key is reported at the key, with the nearest valid key as a hint") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  pipeline_paralel: 1\n")) ==
        Lines{"cluster.yaml:10:3: error: runtime.pipeline_paralel: unknown key (did you mean pipeline_parallel?)"});
}

TEST_CASE("An unknown key with no near spelling lists the keys valid at that spot") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "replicas: 3\n")) ==
        Lines{"cluster.yaml:10:1: error: replicas: unknown key (valid keys here: cluster, ssh, network, hosts, "
              "artifacts, runtime)"});
}

TEST_CASE("A key given twice is an error at the second, the first counts") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  model: n\n")) ==
        Lines{"cluster.yaml:10:3: error: runtime.model: key given twice, first at line 8 (remove one; only the "
              "first counts)"});
}

TEST_CASE("A word where a number belongs names the key, the expectation and the word") {
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.11\n"
                        "    gpus: four\n")) ==
        Lines{"cluster.yaml:5:11: error: hosts[0].gpus: expected a whole number >= 0 or \"auto\", found \"four\""});
}

TEST_CASE("A quoted number is a string, the hint says to drop the quotes") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: \"4\"\n")) ==
        Lines{"cluster.yaml:9:20: error: runtime.tensor_parallel: expected a whole number from 1 to 1024, found "
              "\"4\" (remove the quotes: a quoted value is a string)"});
}

TEST_CASE("A number out of range shows the range and the number") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  port: 70000\n")) ==
        Lines{"cluster.yaml:10:9: error: runtime.port: expected a whole number from 1 to 65535, found 70000"});
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 0\n")) ==
        Lines{"cluster.yaml:9:20: error: runtime.tensor_parallel: expected a whole number from 1 to 1024, found 0"});
}

TEST_CASE("A bad SSH port is reported in the top-level block and in a host's override") {
  CHECK(Errors("ssh: {port: 0}\n"
               "cluster: {name: lab}\n"
               "hosts:\n"
               "  - name: gpu1\n"
               "    address: 10.0.0.11\n"
               "    gpus: 4\n"
               "    ssh:\n"
               "      port: 65536\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m, tensor_parallel: 4}\n") ==
        Lines{"cluster.yaml:1:13: error: ssh.port: expected a whole number from 1 to 65535, found 0",
              "cluster.yaml:8:13: error: hosts[0].ssh.port: expected a whole number from 1 to 65535, found 65536"});
}

TEST_CASE("An empty value where a scalar belongs is reported at its key") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  port:\n")) ==
        Lines{"cluster.yaml:10:3: error: runtime.port: expected a whole number from 1 to 65535, found nothing"});
}

TEST_CASE("A list or mapping where another type belongs says which it found") {
  CHECK(Errors(WithRuntime("  model: [m]\n"
                           "  tensor_parallel: 4\n")) ==
        Lines{"cluster.yaml:8:10: error: runtime.model: expected the name of an artifacts.models entry, found a "
              "list"});
  CHECK(Errors("cluster: [lab]\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "runtime: {model: m}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n") ==
        Lines{"cluster.yaml:1:10: error: cluster: expected a mapping with the cluster's name, found a list"});
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.11\n"
                        "    labels: {rack: [a, b]}\n")) ==
        Lines{"cluster.yaml:5:20: error: hosts[0].labels.rack: expected a string, found a list"});
}

TEST_CASE("A host that is not a mapping is one error, and the other hosts are still read") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - gpu1\n"
               "  - {name: gpu2, address: 10.0.0.12, gpus: four}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:3:5: error: hosts[0]: expected a host: a mapping with name and address, found \"gpu1\"",
              "cluster.yaml:4:44: error: hosts[1].gpus: expected a whole number >= 0 or \"auto\", found \"four\""});
}

TEST_CASE("A missing required key is reported at the mapping that should hold it") {
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    gpu_model: T4\n")) ==
        Lines{"cluster.yaml:3:5: error: hosts[0].address: required key is missing (add address: with the host's IP "
              "address or DNS name)"});
  CHECK(Errors(WithRuntime("  tensor_parallel: 4\n")) ==
        Lines{"cluster.yaml:8:3: error: runtime.model: required key is missing (add model: with the name of an "
              "artifacts.models entry)"});
}

TEST_CASE("Missing sections are reported at the top of the file") {
  CHECK(Errors("cluster: {name: lab}\n") ==
        Lines{"cluster.yaml:1:1: error: hosts: required key is missing (add hosts: with a list of servers, e.g. - "
              "{name: gpu1, address: 10.0.0.11})",
              "cluster.yaml:1:1: error: runtime: required key is missing (add runtime: with at least model: NAME)"});
}

TEST_CASE("hosts must list at least one host") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: []\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:2:8: error: hosts: expected a list of at least one host, found an empty list"});
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:2:1: error: hosts: expected a list of at least one host, found nothing"});
}

TEST_CASE("hosts written as a mapping of names is a list mistake, with a hint") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  gpu1: {address: 10.0.0.11}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:3:3: error: hosts: expected a list of hosts, found a mapping (start each host with \"- \", "
              "e.g. - name: gpu1)"});
}

TEST_CASE("Long values are cut in messages, never inside a character") {
  const std::string long_name = std::string(58, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9";  // 58 + 3 characters
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  dtype: " + long_name + "\n")) ==
        Lines{"cluster.yaml:10:10: error: runtime.dtype: expected one of auto, float16, bfloat16 or float32, found \"" +
              std::string(58, 'a') + "\xc3\xa9\xc3\xa9...\""});
}

TEST_CASE("An unknown runtime kind lists the valid kinds and suggests one") {
  CHECK(Errors(WithRuntime("  kind: docker\n"
                           "  model: m\n")) ==
        Lines{"cluster.yaml:8:9: error: runtime.kind: expected one of engine or vllm-docker, found \"docker\" (did "
              "you mean vllm-docker?)"});
}

TEST_CASE("An unknown dtype lists the valid ones and maps common short names") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  dtype: fp16\n")) ==
        Lines{"cluster.yaml:10:10: error: runtime.dtype: expected one of auto, float16, bfloat16 or float32, found "
              "\"fp16\" (did you mean float16?)"});
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  dtype: int8\n")) ==
        Lines{"cluster.yaml:10:10: error: runtime.dtype: expected one of auto, float16, bfloat16 or float32, found "
              "\"int8\""});
}

TEST_CASE("engine.device is cuda or cpu") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {device: gpu}\n")) ==
        Lines{"cluster.yaml:10:20: error: runtime.engine.device: expected one of cuda or cpu, found \"gpu\" (did you "
              "mean cuda?)"});
}

TEST_CASE("gpu_memory_fraction is a fraction in between 0 and 1, not a percentage") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine:\n"
                           "    gpu_memory_fraction: 90\n")) ==
        Lines{"cluster.yaml:11:26: error: runtime.engine.gpu_memory_fraction: expected a number greater than 0 and "
              "at most 1, found 90 (a fraction, not a percentage: 0.9 for 90%)"});
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {gpu_memory_fraction: 0}\n")) ==
        Lines{"cluster.yaml:10:33: error: runtime.engine.gpu_memory_fraction: expected a number greater than 0 and "
              "at most 1, found 0"});
}

TEST_CASE("engine.batch_invariant is true or false, and the hint names the one a yes, no or quoted word meant") {
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {batch_invariant: true}\n"))
            .empty());
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {batch_invariant: False}\n"))
            .empty());
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine:\n"
                           "    batch_invariant: yes\n")) ==
        Lines{"cluster.yaml:11:22: error: runtime.engine.batch_invariant: expected true or false, found \"yes\" (did "
              "you mean true?)"});
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {batch_invariant: 0}\n")) ==
        Lines{"cluster.yaml:10:29: error: runtime.engine.batch_invariant: expected true or false, found 0 (did you "
              "mean false?)"});
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {batch_invariant: \"true\"}\n")) ==
        Lines{"cluster.yaml:10:29: error: runtime.engine.batch_invariant: expected true or false, found \"true\" "
              "(remove the quotes: a quoted value is a string)"});
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  engine: {batch_invariant: fast}\n")) ==
        Lines{"cluster.yaml:10:29: error: runtime.engine.batch_invariant: expected true or false, found \"fast\""});
  // It belongs to the engine's block, as every option of one runtime does.
  CHECK(Errors(WithRuntime("  model: m\n"
                           "  tensor_parallel: 4\n"
                           "  batch_invariant: true\n")) ==
        Lines{"cluster.yaml:10:3: error: runtime.batch_invariant: unknown key (valid keys here: kind, model, "
              "tensor_parallel, pipeline_parallel, dtype, port, bind, api_key_file, engine, vllm_docker, restart)"});
}

TEST_CASE("role is head or absent") {
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.11\n"
                        "    role: worker\n")) ==
        Lines{"cluster.yaml:5:11: error: hosts[0].role: expected head, found \"worker\" (only the head has a role; "
              "leave role out for the other hosts)"});
}

TEST_CASE("A cluster name outside a-z, 0-9 and - is refused, with a usable name as a hint") {
  CHECK(Errors("cluster:\n"
               "  name: T4_Lab\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:2:9: error: cluster.name: expected a name of a-z, 0-9 and \"-\" (at most 63, not "
              "starting with \"-\"), found \"T4_Lab\" (it contains \"T\"; try t4-lab)"});
}

TEST_CASE("A host address must be an IP address or a DNS name, alone") {
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.256\n")) ==
        Lines{"cluster.yaml:4:14: error: hosts[0].address: expected an IP address or DNS name, found "
              "\"10.0.0.256\" (an IPv4 address is four numbers from 0 to 255)"});
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.11:2222\n")) ==
        Lines{"cluster.yaml:4:14: error: hosts[0].address: expected an IP address or DNS name, found "
              "\"10.0.0.11:2222\" (give the port as ssh.port, and the address alone)"});
}

TEST_CASE("A host name is refused when it cannot name a file") {
  CHECK(Errors(WithHost("  - name: gpu/1\n"
                        "    address: 10.0.0.11\n")) ==
        Lines{"cluster.yaml:3:11: error: hosts[0].name: expected a host name of letters, digits, \".\", \"_\" and "
              "\"-\" (at most 63), found \"gpu/1\" (it contains \"/\")"});
}

TEST_CASE("network.interface is auto or a valid Linux interface name") {
  CHECK(Errors("cluster: {name: lab}\n"
               "network:\n"
               "  interface: enp129s0f1np1-long\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:3:14: error: network.interface: expected \"auto\" or an interface name such as ens1f0, "
              "found \"enp129s0f1np1-long\" (it has 18 characters; Linux names have 1 to 15 characters, no \"/\", "
              "\":\" or spaces)"});
}

TEST_CASE("network.subnet is CIDR, host bits set are a warning") {
  CHECK(Errors("cluster: {name: lab}\n"
               "network: {subnet: 10.0.0.0}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:2:19: error: network.subnet: expected a subnet such as 10.0.0.0/24, found \"10.0.0.0\" "
              "(the prefix length such as /24 is missing)"});
  CHECK(Warnings("cluster: {name: lab}\n"
                 "network: {subnet: 10.0.0.5/24}\n"
                 "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                 "artifacts: {models: [{name: m, source: /m}]}\n"
                 "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:2:19: warning: network.subnet: 10.0.0.5/24 has host bits set; read as 10.0.0.0/24 "
              "(write 10.0.0.0/24)",
              "cluster.yaml:4:40: warning: artifacts.models[0].source: folder /m does not exist"});
}

TEST_CASE("gpu_memory is a size with a known unit") {
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.11\n"
                        "    gpu_memory: 16 gigs\n")) ==
        Lines{"cluster.yaml:5:17: error: hosts[0].gpu_memory: expected a size such as 16GiB, found \"16 gigs\" "
              "(unknown unit \"gigs\"; use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"});
}

TEST_CASE("Paths on the hosts must be absolute") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts:\n"
               "  models:\n"
               "    - name: m\n"
               "      source: /m\n"
               "      path: data/m\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:7:13: error: artifacts.models[0].path: expected an absolute path on the hosts, found "
              "\"data/m\" (paths on the hosts do not depend on where the inventory is)"});
  CHECK(Errors(WithHost("  - name: gpu1\n"
                        "    address: 10.0.0.11\n"
                        "    model_paths: {m: ~/models/m}\n")) ==
        Lines{"cluster.yaml:5:22: error: hosts[0].model_paths.m: expected an absolute path on the hosts, found "
              "\"~/models/m\" (~ means each host's own $HOME there; write the full path)"});
}

TEST_CASE("vllm_docker options: image required, docker size syntax, variable names, string arguments") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime:\n"
               "  kind: vllm-docker\n"
               "  model: m\n"
               "  vllm_docker:\n"
               "    shm_size: 16 gigs\n"
               "    env: {VLLM-LEVEL: INFO}\n"
               "    args: [--max-model-len, {n: 1}]\n") ==
        Lines{"cluster.yaml:8:5: error: runtime.vllm_docker.image: required key is missing (add image: with the name "
              "of an artifacts.images entry)",
              "cluster.yaml:8:15: error: runtime.vllm_docker.shm_size: expected a size in docker's syntax such as "
              "16g, found \"16 gigs\" (unknown unit \"gigs\"; use b, k, m, g, t or p)",
              "cluster.yaml:9:11: error: runtime.vllm_docker.env.VLLM-LEVEL: expected a variable the agents may set "
              "(docs/agent-protocol.md), found \"VLLM-LEVEL\" ('VLLM-LEVEL' is not an environment variable name "
              "(expected [A-Z_][A-Z0-9_]*))",
              "cluster.yaml:10:29: error: runtime.vllm_docker.args[1]: expected a string, found a mapping"});
}

TEST_CASE("vllm_docker volumes, devices, ulimits and ipc are read in docker's syntax, each error at its item") {
  const std::string head =
      "cluster: {name: lab}\n"
      "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
      "artifacts: {images: [{name: i, file: /i.tar}], models: [{name: m, source: /m, path: /srv/m}]}\n"
      "runtime:\n"
      "  kind: vllm-docker\n"
      "  model: m\n"
      "  vllm_docker:\n"
      "    image: i\n";
  const LoadResult r = Load(head +
                            "    volumes: [/data/hf:/root/.cache/huggingface, /opt/tools:/tools:ro]\n"
                            "    devices: [/dev/infiniband]\n"
                            "    ulimits: {memlock: -1, stack: 67108864}\n"
                            "    ipc: host\n");
  for (const auto& d : r.diagnostics) INFO(d.ToString());
  REQUIRE(r.ok());
  const VllmDockerOptions& v = VllmDockerOptionsOf(r.inventory->runtime);
  CHECK(v.volumes == std::vector<std::string>{"/data/hf:/root/.cache/huggingface:rw", "/opt/tools:/tools:ro"});
  CHECK(v.devices == std::vector<std::string>{"/dev/infiniband:/dev/infiniband:rwm"});
  CHECK(v.ulimits == std::map<std::string, std::string>{{"memlock", "-1:-1"}, {"stack", "67108864:67108864"}});
  CHECK(v.ipc_host);

  CHECK(Errors(head +
               "    volumes: [/data/hf, \"/:/host\"]\n"
               "    devices: [/etc/passwd]\n"
               "    ulimits: {memlock: lots, nofile: -1}\n"
               "    ipc: shareable\n") ==
        Lines{"cluster.yaml:9:15: error: runtime.vllm_docker.volumes[0]: expected HOST_PATH:CONTAINER_PATH[:ro|rw], "
              "found \"/data/hf\" (\"/data/hf\" is not HOST_PATH:CONTAINER_PATH[:ro|rw])",
              "cluster.yaml:9:25: error: runtime.vllm_docker.volumes[1]: expected HOST_PATH:CONTAINER_PATH[:ro|rw], "
              "found \"/:/host\" (the host path \"/\" would give the container the whole host)",
              "cluster.yaml:10:15: error: runtime.vllm_docker.devices[0]: expected a device such as /dev/infiniband, "
              "found \"/etc/passwd\" (\"/etc/passwd\" is not a device under /dev/)",
              "cluster.yaml:11:24: error: runtime.vllm_docker.ulimits.memlock: \"lots\" is not a limit: expected a "
              "number, -1 or unlimited, or SOFT:HARD",
              "cluster.yaml:11:38: error: runtime.vllm_docker.ulimits.nofile: nofile cannot be unlimited; give a number "
              "such as 1048576",
              "cluster.yaml:12:10: error: runtime.vllm_docker.ipc: expected one of private or host, found "
              "\"shareable\""});
  CHECK(Errors(head + "    volumes: [/srv/cache:/cache, /srv/cache:/srv/m]\n") ==
        Lines{"cluster.yaml:9:34: error: runtime.vllm_docker.volumes[1]: mounts over the model folder /srv/m (mount it "
              "elsewhere in the container; clusterctl mounts the model there)"});
}

TEST_CASE("A host's data_address is an IP address, its interface a Linux name, runtime.bind an IPv4 address") {
  const std::string base =
      "cluster: {name: lab}\n"
      "network: {subnet: 192.168.0.0/24}\n"
      "hosts:\n"
      "  - {name: gpu1, address: gpu1.lab, data_address: 192.168.0.1, interface: ib0, gpus: 1}\n"
      "artifacts: {models: [{name: m, source: /m}]}\n"
      "runtime: {model: m, bind: 0.0.0.0}\n";
  const LoadResult r = Load(base);
  REQUIRE(r.ok());
  const Host& host = r.inventory->hosts.at(0);
  CHECK(host.data_address == "192.168.0.1");
  CHECK(host.ClusterAddress() == "192.168.0.1");
  CHECK(host.interface == "ib0");
  CHECK(r.inventory->runtime.bind == "0.0.0.0");

  CHECK(Errors("cluster: {name: lab}\n"
               "network: {subnet: 192.168.0.0/24}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.1, data_address: ib.gpu1, interface: \"ib 0\", gpus: 1}\n"
               "  - {name: gpu2, address: 10.0.0.2, data_address: 192.168.1.2, gpus: 1}\n"
               "  - {name: gpu3, address: 10.0.0.3, data_address: 192.168.1.2, gpus: 1}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m, pipeline_parallel: 3, bind: \"::\"}\n") ==
        Lines{"cluster.yaml:4:51: error: hosts[0].data_address: expected an IP address (NCCL and Ray take no DNS "
              "names), found \"ib.gpu1\"",
              "cluster.yaml:4:71: error: hosts[0].interface: expected an interface name such as ens1f0, found \"ib "
              "0\" (it contains \" \"; Linux names have 1 to 15 characters, no \"/\", \":\" or spaces)",
              "cluster.yaml:5:51: error: hosts[1].data_address: 192.168.1.2 is outside network.subnet "
              "192.168.0.0/24 at line 2 (fix the address or the subnet)",
              "cluster.yaml:6:51: error: hosts[2].data_address: duplicate data_address \"192.168.1.2\": hosts[1] "
              "gpu2 at line 5 has it too (give each host the address of its own cluster NIC)",
              "cluster.yaml:8:49: error: runtime.bind: expected an IPv4 address, or 0.0.0.0 for every interface, "
              "found \"::\""});
}

TEST_CASE("An empty optional block reads as empty, not as an error") {
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "ssh:\n"
                            "network:\n"
                            "hosts:\n"
                            "  - name: gpu1\n"
                            "    address: 10.0.0.11\n"
                            "    labels:\n"
                            "artifacts:\n"
                            "  images:\n"
                            "  models: [{name: m, source: /m}]\n"
                            "runtime: {model: m}\n");
  CHECK(r.error_count() == 0);
  CHECK(r.ok());
}
