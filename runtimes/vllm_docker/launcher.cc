#include "runtimes/vllm_docker/launcher.h"

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "agent/vllm_docker.h"
#include "common/clock.h"
#include "common/subprocess.h"

namespace cluster::agent {
namespace {

constexpr int kDockerTimeoutMs = 30000;
// How long the head waits for Ray to see every GPU before the gang fails.
constexpr auto kRayWait = std::chrono::minutes(10);

class VllmDockerLauncher final : public Launcher {
 public:
  void Start(const control::StartRequest& request, LaunchSite& site, Done done) override {
    if (!request.container) return done(control::StartReply{});  // a host beyond pipeline_parallel
    const control::ContainerSpec spec = *request.container;
    const ContainerLabels labels{site.cluster(), site.DeploymentId()};
    if (Status s = ValidateContainerSpec(spec); !s.ok()) return done(s);
    if (Status s = ValidateContainerLabels(labels); !s.ok()) return done(s);
    site.OnWorker([&site, spec, labels, done] {
      (void)RunProcessWithin(DockerRemoveArgs(spec.name), kDockerTimeoutMs);  // a container of an earlier run
      site.OnIo([&site, spec, labels, done] {
        UnitSpec unit;
        unit.name = "container " + spec.name;
        unit.argv = DockerRunArgs(spec, labels);
        if (spec.api_key) {
          auto key = site.ApiKey();
          if (!key.ok()) return done(key.status());
          unit.env[kApiKeyVariable] = *key;
        }
        unit.stop_argv = DockerStopArgs(spec.name, 8);  // within the supervisor's stop grace
        unit.log_file = site.LogFolder() / "container.log";
        if (Status s = site.StartUnit(unit); !s.ok()) return done(s);
        control::StartReply reply;
        reply.started.push_back(unit.name);
        if (spec.head) StartServeWhenRayIsReady(site, spec);
        done(reply);
      });
    });
  }

 private:
  // The head waits until Ray sees every GPU of the cluster, then runs
  // `vllm serve`; the gang fails when Ray does not within kRayWait.
  static void StartServeWhenRayIsReady(LaunchSite& site, const control::ContainerSpec& spec) {
    const std::shared_ptr<const std::atomic<bool>> stopped = site.Stopped();
    const std::string id = site.DeploymentId();
    site.OnWorker([&site, spec, stopped, id] {
      const auto deadline = std::chrono::steady_clock::now() + kRayWait;
      double seen = 0;
      std::string last;
      while (!stopped->load() && std::chrono::steady_clock::now() < deadline) {
        auto status = RunProcessWithin(RayStatusArgs(spec.name), kDockerTimeoutMs);
        if (status.ok() && status->exit_code == 0) {
          last = status->out;
          seen = ParseRayStatusGpus(status->out).value_or(0);
          if (seen >= spec.expected_gpus) break;
        } else if (status.ok()) {
          last = status->err.empty() ? status->out : status->err;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
      }
      if (stopped->load()) return;
      site.OnIo([&site, spec, seen, last, id] {
        if (!site.Current(id)) return;
        if (seen < spec.expected_gpus) {
          control::GangFailure f;
          f.host = site.host();
          f.unit = "container " + spec.name;
          f.message = fmt::format("Ray saw {} of {} GPUs after {} s", seen, spec.expected_gpus,
                                  std::chrono::duration_cast<std::chrono::seconds>(kRayWait).count());
          f.log_tail = {last};
          f.unix_ms = UnixMillis();
          return site.Fail(f);
        }
        UnitSpec serve;
        serve.name = "vllm serve";
        serve.argv = VllmServeArgs(spec);
        serve.log_file = site.LogFolder() / "vllm-serve.log";
        if (Status s = site.StartUnit(serve); !s.ok()) {
          return site.Fail(control::GangFailure{site.host(), serve.name, s.message(), {}, UnixMillis(), "failed"});
        }
      });
    });
  }
};

}  // namespace

std::unique_ptr<Launcher> NewVllmDockerLauncher() { return std::make_unique<VllmDockerLauncher>(); }

}  // namespace cluster::agent
