// The launchers (agent/launcher.h, runtimes/NAME/launcher.h): what a host's
// agent starts for each runtime from a start request, driven through a test
// double of the agent (FakeSite) that records units instead of running them,
// and how the agent finds a runtime's launcher by its name.
#include "agent/launcher.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "runtimes/launchers.h"

using namespace cluster;
using namespace cluster::agent;
namespace fs = std::filesystem;

namespace {

// A test double of the agent a launcher runs in: it records the units it is
// asked to start (failing the unit named `refuse`) and the stops; work for
// the workers waits in `worker_jobs` until the test runs it.
class FakeSite final : public LaunchSite {
 public:
  explicit FakeSite(fs::path self) : self_(std::move(self)) {}

  std::vector<UnitSpec> started;
  std::vector<std::string> stops;
  std::vector<std::function<void()>> worker_jobs;
  std::vector<control::GangFailure> failures;
  std::string refuse;

  const std::string& cluster() const override { return cluster_; }
  const std::string& host() const override { return host_; }
  const std::string& DeploymentId() const override { return deployment_; }
  fs::path LogFolder() const override { return "/var/lib/clusterd/logs/" + deployment_; }
  const fs::path& Self() const override { return self_; }
  fs::path ApiKeyFile() const override { return "/var/lib/clusterd/api.key"; }
  StatusOr<std::string> ApiKey() const override { return std::string("k"); }
  Status StartUnit(const UnitSpec& unit) override {
    if (unit.name == refuse) return UnavailableError("cannot fork");
    started.push_back(unit);
    return Status::Ok();
  }
  std::vector<std::string> StopUnits(const std::string& reason) override {
    stops.push_back(reason);
    started.clear();
    return {};
  }
  void OnWorker(std::function<void()> work) override { worker_jobs.push_back(std::move(work)); }
  void OnIo(std::function<void()> work) override { work(); }
  std::shared_ptr<const std::atomic<bool>> Stopped() override { return stopped_; }
  bool Current(const std::string& id) const override { return id == deployment_; }
  void Fail(const control::GangFailure& failure) override { failures.push_back(failure); }

 private:
  std::string cluster_ = "lab", host_ = "h1", deployment_ = "20261205-101500-abcd";
  fs::path self_;
  std::shared_ptr<std::atomic<bool>> stopped_ = std::make_shared<std::atomic<bool>>(false);
};

// A folder with clusterd and infer-engine side by side, and a model folder.
struct Install {
  fs::path dir = fs::temp_directory_path() / ("launcher-test-" + std::to_string(::getpid()));
  Install() {
    fs::create_directories(dir / "model");
    for (const char* name : {"clusterd", "infer-engine"}) {
      std::ofstream(dir / name) << "#!/bin/sh\n";
      ::chmod((dir / name).c_str(), 0755);
    }
  }
  ~Install() { fs::remove_all(dir); }
};

control::RankSpec Rank(int rank, const fs::path& model) {
  control::RankSpec r;
  r.rank = rank;
  r.world_size = 2;
  r.tensor_parallel = 2;
  r.device = "cpu";
  r.dtype = "float32";
  r.model_path = model.string();
  r.serve_port = 8000;
  return r;
}

// Starts `request` with the launcher `launchers` have for `runtime` (clusterd's by default).
StatusOr<control::StartReply> Start(const std::string& runtime, const control::StartRequest& request,
                                    LaunchSite& site, const Launchers& launchers = runtimes::BuiltinLaunchers()) {
  auto launcher = launchers.For(runtime);
  REQUIRE(launcher.ok());
  std::optional<StatusOr<control::StartReply>> reply;
  (*launcher)->Start(request, site, [&](StatusOr<control::StartReply> r) { reply = std::move(r); });
  REQUIRE(reply.has_value());  // the fake site runs the I/O thread's work at once
  return *reply;
}

}  // namespace

TEST_CASE("The engine launcher starts one infer-engine unit per rank, and the API key file only for the rank that asks") {
  Install install;
  FakeSite site(install.dir / "clusterd");
  control::StartRequest request;
  request.ranks = {Rank(0, install.dir / "model"), Rank(1, install.dir / "model")};
  request.ranks[0].api_key = true;
  const auto reply = Start("engine", request, site);
  REQUIRE(reply.ok());
  CHECK(reply->started == std::vector<std::string>{"rank 0", "rank 1"});
  REQUIRE(site.started.size() == 2);
  CHECK(site.started[0].argv.front() == (install.dir / "infer-engine").string());
  CHECK(site.started[0].log_file == "/var/lib/clusterd/logs/20261205-101500-abcd/rank-0.log");
  const auto& argv0 = site.started[0].argv;
  const auto& argv1 = site.started[1].argv;
  CHECK(std::find(argv0.begin(), argv0.end(), "--api-key-file") != argv0.end());
  CHECK(std::find(argv1.begin(), argv1.end(), "--api-key-file") == argv1.end());
}

TEST_CASE("A rank that asks for batch invariance runs infer-engine serve --batch-invariant, others without it") {
  Install install;
  FakeSite site(install.dir / "clusterd");
  control::StartRequest request;
  request.ranks = {Rank(0, install.dir / "model"), Rank(1, install.dir / "model")};
  request.ranks[0].batch_invariant = true;
  REQUIRE(Start("engine", request, site).ok());
  REQUIRE(site.started.size() == 2);
  const auto& argv0 = site.started[0].argv;
  const auto& argv1 = site.started[1].argv;
  CHECK(argv0.at(1) == "serve");
  CHECK(std::count(argv0.begin(), argv0.end(), "--batch-invariant") == 1);
  CHECK(std::find(argv1.begin(), argv1.end(), "--batch-invariant") == argv1.end());
}

TEST_CASE("The engine launcher starts no rank when one is wrong, stops the ones started and names the rank") {
  Install install;
  FakeSite site(install.dir / "clusterd");
  control::StartRequest request;
  request.ranks = {Rank(0, install.dir / "model"), Rank(1, "/no/such/model")};
  auto reply = Start("engine", request, site);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().message() ==
        "rank 1: model folder /no/such/model does not exist on this host; run `clusterctl push`");
  CHECK(site.started.empty());
  CHECK(site.stops == std::vector<std::string>{"start failed"});

  site.stops.clear();
  site.refuse = "rank 1";
  request.ranks[1] = Rank(1, install.dir / "model");
  reply = Start("engine", request, site);
  CHECK(reply.status().message() == "rank 1: cannot fork");
  CHECK(site.started.empty());
}

TEST_CASE("The engine launcher without infer-engine beside clusterd says where it looked") {
  Install install;
  fs::remove(install.dir / "infer-engine");
  FakeSite site(install.dir / "clusterd");
  control::StartRequest request;
  request.ranks = {Rank(0, install.dir / "model")};
  const auto reply = Start("engine", request, site);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().message().rfind("the engine binary is not installed beside clusterd (looked for " +
                                           (install.dir / "infer-engine").string(),
                                       0) == 0);
}

TEST_CASE("The vLLM launcher refuses a container spec docker would misread before any docker command runs") {
  FakeSite site("/usr/lib/clusterd/clusterd");
  control::StartRequest request;
  request.runtime = "vllm-docker";
  control::ContainerSpec c;
  c.name = "clusterd-lab --privileged";
  c.image = "vllm/vllm-openai:v0.8.5";
  request.container = c;
  const auto reply = Start("vllm-docker", request, site);
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().message() ==
        "container.name: \"clusterd-lab --privileged\" is not a valid name: expected [a-zA-Z0-9][a-zA-Z0-9_.-]*, at "
        "most 128 characters");
  CHECK(site.worker_jobs.empty());
  CHECK(site.started.empty());
}

TEST_CASE("Each launcher starts nothing on a host the request gives no units") {
  FakeSite site("/usr/lib/clusterd/clusterd");
  for (auto runtime : {"engine", "vllm-docker"}) {
    const auto reply = Start(runtime, control::StartRequest{}, site);
    REQUIRE(reply.ok());
    CHECK(reply->started.empty());
  }
  CHECK(site.started.empty());
  CHECK(site.worker_jobs.empty());
}

namespace {

// A test double of a third runtime's launcher (SGLang in a container, say):
// one unit per request, named after the request's deployment.
class FakeLauncher final : public Launcher {
 public:
  void Start(const control::StartRequest& request, LaunchSite& site, Done done) override {
    UnitSpec unit;
    unit.name = "fake " + request.deployment;
    unit.argv = {"/bin/true"};
    if (Status s = site.StartUnit(unit); !s.ok()) return done(s);
    control::StartReply reply;
    reply.started.push_back(unit.name);
    done(reply);
  }
};

}  // namespace

TEST_CASE("A third runtime plugs into the agent as one launcher under its name") {
  Launchers launchers = runtimes::BuiltinLaunchers();
  launchers.Add("fake", std::make_unique<FakeLauncher>());
  FakeSite site("/usr/lib/clusterd/clusterd");
  control::StartRequest request;
  request.deployment = "d1";
  request.runtime = "fake";
  const auto reply = Start("fake", request, site, launchers);
  REQUIRE(reply.ok());
  CHECK(reply->started == std::vector<std::string>{"fake d1"});
  REQUIRE(site.started.size() == 1);
  CHECK(site.started[0].argv == std::vector<std::string>{"/bin/true"});
  // The built-in runtimes are still there beside it.
  CHECK(launchers.For("engine").ok());
  CHECK(launchers.For("vllm-docker").ok());
}

TEST_CASE("A runtime the agent has no launcher for is refused with the runtimes it knows") {
  // A clusterctl newer than the agent may ask for a runtime this agent lacks.
  const Launchers launchers = runtimes::BuiltinLaunchers();
  const auto unknown = launchers.For("podman");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == StatusCode::kInvalidArgument);
  CHECK(unknown.status().message() == "start.runtime: expected one of engine, vllm-docker; got 'podman'");

  Launchers with_fake = runtimes::BuiltinLaunchers();
  with_fake.Add("fake", std::make_unique<FakeLauncher>());
  CHECK(with_fake.For("sglang").status().message() ==
        "start.runtime: expected one of engine, vllm-docker, fake; got 'sglang'");
}
