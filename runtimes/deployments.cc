#include "runtimes/deployments.h"

#include "runtimes/engine/deployment.h"
#include "runtimes/engine/name.h"
#include "runtimes/vllm_docker/deployment.h"
#include "runtimes/vllm_docker/name.h"

namespace cluster::runtimes {

cli::Runtimes BuiltinRuntimes() {
  cli::Runtimes runtimes;
  runtimes.Add(engine::kName, cli::EngineRuntime);
  runtimes.Add(vllm_docker::kName, cli::VllmDockerRuntime);
  return runtimes;
}

}  // namespace cluster::runtimes
