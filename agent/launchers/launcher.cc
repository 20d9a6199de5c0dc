#include "agent/launchers/launcher.h"

namespace cluster::agent {

std::unique_ptr<Launcher> LauncherFor(control::RuntimeKind runtime) {
  switch (runtime) {
    case control::RuntimeKind::kEngine: return NewEngineLauncher();
    case control::RuntimeKind::kVllmDocker: return NewVllmDockerLauncher();
  }
  return NewEngineLauncher();  // unreachable: the decoder accepts no other kind
}

}  // namespace cluster::agent
