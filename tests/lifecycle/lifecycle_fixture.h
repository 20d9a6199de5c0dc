// Shared set-up of the lifecycle tests (check, up, status, logs, down): a
// TestCluster of hosts with real sshd, an inventory naming them, the demo
// model pushed to every host with `clusterctl push`, and clusterctl run in
// the operator namespace (whose HOME holds the cluster CA).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/test_cluster.h"

namespace cluster::lifecycle_test {

using Json = nlohmann::json;

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
  Json json;  // stdout's last line parsed, when it is JSON (null otherwise)
};

class LifecycleFixture {
 public:
  // Skips the test (exit 4) when the harness cannot run here.
  explicit LifecycleFixture(const harness::TestClusterOptions& options);
  ~LifecycleFixture();

  harness::TestCluster& cluster() { return *cluster_; }
  const std::filesystem::path& inventory() const { return inventory_; }

  // Writes the inventory: every harness host (h1 the head), the demo model
  // at /srv/models/demo, and `runtime_yaml` (the whole `runtime:` block);
  // `network_yaml` adds a `network:` block, `images_yaml` an images list
  // (the `images:` key and its entries, under `artifacts:`); every host says
  // `gpus: gpus_per_host`.
  void WriteInventory(const std::string& runtime_yaml, const std::string& network_yaml = "",
                      const std::string& images_yaml = "", int gpus_per_host = 0);
  // The engine runtime on the CPU with tensor_parallel x pipeline_parallel.
  static std::string EngineRuntime(int pipeline_parallel = 1, int tensor_parallel = 1);

  // `clusterctl ARGS... -f INVENTORY` in the operator namespace.
  Run Clusterctl(const std::vector<std::string>& args);
  // Pushes the inventory's artifacts; REQUIREs success.
  void Push();
  // A node script of tests/reference in the operator namespace; nullopt
  // (after SkipTest) never returns when node or the npm packages are missing.
  Run Node(const std::string& script, const std::vector<std::string>& args);

 private:
  // `down --purge` on the inventory, then the hosts go; once.
  void TearDown();

  std::unique_ptr<harness::TestCluster> cluster_;
  std::filesystem::path inventory_;
};

// Waits (polling every 200 ms, at most `seconds`) until `done()` holds.
bool WaitUntil(double seconds, const std::function<bool()>& done);

}  // namespace cluster::lifecycle_test
