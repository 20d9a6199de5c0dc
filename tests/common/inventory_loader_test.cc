// Loading an inventory as a whole: the file itself (missing, empty, not
// YAML), every field of a valid file, defaults, path resolution, and every
// error of a broken file reported in one run, in file order.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/inventory/loader.h"
#include "runtimes/engine/inventory.h"
#include "runtimes/vllm_docker/inventory.h"

using namespace cluster::inventory;
namespace fs = std::filesystem;

namespace {

using Lines = std::vector<std::string>;

LoadResult Load(const std::string& yaml, const fs::path& file = "cluster.yaml") {
  LoadOptions options;
  options.require_artifacts = false;
  return LoadInventoryFromString(yaml, file, options);
}

Lines All(const LoadResult& r) {
  Lines out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.ToString());
  return out;
}

const fs::path kFixtures = fs::path(CLUSTER_SOURCE_DIR) / "tests/fixtures/inventories";

}  // namespace

TEST_CASE("A file that does not exist is one error naming it") {
  const LoadResult r = LoadInventory("/nonexistent/cluster.yaml");
  CHECK_FALSE(r.ok());
  CHECK(All(r) == Lines{"/nonexistent/cluster.yaml: error: no such file"});
}

TEST_CASE("A folder given as the inventory is one error") {
  const LoadResult r = LoadInventory(kFixtures);
  CHECK(All(r) == Lines{kFixtures.string() + ": error: is a folder, expected a file"});
}

TEST_CASE("An empty file, or one of comments only, says so at its first line") {
  const std::string expected =
      "cluster.yaml:1:1: error: expected a mapping with keys cluster, hosts, artifacts and runtime, found nothing "
      "(the file is empty; docs/inventory.md has an example)";
  CHECK(All(Load("")) == Lines{expected});
  CHECK(All(Load("# nothing yet\n\n")) == Lines{expected});
}

TEST_CASE("A top-level list or scalar instead of a mapping is one error") {
  CHECK(All(Load("- name: gpu1\n- name: gpu2\n")) ==
        Lines{"cluster.yaml:1:1: error: expected a mapping with keys cluster, hosts, artifacts and runtime, found a "
              "list"});
  CHECK(All(Load("hello\n")) ==
        Lines{"cluster.yaml:1:1: error: expected a mapping with keys cluster, hosts, artifacts and runtime, found "
              "\"hello\""});
}

TEST_CASE("YAML syntax errors carry yaml-cpp's position, 1-based, and a hint where the cause is common") {
  CHECK(All(Load("cluster:\n"
                 "  name: lab\n"
                 "    extra: indent\n")) ==
        Lines{"cluster.yaml:3:10: error: YAML syntax: illegal map value (check the indentation, and quote values "
              "that contain \": \")"});
  CHECK(All(Load("cluster:\n"
                 "\tname: lab\n")) ==
        Lines{"cluster.yaml:2:6: error: YAML syntax: illegal map value (indent with spaces: YAML does not allow "
              "tabs)"});
  CHECK(All(Load("cluster: {name: lab\n"
                 "hosts: []\n")) ==
        Lines{"cluster.yaml:2:6: error: YAML syntax: end of map flow not found (a \"{\" is not closed by \"}\")"});
}

TEST_CASE("A stray comma outside a flow list is an error where it stands, never a parser that runs forever") {
  const std::string at_1_1 = "cluster.yaml:1:1: error: YAML syntax: a ',' outside [ ] or { } (quote a value that "
                             "contains a comma, or write the list as [a, b])";
  CHECK(All(Load(",")) == Lines{at_1_1});
  CHECK(All(Load(",a")) == Lines{at_1_1});
  CHECK(All(Load("- gpu1\n"
                 ", gpu2\n")) == Lines{"cluster.yaml:2:1: error: YAML syntax: a ',' outside [ ] or { } (quote a value "
                                        "that contains a comma, or write the list as [a, b])"});
  CHECK(All(Load("cluster: {name: lab}\n"
                 "---\n"
                 "\"x\" ,\n")) == Lines{"cluster.yaml:3:5: error: YAML syntax: a ',' outside [ ] or { } (quote a value "
                                          "that contains a comma, or write the list as [a, b])"});
}

TEST_CASE("A second YAML document in the file is an error where it starts") {
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                            "artifacts: {models: [{name: m, source: /m}]}\n"
                            "runtime: {model: m}\n"
                            "---\n"
                            "cluster: {name: other}\n");
  CHECK_FALSE(r.ok());
  CHECK(All(r) ==
        Lines{"cluster.yaml:3:40: warning: artifacts.models[0].source: folder /m does not exist",
              "cluster.yaml:6:1: error: a second YAML document starts here; an inventory is one document (remove "
              "the \"---\" line before it, or move it to its own file)"});
}

TEST_CASE("Every key of a valid inventory lands in the Inventory, with positions") {
  const fs::path file = kFixtures / "valid.yaml";
  const LoadResult r = LoadInventory(file);
  CHECK(All(r).empty());
  REQUIRE(r.ok());
  const Inventory& inv = *r.inventory;

  CHECK(inv.file == file);
  CHECK(inv.cluster_name == "t4-lab");
  CHECK(inv.ssh.user == "ops");
  CHECK(inv.ssh.port == 22);
  CHECK(inv.ssh.connect_timeout_s == 10);
  CHECK(inv.network.interface == "auto");
  CHECK(inv.network.subnet == "10.0.0.0/24");

  REQUIRE(inv.hosts.size() == 4);
  const Host& gpu1 = inv.hosts[0];
  CHECK(gpu1.name == "gpu1");
  CHECK(gpu1.address == "10.0.0.11");
  CHECK(gpu1.head);
  CHECK(inv.Head() == &gpu1);
  CHECK(gpu1.transport == Transport::kSsh);
  CHECK(gpu1.gpus == 4);
  CHECK(gpu1.gpu_model == "T4");
  CHECK(gpu1.gpu_memory_bytes == 16ull << 30);
  CHECK(gpu1.labels == std::map<std::string, std::string>{{"rack", "a"}});
  CHECK(gpu1.location.file == file.string());
  CHECK(gpu1.location.line == 13);
  CHECK(gpu1.location.column == 5);

  SECTION("a host's ssh block overrides the top-level one key by key") {
    CHECK(gpu1.ssh.user == "ops");
    CHECK(gpu1.ssh.port == 22);
    const Host& gpu2 = inv.hosts[1];
    CHECK(gpu2.ssh.user == "root");
    CHECK(gpu2.ssh.port == 2222);
    CHECK(gpu2.ssh.connect_timeout_s == 10);
  }

  REQUIRE(inv.images.size() == 1);
  CHECK(inv.images[0].name == "vllm/vllm-openai:v0.8.5");
  CHECK(inv.images[0].file == kFixtures / "images/vllm-openai.tar");
  CHECK(inv.images[0].location.line == 33);
  CHECK(inv.images[0].location.column == 7);

  REQUIRE(inv.models.size() == 1);
  const Model& model = inv.models[0];
  CHECK(model.name == "tiny-llama");
  CHECK(model.source == kFixtures / "models/tiny-llama");
  CHECK(model.path == "/data/models/tiny-llama");
  CHECK_FALSE(model.config.has_value());
  CHECK(inv.FindModel("tiny-llama") == &model);

  SECTION("model_paths puts the model elsewhere on one host only") {
    CHECK(inv.ModelPathOn(inv.hosts[2], model) == "/scratch/models/tiny-llama");
    CHECK(inv.ModelPathOn(inv.hosts[0], model) == "/data/models/tiny-llama");
  }

  const Runtime& rt = inv.runtime;
  CHECK(rt.kind == "engine");
  CHECK(rt.model == "tiny-llama");
  CHECK(rt.tensor_parallel == 4);
  CHECK(rt.pipeline_parallel == 4);
  CHECK(rt.dtype == Dtype::kFloat16);
  CHECK(rt.port == 8000);
  CHECK(rt.api_key_file == kFixtures / "api-key");
  CHECK(EngineOptionsOf(rt).device == EngineDevice::kCuda);
  CHECK(EngineOptionsOf(rt).max_context == 512);
  CHECK(EngineOptionsOf(rt).gpu_memory_fraction == Approx(0.9));
  CHECK(EngineOptionsOf(rt).batch_invariant);
  CHECK(rt.location.line == 40);
  CHECK(rt.location.column == 3);
}

TEST_CASE("Keys left out take their documented defaults") {
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "hosts: [{name: gpu1, address: gpu1.lab}]\n"
                            "artifacts: {models: [{name: m, source: models/m}]}\n"
                            "runtime: {model: m}\n",
                            "/etc/cluster/cluster.yaml");
  REQUIRE(r.ok());
  const Inventory& inv = *r.inventory;
  // SSH: unset, so the SSH layer applies $USER, port 22, agent keys, ~/.ssh/known_hosts, 10 s.
  CHECK_FALSE(inv.ssh.user.has_value());
  CHECK_FALSE(inv.ssh.port.has_value());
  CHECK_FALSE(inv.ssh.identity_file.has_value());
  CHECK_FALSE(inv.ssh.known_hosts_file.has_value());
  CHECK_FALSE(inv.ssh.connect_timeout_s.has_value());
  CHECK(inv.network.interface == "auto");
  CHECK_FALSE(inv.network.subnet.has_value());

  const Host& host = inv.hosts.at(0);
  CHECK_FALSE(host.head);
  CHECK(inv.Head() == &host);  // no head marked: the first host
  CHECK(host.transport == Transport::kSsh);
  CHECK_FALSE(host.gpus.has_value());  // auto
  CHECK_FALSE(host.gpu_model.has_value());
  CHECK_FALSE(host.gpu_memory_bytes.has_value());
  CHECK(host.labels.empty());
  CHECK(host.model_paths.empty());

  CHECK(inv.images.empty());
  CHECK(inv.models.at(0).path == "/etc/cluster/models/m");  // the source's absolute path
  CHECK_FALSE(inv.models.at(0).config.has_value());

  const Runtime& rt = inv.runtime;
  CHECK(rt.kind == "engine");
  CHECK(rt.tensor_parallel == 1);
  CHECK(rt.pipeline_parallel == 1);
  CHECK(rt.dtype == Dtype::kAuto);
  CHECK(rt.port == 8000);
  CHECK_FALSE(rt.api_key_file.has_value());
  CHECK(EngineOptionsOf(rt).device == EngineDevice::kCuda);
  CHECK_FALSE(EngineOptionsOf(rt).max_context.has_value());
  CHECK(EngineOptionsOf(rt).gpu_memory_fraction == Approx(0.9));
  CHECK_FALSE(EngineOptionsOf(rt).batch_invariant);  // the faster mode, as vLLM's
  CHECK(VllmDockerOptionsOf(rt).shm_size == "16g");
}

TEST_CASE("Local paths resolve against the inventory's folder, ~/ against HOME, host paths stay as written") {
  const char* home = std::getenv("HOME");
  REQUIRE(home != nullptr);
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "ssh: {identity_file: ~/.ssh/id_lab, known_hosts_file: keys/known_hosts}\n"
                            "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                            "artifacts:\n"
                            "  images: [{name: i, file: ../images/i.tar}]\n"
                            "  models:\n"
                            "    - {name: a, source: models/a}\n"
                            "    - {name: b, source: /srv/b/, path: /data/x/../b/}\n"
                            "runtime: {model: a, api_key_file: ./secrets/key}\n",
                            "/etc/cluster/cluster.yaml");
  REQUIRE(r.ok());
  const Inventory& inv = *r.inventory;
  CHECK(inv.file == "/etc/cluster/cluster.yaml");
  CHECK(inv.ssh.identity_file == fs::path(home) / ".ssh/id_lab");
  CHECK(inv.ssh.known_hosts_file == "/etc/cluster/keys/known_hosts");
  CHECK(inv.hosts[0].ssh.known_hosts_file == "/etc/cluster/keys/known_hosts");
  CHECK(inv.images[0].file == "/etc/images/i.tar");
  CHECK(inv.models[0].source == "/etc/cluster/models/a");
  CHECK(inv.models[0].path == "/etc/cluster/models/a");
  CHECK(inv.models[1].source == "/srv/b");
  CHECK(inv.models[1].path == "/data/b");
  CHECK(inv.runtime.api_key_file == "/etc/cluster/secrets/key");
}

TEST_CASE("A relative inventory path resolves against the current folder") {
  const LoadResult r = Load("cluster: {name: lab}\n"
                            "hosts: [{name: gpu1, address: 10.0.0.11}]\n"
                            "artifacts: {models: [{name: m, source: models/m}]}\n"
                            "runtime: {model: m}\n",
                            "site/cluster.yaml");
  REQUIRE(r.ok());
  CHECK(r.inventory->file == fs::current_path() / "site/cluster.yaml");
  CHECK(r.inventory->models[0].source == fs::current_path() / "site/models/m");
  // Messages name the file as it was given.
  REQUIRE_FALSE(r.diagnostics.empty());
  CHECK(r.diagnostics[0].location.file == "site/cluster.yaml");
}

TEST_CASE("Every error of a file is reported in one run, in file order") {
  const LoadResult r = Load("cluster:\n"                // 1
                            "  name: T4_Lab\n"          // 2
                            "ssh:\n"                    // 3
                            "  port: 70000\n"           // 4
                            "hosts:\n"                  // 5
                            "  - name: gpu1\n"          // 6
                            "    address: 10.0.0.11\n"  // 7
                            "    gpus: 4\n"             // 8
                            "  - name: gpu1\n"          // 9
                            "    address: 10.0.0.11\n"  // 10
                            "    gpus: \"4\"\n"         // 11
                            "artifacts:\n"              // 12
                            "  models:\n"               // 13
                            "    - name: r1-70b\n"      // 14
                            "      source: /m\n"        // 15
                            "runtime:\n"                // 16
                            "  kind: engin\n"           // 17
                            "  model: r1-7b\n"          // 18
                            "  tensor_parallel: 4\n"    // 19
                            "  pipeline_paralel: 2\n"   // 20
                            "  dtype: fp16\n");         // 21
  CHECK_FALSE(r.ok());
  CHECK(r.error_count() == 9);
  CHECK(r.warning_count() == 1);
  CHECK(All(r) ==
        Lines{
            "cluster.yaml:2:9: error: cluster.name: expected a name of a-z, 0-9 and \"-\" (at most 63, not starting "
            "with \"-\"), found \"T4_Lab\" (it contains \"T\"; try t4-lab)",
            "cluster.yaml:4:9: error: ssh.port: expected a whole number from 1 to 65535, found 70000",
            "cluster.yaml:9:11: error: hosts[1].name: duplicate host name \"gpu1\": hosts[0] gpu1 at line 6 has it "
            "too (give each host its own name)",
            "cluster.yaml:10:14: error: hosts[1].address: duplicate address \"10.0.0.11\": hosts[0] gpu1 at line 6 "
            "has it too (each host is one server with its own address; list a server once, with all its GPUs)",
            "cluster.yaml:11:11: error: hosts[1].gpus: expected a whole number >= 0 or \"auto\", found \"4\" (remove "
            "the quotes: a quoted value is a string)",
            "cluster.yaml:15:15: warning: artifacts.models[0].source: folder /m does not exist",
            "cluster.yaml:17:9: error: runtime.kind: expected one of engine or vllm-docker, found \"engin\" (did you "
            "mean engine?)",
            "cluster.yaml:18:10: error: runtime.model: no model named \"r1-7b\" in artifacts.models (did you mean "
            "r1-70b?)",
            "cluster.yaml:20:3: error: runtime.pipeline_paralel: unknown key (did you mean pipeline_parallel?)",
            "cluster.yaml:21:10: error: runtime.dtype: expected one of auto, float16, bfloat16 or float32, found "
            "\"fp16\" (did you mean float16?)",
        });
}

TEST_CASE("A diagnostic reads FILE:LINE:COL: SEVERITY: KEY: MESSAGE (HINT), leaving out what it lacks") {
  Diagnostic d{Diagnostic::Severity::kError, {"c.yaml", 3, 7}, "runtime.port", "expected x, found y", "do z"};
  CHECK(d.ToString() == "c.yaml:3:7: error: runtime.port: expected x, found y (do z)");
  d.hint.clear();
  CHECK(d.ToString() == "c.yaml:3:7: error: runtime.port: expected x, found y");
  d.key_path.clear();
  CHECK(d.ToString() == "c.yaml:3:7: error: expected x, found y");
  d.location.line = 0;
  CHECK(d.ToString() == "c.yaml: error: expected x, found y");
  d.severity = Diagnostic::Severity::kWarning;
  CHECK(d.ToString() == "c.yaml: warning: expected x, found y");
}
