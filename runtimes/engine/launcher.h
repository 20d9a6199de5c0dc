// The bundled engine's part in clusterd: one infer-engine process per rank
// the host runs (agent/engine_rank.h builds each rank's command line).
#pragma once

#include <memory>

#include "agent/launcher.h"

namespace cluster::agent {

std::unique_ptr<Launcher> NewEngineLauncher();

}  // namespace cluster::agent
