// How a host's agent starts the units of one runtime from a start request:
// the bundled engine's ranks as processes (runtimes/engine/launcher.h), or
// vLLM's container and, on the head, `vllm serve` once Ray sees every GPU
// (runtimes/vllm_docker/launcher.h). The agent (agent_service.cc) owns the
// deployment, the supervisor, the gang's failures and the restart policy; a
// launcher only turns a request into units through the LaunchSite it is
// given. The agent finds a request's launcher by the runtime's name in the
// Launchers it was given (clusterd's: runtimes/launchers.h); it never
// branches on the runtime itself.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/supervisor.h"
#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

// What a launcher may use of the agent that runs it. Every call is made on
// the agent's I/O thread, except OnIo (from anywhere).
class LaunchSite {
 public:
  virtual ~LaunchSite() = default;

  virtual const std::string& cluster() const = 0;
  virtual const std::string& host() const = 0;
  // The deployment being started, and the folder of its logs.
  virtual const std::string& DeploymentId() const = 0;
  virtual std::filesystem::path LogFolder() const = 0;
  // clusterd's own binary (infer-engine lies beside it).
  virtual const std::filesystem::path& Self() const = 0;
  // The endpoint's API key (runtime.api_key_file), as the agent keeps it.
  virtual std::filesystem::path ApiKeyFile() const = 0;
  virtual StatusOr<std::string> ApiKey() const = 0;

  // Starts `unit` under the supervisor and records it (units.json).
  virtual Status StartUnit(const UnitSpec& unit) = 0;
  // Stops every unit of this host (a start that failed half-way); returns
  // what could not be stopped.
  virtual std::vector<std::string> StopUnits(const std::string& reason) = 0;

  // Runs blocking work on the agent's workers, and work back on its I/O
  // thread.
  virtual void OnWorker(std::function<void()> work) = 0;
  virtual void OnIo(std::function<void()> work) = 0;
  // A flag that the agent sets when it stops this deployment's units:
  // background work of the launcher ends when it is set.
  virtual std::shared_ptr<const std::atomic<bool>> Stopped() = 0;
  // Whether `deployment` is still the one here and has not failed.
  virtual bool Current(const std::string& deployment) const = 0;
  // A unit of the deployment could not start after the start's reply: the
  // gang fails (every host stops; the restart policy decides what next).
  virtual void Fail(const control::GangFailure& failure) = 0;
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  using Done = std::function<void(StatusOr<control::StartReply>)>;
  // Starts this host's units of `request` (already decoded: its fields are
  // the agent protocol's, still to be validated here). Calls `done` once, on
  // the I/O thread: the units started, or why none runs.
  virtual void Start(const control::StartRequest& request, LaunchSite& site, Done done) = 0;
};

// The launchers an agent knows, by runtime name (StartRequest::runtime).
class Launchers {
 public:
  // REQUIRES: `runtime` is a runtime name (control::IsRuntimeName) not added yet.
  void Add(std::string runtime, std::unique_ptr<Launcher> launcher);
  // The launcher of `runtime`, or InvalidArgument naming the runtimes this
  // agent knows ("start.runtime: expected one of engine, vllm-docker; got
  // 'podman'"): a clusterctl newer than the agent asks for a runtime the
  // agent does not have.
  StatusOr<Launcher*> For(const std::string& runtime) const;

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Launcher>>> launchers_;
};

}  // namespace cluster::agent
