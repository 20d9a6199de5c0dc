// One runtime's part in the inventory (docs/architecture.md, "Runtimes"):
// its name in runtime.kind, its options block under `runtime`
// (runtime.engine, runtime.vllm_docker), the checks of that block against
// the rest of the inventory, and what placement and plan need to know of it.
// The built-in runtimes' parts are runtimes/NAME/inventory.h; the loader
// takes the runtimes an inventory may name from LoadOptions::runtimes (the
// built-in ones by default), and the code around them never branches on
// runtime.kind.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "common/inventory/inventory.h"
#include "common/inventory/loader.h"

namespace cluster::inventory {

class LoadContext;       // the loader's (common/src/inventory/load_context.h)
struct Field;            // a value of the file (common/src/inventory/yaml_fields.h)
struct MemorySettings;   // memory_plan.h
struct ModelFacts;       // model_facts.h

class RuntimeDefinition {
 public:
  virtual ~RuntimeDefinition() = default;

  // Its value of runtime.kind ("vllm-docker"), and words an operator may
  // write for it, each pointing at the name in validate's hint ("docker").
  virtual std::string_view name() const = 0;
  virtual std::vector<std::string_view> aliases() const { return {}; }

  // The key of its options block under `runtime` ("vllm_docker").
  virtual std::string_view block() const = 0;
  // Reads runtime.BLOCK at `field`, reporting every problem to ctx (a value
  // that fails keeps its default). Every runtime's block the file gives is
  // read, whatever the kind: a mistake in it is reported too.
  virtual std::unique_ptr<RuntimeOptions> ReadBlock(const Field& field, LoadContext* ctx) const = 0;

  // The checks of the inventory when runtime.kind is this runtime, made in
  // this order among the checks of the runtime section (checks.h): its
  // block against the rest of the inventory (references, flags clusterctl
  // sets itself); its ports on the head against runtime.port and
  // network.agent_port, which differ from each other already; what `up`
  // would refuse, known here without the hosts.
  virtual void CheckBlock(const Inventory& inventory, LoadContext* ctx) const;
  virtual void CheckPorts(const Inventory& inventory, LoadContext* ctx) const;
  virtual void CheckCanRun(const Inventory& inventory, LoadContext* ctx) const;

  // Where its ranks compute: whether on CPUs (then no GPU is placed, checked
  // or sized), and the key that decides it ("runtime.engine.device"; "" when
  // they never do): checks of parallelism skip when that key failed to read.
  virtual bool RanksOnCpu(const Runtime& runtime) const;
  virtual std::string_view device_key() const;

  // Its settings that size memory, over the defaults `settings` holds (the
  // model's context, 0.90 of each GPU, the dtype's bytes per KV element):
  // values and the keys an operator changes them with (memory_plan.h).
  virtual void ApplyMemorySettings(const Runtime& runtime, MemorySettings& settings) const = 0;

  // Problems of its options against the model's description (the engine's
  // max_context beyond the model's), added to `out` (model_facts.h).
  virtual void CheckModelFacts(const Runtime& runtime, const ModelFacts& facts, std::vector<Diagnostic>* out) const;
};

// The runtimes an inventory may name, in the order validate lists them.
class RuntimeDefinitions {
 public:
  // REQUIRES: no runtime of the same name or block was added.
  void Add(std::shared_ptr<const RuntimeDefinition> definition);
  // The runtime named `name`, or null.
  std::shared_ptr<const RuntimeDefinition> Find(std::string_view name) const;
  const std::vector<std::shared_ptr<const RuntimeDefinition>>& all() const { return all_; }

 private:
  std::vector<std::shared_ptr<const RuntimeDefinition>> all_;
};

// The built-in runtimes: the bundled engine and vLLM with Ray in Docker
// (runtimes/engine/inventory.h, runtimes/vllm_docker/inventory.h).
const RuntimeDefinitions& BuiltinRuntimeDefinitions();

}  // namespace cluster::inventory
