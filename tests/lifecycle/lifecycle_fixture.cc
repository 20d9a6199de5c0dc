#include "lifecycle/lifecycle_fixture.h"

#include <chrono>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "common/files.h"
#include "skip.h"

namespace cluster::lifecycle_test {
namespace fs = std::filesystem;

namespace {
Run Parse(const StatusOr<ProcessResult>& r) {
  REQUIRE(r.ok());
  Run run{r->exit_code, r->out, r->err, nullptr};
  std::string last = r->out;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  if (!last.empty() && last[0] == '{') run.json = Json::parse(last, nullptr, false);
  return run;
}
}  // namespace

LifecycleFixture::LifecycleFixture(const harness::TestClusterOptions& options) {
  if (auto why = harness::TestCluster::WhyUnavailable()) testing::SkipTest(*why);
  auto c = harness::TestCluster::Create(options);
  REQUIRE(c.ok());
  cluster_ = std::move(*c);
}

LifecycleFixture::~LifecycleFixture() { TearDown(); }

void LifecycleFixture::TearDown() {
  if (cluster_ == nullptr) return;
  // Whatever a failed test left: stop it before the namespaces go.
  if (!inventory_.empty()) (void)cluster_->RunOnOperator({CLUSTERCTL_BIN, "down", "--purge", "-f", inventory_.string()});
  cluster_.reset();
}

std::string LifecycleFixture::EngineRuntime(int pipeline_parallel, int tensor_parallel) {
  return fmt::format(
      "runtime:\n  kind: engine\n  model: demo\n  tensor_parallel: {}\n  pipeline_parallel: {}\n  dtype: float32\n"
      "  port: 8000\n  engine:\n    device: cpu\n",
      tensor_parallel, pipeline_parallel);
}

void LifecycleFixture::WriteInventory(const std::string& runtime_yaml, const std::string& network_yaml,
                                      const std::string& images_yaml, int gpus_per_host) {
  std::string y = fmt::format(
      "cluster:\n  name: life-test\nssh:\n  user: root\n  identity_file: {}\n  known_hosts_file: {}\n"
      "  connect_timeout: 5\n",
      cluster_->IdentityFile().string(), cluster_->KnownHostsFile().string());
  y += network_yaml;
  y += "hosts:\n";
  for (int i = 0; i < cluster_->host_count(); ++i) {
    y += fmt::format("  - name: {}\n    address: {}\n    gpus: {}\n{}", cluster_->HostName(i), cluster_->HostAddress(i),
                     gpus_per_host, i == 0 ? "    role: head\n" : "");
  }
  y += fmt::format("artifacts:\n  models:\n    - name: demo\n      source: {}/models/demo\n      path: /srv/models/demo\n",
                   CLUSTER_SOURCE_DIR);
  y += images_yaml;
  y += runtime_yaml;
  inventory_ = cluster_->dir() / "cluster.yaml";
  REQUIRE(WriteFileAtomically(inventory_, y).ok());
}

Run LifecycleFixture::Clusterctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CLUSTERCTL_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-f", inventory_.string()});
  return Parse(cluster_->RunOnOperator(argv));
}

void LifecycleFixture::Push() {
  Run r = Clusterctl({"push", "--json"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
}

Run LifecycleFixture::Node(const std::string& script, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"node", fs::path(CLUSTER_SOURCE_DIR) / "tests/reference" / script};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = cluster_->RunOnOperator(argv);
  REQUIRE(r.ok());
  if (r->exit_code == 4 || r->exit_code == 127) {
    // A skip ends the process without destructors: stop what `up` started
    // and remove the hosts first, or they outlive the test.
    const std::string why = "node or the npm packages: " + r->out + r->err;
    TearDown();
    testing::SkipTest(why);
  }
  return Parse(r);
}

bool WaitUntil(double seconds, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int>(seconds * 1000));
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return done();
}

}  // namespace cluster::lifecycle_test
