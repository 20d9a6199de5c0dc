// Shared set-up of the multi-host push tests: a TestCluster, local artifacts
// with known contents, an inventory naming them, and `clusterctl push` run in
// the operator namespace with its JSON events parsed.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/test_cluster.h"

namespace cluster::push_test {

using Json = nlohmann::json;

struct PushRun {
  int exit_code = -1;
  std::vector<Json> events;  // every --json-lines line
  Json summary;              // the "summary" event (null if none)
  std::string err;           // stderr
  std::string out;           // stdout (all of it)
  // The summary's entry of `host`; fails the test when absent.
  const Json& Host(const std::string& host) const;
};

struct ModelSpec {
  std::string name;
  std::filesystem::path source;  // local folder
};

class PushFixture {
 public:
  // Skips the test (exit 4) when the harness cannot run here.
  explicit PushFixture(const harness::TestClusterOptions& options);

  harness::TestCluster& cluster() { return *cluster_; }
  // Creates a local model folder under the test folder with files of the given
  // sizes and deterministic pseudo-random contents (seeded by name).
  ModelSpec MakeModel(const std::string& name, const std::vector<std::pair<std::string, std::size_t>>& files);
  // Writes the inventory: every harness host (plus `extra_hosts_yaml`), the
  // models (each to /srv/models/NAME on hosts) and images.
  std::filesystem::path WriteInventory(const std::vector<ModelSpec>& models,
                                       const std::vector<std::pair<std::string, std::filesystem::path>>& images = {},
                                       const std::string& extra_hosts_yaml = "");
  // Runs `clusterctl push -f INVENTORY --json-lines ARGS...` in the operator namespace.
  PushRun Push(const std::vector<std::string>& args = {});
  // The same without --json (human output).
  PushRun PushHuman(const std::vector<std::string>& args = {});
  std::vector<std::string> PushArgv(const std::vector<std::string>& args, bool json) const;

 private:
  std::unique_ptr<harness::TestCluster> cluster_;
  std::filesystem::path inventory_;
};

// Writes `size` deterministic pseudo-random bytes.
void WritePseudoRandomFile(const std::filesystem::path& path, std::size_t size, std::uint64_t seed);

}  // namespace cluster::push_test
