// The runtimes an inventory may name (BuiltinRuntimeDefinitions in
// common/inventory/runtime_definition.h), each runtime's part in the
// inventory under its name.
#include "common/inventory/runtime_definition.h"
#include "runtimes/engine/inventory.h"
#include "runtimes/vllm_docker/inventory.h"

namespace cluster::inventory {

const RuntimeDefinitions& BuiltinRuntimeDefinitions() {
  static const RuntimeDefinitions kBuiltin = [] {
    RuntimeDefinitions runtimes;
    runtimes.Add(EngineDefinition());
    runtimes.Add(VllmDockerDefinition());
    return runtimes;
  }();
  return kBuiltin;
}

}  // namespace cluster::inventory
