#include "cli/runtimes/runtime.h"

#include "cli/runtimes/engine.h"
#include "cli/runtimes/vllm_docker.h"

namespace cluster::cli {

std::unique_ptr<Runtime> RuntimeFor(const inventory::Inventory& inventory) {
  switch (inventory.runtime.kind) {
    case inventory::RuntimeKind::kEngine: return EngineRuntime(inventory);
    case inventory::RuntimeKind::kVllmDocker: return VllmDockerRuntime(inventory);
  }
  return EngineRuntime(inventory);  // unreachable: the loader accepts no other kind
}

}  // namespace cluster::cli
