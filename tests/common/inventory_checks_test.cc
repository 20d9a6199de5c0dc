// Rules across keys: unique hosts, one head, parallelism against hosts and
// GPUs, references between sections, artifacts on this machine. Each rule
// gives one error at the value to change, naming the other lines involved.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/inventory/loader.h"

using namespace cluster::inventory;
namespace fs = std::filesystem;

namespace {

using Lines = std::vector<std::string>;

LoadResult Load(const std::string& yaml, bool require_artifacts = false) {
  LoadOptions options;
  options.require_artifacts = require_artifacts;
  return LoadInventoryFromString(yaml, "cluster.yaml", options);
}

Lines Rendered(const LoadResult& r, Diagnostic::Severity severity) {
  Lines out;
  for (const Diagnostic& d : r.diagnostics)
    if (d.severity == severity) out.push_back(d.ToString());
  return out;
}

// The errors of `yaml` as the user reads them; artifacts are not required,
// so only the rule under test is an error.
Lines Errors(const std::string& yaml) { return Rendered(Load(yaml), Diagnostic::Severity::kError); }

// The warnings, less those about artifacts: the paths in these tests (/m,
// /i.tar) are not on this machine.
Lines Warnings(const std::string& yaml) {
  Lines out;
  for (const std::string& w : Rendered(Load(yaml), Diagnostic::Severity::kWarning))
    if (w.find(" does not exist") == std::string::npos) out.push_back(w);
  return out;
}

// Four hosts of four GPUs at lines 3-6; `runtime` from line 9 on.
std::string FourByFour(const std::string& runtime_block) {
  return "cluster: {name: lab}\n"
         "hosts:\n"
         "  - {name: gpu1, address: 10.0.0.11, gpus: 4}\n"
         "  - {name: gpu2, address: 10.0.0.12, gpus: 4}\n"
         "  - {name: gpu3, address: 10.0.0.13, gpus: 4}\n"
         "  - {name: gpu4, address: 10.0.0.14, gpus: 4}\n"
         "artifacts: {models: [{name: m, source: /m}]}\n"
         "runtime:\n" +
         runtime_block;
}

// A folder with an image tarball, a model folder and an inventory path in it;
// removed at the end of the test.
struct ArtifactFolder {
  fs::path dir;
  ArtifactFolder() {
    dir = fs::temp_directory_path() / ("inventory_checks_test_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir / "images");
    fs::create_directories(dir / "models" / "m");
    std::ofstream(dir / "images" / "vllm.tar") << "tarball";
  }
  ~ArtifactFolder() { fs::remove_all(dir); }
  LoadResult Load(const std::string& yaml, bool require_artifacts) const {
    LoadOptions options;
    options.require_artifacts = require_artifacts;
    return LoadInventoryFromString(yaml, dir / "cluster.yaml", options);
  }
};

}  // namespace

TEST_CASE("Host names must be unique, the error names the host that has the name first") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11}\n"
               "  - {name: gpu1, address: 10.0.0.12}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:4:12: error: hosts[1].name: duplicate host name \"gpu1\": hosts[0] gpu1 at line 3 has "
              "it too (give each host its own name)"});
}

TEST_CASE("Host addresses must be unique, however they are spelt") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: a, address: \"fd00::1\"}\n"
               "  - {name: b, address: \"FD00:0:0::1\"}\n"
               "  - {name: c, address: Gpu.Lab.}\n"
               "  - {name: d, address: gpu.lab}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:4:24: error: hosts[1].address: duplicate address \"FD00:0:0::1\": hosts[0] a at line 3 "
              "has it too (each host is one server with its own address; list a server once, with all its GPUs)",
              "cluster.yaml:6:24: error: hosts[3].address: duplicate address \"gpu.lab\": hosts[2] c at line 5 has "
              "it too (each host is one server with its own address; list a server once, with all its GPUs)"});
}

TEST_CASE("At most one host is the head, each extra one is an error naming the head") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11, role: head}\n"
               "  - {name: gpu2, address: 10.0.0.12, role: head}\n"
               "  - {name: gpu3, address: 10.0.0.13, role: head}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:4:44: error: hosts[1].role: a second head: hosts[0] gpu1 at line 3 is the head already "
              "(mark one host role: head, or none to make the first host the head)",
              "cluster.yaml:5:44: error: hosts[2].role: a second head: hosts[0] gpu1 at line 3 is the head already "
              "(mark one host role: head, or none to make the first host the head)"});
}

TEST_CASE("On GPUs, tensor_parallel x pipeline_parallel must use every GPU, the hint says what to set") {
  SECTION("tensor_parallel fills a host: set pipeline_parallel to the number of hosts") {
    CHECK(Errors(FourByFour("  model: m\n"
                            "  tensor_parallel: 4\n")) ==
          Lines{"cluster.yaml:10:20: error: runtime.tensor_parallel: tensor_parallel x pipeline_parallel = 4 x 1 = 4 "
                "GPUs, but the hosts have 16 in all (set pipeline_parallel: 4, one stage per host)"});
    CHECK(Errors(FourByFour("  model: m\n"
                            "  tensor_parallel: 4\n"
                            "  pipeline_parallel: 2\n")) ==
          Lines{"cluster.yaml:11:22: error: runtime.pipeline_parallel: tensor_parallel x pipeline_parallel = 4 x 2 = "
                "8 GPUs, but the hosts have 16 in all (set pipeline_parallel: 4, one stage per host)"});
  }
  SECTION("pipeline_parallel matches the hosts: set tensor_parallel to the GPUs of a host") {
    CHECK(Errors(FourByFour("  model: m\n"
                            "  tensor_parallel: 2\n"
                            "  pipeline_parallel: 4\n")) ==
          Lines{"cluster.yaml:11:22: error: runtime.pipeline_parallel: tensor_parallel x pipeline_parallel = 2 x 4 = "
                "8 GPUs, but the hosts have 16 in all (set tensor_parallel: 4, the GPUs of each host)"});
  }
  SECTION("neither matches: both values are suggested") {
    CHECK(Errors(FourByFour("  model: m\n"
                            "  tensor_parallel: 2\n"
                            "  pipeline_parallel: 2\n")) ==
          Lines{"cluster.yaml:11:22: error: runtime.pipeline_parallel: tensor_parallel x pipeline_parallel = 2 x 2 = "
                "4 GPUs, but the hosts have 16 in all (with 4 GPUs on each of 4 hosts: tensor_parallel: 4 and "
                "pipeline_parallel: 4)"});
  }
  SECTION("hosts with different GPU counts: the total is what must match") {
    CHECK(Errors("cluster: {name: lab}\n"
                 "hosts:\n"
                 "  - {name: gpu1, address: 10.0.0.11, gpus: 4}\n"
                 "  - {name: gpu2, address: 10.0.0.12, gpus: 2}\n"
                 "artifacts: {models: [{name: m, source: /m}]}\n"
                 "runtime: {model: m, tensor_parallel: 2, pipeline_parallel: 2}\n") ==
          Lines{"cluster.yaml:6:60: error: runtime.pipeline_parallel: tensor_parallel x pipeline_parallel = 2 x 2 = "
                "4 GPUs, but the hosts have 6 in all (make tensor_parallel x pipeline_parallel equal 6, or list in "
                "hosts[].gpus only the GPUs to use)"});
  }
}

TEST_CASE("Hosts without GPUs cannot run a GPU runtime, the hint names the CPU device") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: box, address: 10.0.0.11, gpus: 0}]\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:4:10: error: runtime.tensor_parallel: 1 is more than the 0 GPUs of host box at line 2 (the "
              "tensor-parallel ranks of a stage share one host; lower tensor_parallel, or fix that host's gpus)",
              "cluster.yaml:4:10: error: runtime: tensor_parallel x pipeline_parallel = 1 x 1 = 1 GPU, but the hosts "
              "have 0 in all (the hosts have no GPUs; give hosts[].gpus, or use engine.device: cpu)"});
}

TEST_CASE("pipeline_parallel may not exceed the number of hosts: a stage never spans hosts") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11, gpus: 8}\n"
               "  - {name: gpu2, address: 10.0.0.12, gpus: 8}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime:\n"
               "  model: m\n"
               "  tensor_parallel: 4\n"
               "  pipeline_parallel: 4\n") ==
        Lines{"cluster.yaml:9:22: error: runtime.pipeline_parallel: 4 pipeline stages need 4 hosts, and the "
              "inventory has 2 (each stage runs on its own host; use pipeline_parallel: 2 at most, or add hosts)"});
}

TEST_CASE("tensor_parallel may not exceed the GPUs of any host, the error names each such host") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11, gpus: 6}\n"
               "  - {name: gpu2, address: 10.0.0.12, gpus: 2}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime:\n"
               "  model: m\n"
               "  tensor_parallel: 4\n"
               "  pipeline_parallel: 2\n") ==
        Lines{"cluster.yaml:8:20: error: runtime.tensor_parallel: 4 is more than the 2 GPUs of host gpu2 at line 4 "
              "(the tensor-parallel ranks of a stage share one host; lower tensor_parallel, or fix that host's gpus)"});
}

TEST_CASE("With gpus: auto on any host the total is unknown until check, so only known hosts are checked") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11}\n"
               "  - {name: gpu2, address: 10.0.0.12, gpus: auto}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m, tensor_parallel: 4, pipeline_parallel: 2}\n")
            .empty());
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11}\n"
               "  - {name: gpu2, address: 10.0.0.12, gpus: 1}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m, tensor_parallel: 4, pipeline_parallel: 2}\n") ==
        Lines{"cluster.yaml:6:38: error: runtime.tensor_parallel: 4 is more than the 1 GPU of host gpu2 at line 4 "
              "(the tensor-parallel ranks of a stage share one host; lower tensor_parallel, or fix that host's gpus)"});
}

TEST_CASE("On CPUs host GPUs do not count: each stage is one host, and idle hosts are a warning") {
  const std::string two_cpu_hosts =
      "cluster: {name: lab}\n"
      "hosts:\n"
      "  - {name: cpu1, address: 10.0.0.11, gpus: 0}\n"
      "  - {name: cpu2, address: 10.0.0.12, gpus: 0}\n"
      "artifacts: {models: [{name: m, source: /m}]}\n"
      "runtime:\n"
      "  model: m\n"
      "  engine: {device: cpu}\n"
      "  tensor_parallel: 8\n";
  CHECK(Errors(two_cpu_hosts + "  pipeline_parallel: 2\n").empty());
  CHECK(Warnings(two_cpu_hosts + "  pipeline_parallel: 2\n").empty());
  CHECK(Warnings(two_cpu_hosts + "  pipeline_parallel: 1\n") ==
        Lines{"cluster.yaml:10:22: warning: runtime.pipeline_parallel: pipeline_parallel 1 uses 1 of the 2 hosts; the "
              "others stay idle (with engine.device cpu each stage is one host; set pipeline_parallel: 2 to use all)"});
  CHECK(Errors(two_cpu_hosts + "  pipeline_parallel: 3\n") ==
        Lines{"cluster.yaml:10:22: error: runtime.pipeline_parallel: 3 pipeline stages need 3 hosts, and the "
              "inventory has 2 (each stage runs on its own host; use pipeline_parallel: 2 at most, or add hosts)"});
}

TEST_CASE("A value that failed to read does not cause a second error about the same mistake") {
  SECTION("a GPU count that is not a number leaves the TP x PP check out") {
    CHECK(Errors("cluster: {name: lab}\n"
                 "hosts:\n"
                 "  - {name: gpu1, address: 10.0.0.11, gpus: 4}\n"
                 "  - {name: gpu2, address: 10.0.0.12, gpus: four}\n"
                 "artifacts: {models: [{name: m, source: /m}]}\n"
                 "runtime: {model: m, tensor_parallel: 4}\n") ==
          Lines{"cluster.yaml:4:44: error: hosts[1].gpus: expected a whole number >= 0 or \"auto\", found \"four\""});
  }
  SECTION("a misspelt pipeline_parallel is not then read as 1") {
    CHECK(Errors(FourByFour("  model: m\n"
                            "  tensor_parallel: 4\n"
                            "  pipeline_paralel: 4\n")) ==
          Lines{"cluster.yaml:11:3: error: runtime.pipeline_paralel: unknown key (did you mean pipeline_parallel?)"});
  }
}

TEST_CASE("runtime.model must name an artifacts.models entry") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts:\n"
               "  models:\n"
               "    - {name: r1-70b, source: /m}\n"
               "    - {name: qwen-7b, source: /m}\n"
               "runtime: {model: r1-7b}\n") ==
        Lines{"cluster.yaml:7:18: error: runtime.model: no model named \"r1-7b\" in artifacts.models (did you mean "
              "r1-70b?)"});
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts: {models: [{name: r1-70b, source: /m}, {name: qwen-7b, source: /m}]}\n"
               "runtime: {model: mistral}\n") ==
        Lines{"cluster.yaml:4:18: error: runtime.model: no model named \"mistral\" in artifacts.models "
              "(artifacts.models has r1-70b or qwen-7b)"});
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "runtime: {model: mistral}\n") ==
        Lines{"cluster.yaml:3:18: error: runtime.model: no model named \"mistral\" in artifacts.models "
              "(artifacts.models is empty; add the model there)"});
}

TEST_CASE("kind vllm-docker needs a vllm_docker block whose image names an artifacts.images entry") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime:\n"
               "  kind: vllm-docker\n"
               "  model: m\n") ==
        Lines{"cluster.yaml:5:3: error: runtime.vllm_docker: required key is missing for kind vllm-docker (add "
              "vllm_docker: {image: NAME} naming an artifacts.images entry)"});
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts:\n"
               "  images: [{name: \"vllm/vllm-openai:v0.8.5\", file: /i.tar}]\n"
               "  models: [{name: m, source: /m}]\n"
               "runtime:\n"
               "  kind: vllm-docker\n"
               "  model: m\n"
               "  vllm_docker: {image: \"vllm/vllm-openai:v0.8.4\"}\n") ==
        Lines{"cluster.yaml:9:24: error: runtime.vllm_docker.image: no image named \"vllm/vllm-openai:v0.8.4\" in "
              "artifacts.images (did you mean vllm/vllm-openai:v0.8.5?)"});
}

TEST_CASE("vllm_docker.args may not set what clusterctl sets from the runtime's keys") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts:\n"
               "  images: [{name: vllm, file: /i.tar}]\n"
               "  models: [{name: m, source: /m}]\n"
               "runtime:\n"
               "  kind: vllm-docker\n"
               "  model: m\n"
               "  vllm_docker:\n"
               "    image: vllm\n"
               "    args: [--max-model-len, \"8192\", --tensor-parallel-size=2]\n") ==
        Lines{"cluster.yaml:11:37: error: runtime.vllm_docker.args[2]: --tensor-parallel-size is set by clusterctl "
              "from runtime.tensor_parallel (remove it here and set runtime.tensor_parallel)"});
}

TEST_CASE("The block of the other runtime kind is ignored, with a warning") {
  // batch_invariant is the engine's too: vLLM has no such mode.
  for (const std::string engine : {"{device: cpu}", "{batch_invariant: true}"}) {
    INFO("engine: " << engine);
    CHECK(Warnings("cluster: {name: lab}\n"
                   "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                   "artifacts:\n"
                   "  images: [{name: vllm, file: /i.tar}]\n"
                   "  models: [{name: m, source: /m}]\n"
                   "runtime:\n"
                   "  kind: vllm-docker\n"
                   "  model: m\n"
                   "  engine: " + engine + "\n"
                   "  vllm_docker: {image: vllm}\n") ==
          Lines{"cluster.yaml:9:3: warning: runtime.engine: ignored: only kind engine uses it (remove it, or set "
                "kind: engine)"});
  }
  CHECK(Warnings("cluster: {name: lab}\n"
                 "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                 "artifacts: {models: [{name: m, source: /m}]}\n"
                 "runtime:\n"
                 "  model: m\n"
                 "  vllm_docker: {image: vllm}\n") ==
        Lines{"cluster.yaml:6:3: warning: runtime.vllm_docker: ignored: only kind vllm-docker uses it (remove it, or "
              "set kind: vllm-docker)"});
}

TEST_CASE("Host IP addresses must lie in network.subnet, DNS names are left to check") {
  CHECK(Errors("cluster: {name: lab}\n"
               "network: {subnet: 10.0.0.0/24}\n"
               "hosts:\n"
               "  - {name: gpu1, address: 10.0.0.11}\n"
               "  - {name: gpu2, address: 10.0.1.12}\n"
               "  - {name: gpu3, address: gpu3.lab}\n"
               "artifacts: {models: [{name: m, source: /m}]}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:5:27: error: hosts[1].address: 10.0.1.12 is outside network.subnet 10.0.0.0/24 at line 2 "
              "(fix the address or the subnet)"});
}

TEST_CASE("model_paths keys must name models") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts:\n"
               "  - name: gpu1\n"
               "    address: 10.0.0.11\n"
               "    model_paths:\n"
               "      r1-7b: /data/r1\n"
               "artifacts: {models: [{name: r1-70b, source: /m}]}\n"
               "runtime: {model: r1-70b}\n") ==
        Lines{"cluster.yaml:6:7: error: hosts[0].model_paths.r1-7b: no model named \"r1-7b\" in artifacts.models "
              "(did you mean r1-70b?)"});
}

TEST_CASE("SSH settings of a local host are ignored, with a warning") {
  CHECK(Warnings("cluster: {name: lab}\n"
                 "hosts:\n"
                 "  - name: here\n"
                 "    address: 127.0.0.1\n"
                 "    transport: local\n"
                 "    ssh: {user: root}\n"
                 "artifacts: {models: [{name: m, source: /m}]}\n"
                 "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:6:5: warning: hosts[0].ssh: ignored: this host has transport local, so no SSH (remove it, "
              "or use transport: ssh)"});
}

TEST_CASE("Artifacts that do not exist are errors that give the resolved path") {
  ArtifactFolder folder;
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
      "artifacts:\n"
      "  images:\n"
      "    - {name: vllm, file: images/missing.tar}\n"
      "  models:\n"
      "    - {name: m, source: models/m}\n"
      "    - {name: n, source: images/vllm.tar}\n"
      "runtime: {model: m, api_key_file: /nonexistent/api-key}\n";
  const LoadResult r = folder.Load(yaml, /*require_artifacts=*/true);
  REQUIRE(r.diagnostics.size() == 3);
  CHECK_FALSE(r.ok());

  const Diagnostic& image = r.diagnostics[0];
  CHECK(image.severity == Diagnostic::Severity::kError);
  CHECK(image.location.line == 5);
  CHECK(image.location.column == 26);
  CHECK(image.key_path == "artifacts.images[0].file");
  CHECK(image.message == "file " + (folder.dir / "images/missing.tar").string() + " does not exist");
  CHECK(image.hint == "\"images/missing.tar\" is relative to the inventory's folder " + folder.dir.string() +
                      "; copy it to this machine, or check the rest with `clusterctl validate --skip-artifacts`");

  const Diagnostic& model = r.diagnostics[1];
  CHECK(model.location.line == 8);
  CHECK(model.key_path == "artifacts.models[1].source");
  CHECK(model.message == (folder.dir / "images/vllm.tar").string() +
                             " is a file, expected a folder with the model in HF format");

  const Diagnostic& key = r.diagnostics[2];
  CHECK(key.location.line == 9);
  CHECK(key.location.column == 35);
  CHECK(key.key_path == "runtime.api_key_file");
  CHECK(key.message == "file /nonexistent/api-key does not exist");
  // An absolute path needs no explanation; what to do meanwhile is the same.
  CHECK(key.hint == "copy it to this machine, or check the rest with `clusterctl validate --skip-artifacts`");
}

TEST_CASE("With require_artifacts off, missing artifacts are warnings and the inventory loads") {
  ArtifactFolder folder;
  const LoadResult r = folder.Load("cluster: {name: lab}\n"
                                   "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                                   "artifacts:\n"
                                   "  images: [{name: vllm, file: images}]\n"
                                   "  models: [{name: m, source: models/not-here}]\n"
                                   "runtime: {model: m}\n",
                                   /*require_artifacts=*/false);
  CHECK(r.ok());
  REQUIRE(r.diagnostics.size() == 2);
  CHECK(r.diagnostics[0].severity == Diagnostic::Severity::kWarning);
  CHECK(r.diagnostics[0].message ==
        (folder.dir / "images").string() + " is a folder, expected a tarball made by docker save");
  CHECK(r.diagnostics[1].severity == Diagnostic::Severity::kWarning);
  CHECK(r.diagnostics[1].message == "folder " + (folder.dir / "models/not-here").string() + " does not exist");
}

TEST_CASE("Image and model names must be unique") {
  CHECK(Errors("cluster: {name: lab}\n"
               "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
               "artifacts:\n"
               "  models:\n"
               "    - {name: m, source: /m}\n"
               "    - {name: m, source: /m2}\n"
               "runtime: {model: m}\n") ==
        Lines{"cluster.yaml:6:14: error: artifacts.models[1].name: duplicate model name \"m\": artifacts.models[0] at "
              "line 5 has it too (give each model its own name)"});
}

TEST_CASE("The model's own checks run once the schema is clean, and point at the key they name") {
  // The bundled 70B description has 64 attention heads and 8 KV heads: 3 divides neither.
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "hosts: [{name: gpu1, address: 10.0.0.11, gpus: 3}]\n"
                            "artifacts:\n"
                            "  models:\n"
                            "    - {name: r1, source: /m, config: deepseek-r1-distill-llama-70b}\n"
                            "runtime:\n"
                            "  model: r1\n"
                            "  tensor_parallel: 3\n");
  CHECK_FALSE(r.ok());
  REQUIRE(r.error_count() >= 2);
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    CHECK(d.key_path == "runtime.tensor_parallel");
    CHECK(d.location.line == 8);
    CHECK(d.location.column == 20);
    CHECK_THAT(d.message, Catch::Contains("divisible by tensor_parallel 3"));
  }
}

TEST_CASE("A schema error keeps the model's checks from running on a half-read inventory") {
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "hosts: [{name: gpu1, address: 10.0.0.11, gpus: 3}]\n"
                            "artifacts:\n"
                            "  models:\n"
                            "    - {name: r1, source: /m, config: deepseek-r1-distill-llama-70b}\n"
                            "runtime:\n"
                            "  model: r1\n"
                            "  tensor_parallel: 3\n"
                            "  dtype: fp16\n");
  CHECK(Rendered(r, Diagnostic::Severity::kError) ==
        Lines{"cluster.yaml:9:10: error: runtime.dtype: expected one of auto, float16, bfloat16 or float32, found "
              "\"fp16\" (did you mean float16?)"});
}

TEST_CASE("the agent's port may be neither the API port nor the engine's rendezvous port") {
  const std::string hosts =
      "cluster: {name: lab}\n"
      "network: {agent_port: 8000}\n"
      "hosts:\n"
      "  - {name: a, address: 10.0.0.11, gpus: 1}\n"
      "artifacts: {models: [{name: m, source: /m}]}\n"
      "runtime: {kind: engine, model: m, port: 8000}\n";
  CHECK(Errors(hosts) == Lines{"cluster.yaml:2:23: error: network.agent_port: 8000 is also runtime.port "
                               "(give the agent and the API different ports)"});
  std::string rendezvous = hosts;
  rendezvous.replace(rendezvous.find("agent_port: 8000"), 16, "agent_port: 8001");
  CHECK(Errors(rendezvous) == Lines{"cluster.yaml:2:23: error: network.agent_port: 8001 is the engine's rendezvous "
                                    "port (runtime.port + 1) (give the agent another port)"});
}

TEST_CASE("bfloat16 on a GPU without it is an error at runtime.dtype naming the first such host") {
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts:\n"
      "  - {name: a100, address: 10.0.0.11, gpus: 1, gpu_model: A100-80GB}\n"
      "  - {name: t4, address: 10.0.0.12, gpus: 1, gpu_model: Tesla T4}\n"
      "  - {name: unknown, address: 10.0.0.13, gpus: 1}\n"
      "artifacts: {models: [{name: m, source: /m}]}\n"
      "runtime: {model: m, pipeline_parallel: 3, dtype: bfloat16}\n";
  CHECK(Errors(yaml) == Lines{"cluster.yaml:7:50: error: runtime.dtype: bfloat16 cannot run on host t4: its T4 "
                              "(compute capability 7.5) has no bfloat16 support (set runtime.dtype: float16, or auto, "
                              "which picks float16 on these GPUs)"});

  // On CPUs the GPUs of the hosts do not matter.
  std::string cpu = yaml;
  cpu.replace(cpu.find("dtype: bfloat16}"), 16, "dtype: bfloat16, engine: {device: cpu}}");
  CHECK(Errors(cpu).empty());
}

TEST_CASE("engine.device cuda is an error when this build's engine has no CUDA") {
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts: [{name: a, address: 10.0.0.11, gpus: 1}]\n"
      "artifacts: {models: [{name: m, source: /m}]}\n"
      "runtime:\n"
      "  model: m\n"
      "  engine: {device: cuda}\n";
  LoadOptions cpu_only;
  cpu_only.require_artifacts = false;
  cpu_only.engine_has_cuda = false;
  CHECK(Rendered(LoadInventoryFromString(yaml, "cluster.yaml", cpu_only), Diagnostic::Severity::kError) ==
        Lines{"cluster.yaml:6:20: error: runtime.engine.device: cuda, but this clusterctl's engine was built without "
              "CUDA (CPU only) (use engine.device: cpu, or install the clusterctl package built with CUDA)"});
  CHECK(Errors(yaml).empty());  // a build with CUDA
}

TEST_CASE("vllm_docker.args that plan reads must carry values vLLM takes, the error at the flag") {
  const std::string yaml =
      "cluster: {name: lab}\n"
      "hosts: [{name: a, address: 10.0.0.11, gpus: 1}]\n"
      "artifacts:\n"
      "  images: [{name: vllm/vllm-openai:v0.8.5, file: /i.tar}]\n"
      "  models: [{name: m, source: /m}]\n"
      "runtime:\n"
      "  kind: vllm-docker\n"
      "  model: m\n"
      "  vllm_docker:\n"
      "    image: vllm/vllm-openai:v0.8.5\n"
      "    args: [--enforce-eager, --gpu-memory-utilization, \"90\"]\n";
  CHECK(Errors(yaml) == Lines{"cluster.yaml:11:29: error: runtime.vllm_docker.args[1]: --gpu-memory-utilization "
                              "needs a fraction greater than 0 and at most 1 (0.9 for 90%), found \"90\" (fix the "
                              "value, or remove the flag for vLLM's default)"});
}
