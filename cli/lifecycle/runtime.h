// A runtime `up` can start, as clusterctl sees it: the bundled engine
// (runtimes/engine/deployment.h) or vLLM with Ray in Docker
// (runtimes/vllm_docker/deployment.h). Everything `check` and `up` do
// differently for one of them is there, as what the runtime needs of the
// hosts (HostNeeds, judged by the generic rules of cli/lifecycle) and what
// each host's agent is asked to start (AddUnits). The lifecycle code gets
// the inventory's runtime from Runtimes, by the name in runtime.kind, and
// never branches on it; a third runtime is one more folder in runtimes/
// (docs/architecture.md, "Runtimes").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/lifecycle/check_report.h"
#include "common/status.h"
#include "common/inventory/inventory.h"
#include "common/inventory/placement.h"
#include "control/messages.h"

namespace cluster::cli {

// What a runtime needs of the hosts, for `check` to ask their agents and to
// judge, and for `up` to install.
struct HostNeeds {
  // infer-engine beside clusterd on every host (the agent's bundle has it).
  bool engine = false;
  // The bundled engine on GPUs: it must be able to open the host's GPU (the
  // agent runs `infer-engine probe --device cuda`), and the host's NVIDIA
  // driver must be new enough for the CUDA runtime it links ("13.0"). Both
  // "" otherwise (a container image brings its own CUDA runtime).
  std::string engine_device;
  std::string engine_cuda_runtime;
  // What a host without GPUs could do instead, added to that failure's fix
  // ("or set runtime.engine.device: cpu"); "" when nothing.
  std::string without_gpus;
  // A Docker image every host that runs a stage must have loaded; "": the
  // runtime needs no Docker.
  std::string image;
  // /dev/shm must hold at least `bytes`, as `key` asks (`value`, its text).
  struct Shm {
    std::uint64_t bytes = 0;
    std::string key;
    std::string value;
  };
  std::optional<Shm> shm;
  // TCP ports the head needs free, runtime.port first.
  std::vector<int> head_ports;
};

// What `up` decided before it asks the runtime for the hosts' units.
struct StartPlan {
  const inventory::Inventory* inventory = nullptr;
  const inventory::Placement* placement = nullptr;
  const CheckReport* report = nullptr;  // the network environment of each host (EnvFor)
  std::string deployment;
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  virtual HostNeeds Needs() const = 0;

  // Cluster-wide rows `check` adds for this runtime (the engine: its world
  // size); none by default.
  virtual std::vector<CheckRow> SummaryRows() const { return {}; }

  // Why `check --comm` does not apply, as its warning row; nullopt when it
  // does (the bundled engine's collectives).
  virtual std::optional<CheckRow> CommCheckUnsupported() const = 0;

  // Fills each host's start request (requests[i] for inventory.hosts[i],
  // already holding the deployment, peers and restart policy) with what that
  // host runs: engine ranks, or a container. A host that runs nothing is
  // left without units, so that it forgets older ones.
  virtual void AddUnits(const StartPlan& plan, std::vector<control::StartRequest>& requests) const = 0;

  // The runtime's own fields of validate's and plan's JSON summaries
  // ("device", "batch_invariant", "image").
  virtual void Describe(nlohmann::ordered_json& runtime) const = 0;

  // Lines `plan` prints about the runtime's settings that its figures do not
  // show (the engine's batch invariance, which slows decoding); none by
  // default.
  virtual std::vector<std::string> PlanNotes() const { return {}; }
};

// The runtimes clusterctl knows, by name (runtime.kind in the inventory;
// clusterctl's: runtimes/deployments.h).
class Runtimes {
 public:
  // Makes the runtime of an inventory whose runtime.kind is its name.
  // REQUIRES (of what it makes): `inventory` outlives it.
  using Make = std::unique_ptr<Runtime> (*)(const inventory::Inventory& inventory);

  // REQUIRES: `name` is not added yet.
  void Add(std::string name, Make make);
  // The runtime of inventory.runtime.kind, or InvalidArgument naming the
  // runtimes clusterctl knows (an inventory loaded with runtimes of its own).
  StatusOr<std::unique_ptr<Runtime>> For(const inventory::Inventory& inventory) const;

 private:
  std::vector<std::pair<std::string, Make>> makers_;
};

}  // namespace cluster::cli
