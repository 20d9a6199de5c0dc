#include "runtimes/launchers.h"

#include "runtimes/engine/launcher.h"
#include "runtimes/engine/name.h"
#include "runtimes/vllm_docker/launcher.h"
#include "runtimes/vllm_docker/name.h"

namespace cluster::runtimes {

agent::Launchers BuiltinLaunchers() {
  agent::Launchers launchers;
  launchers.Add(engine::kName, agent::NewEngineLauncher());
  launchers.Add(vllm_docker::kName, agent::NewVllmDockerLauncher());
  return launchers;
}

}  // namespace cluster::runtimes
