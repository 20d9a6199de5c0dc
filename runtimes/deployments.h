// The runtimes clusterctl can start: each runtime's part in clusterctl
// (runtimes/NAME/deployment.h) under the runtime's name.
#pragma once

#include "cli/lifecycle/runtime.h"

namespace cluster::runtimes {

cli::Runtimes BuiltinRuntimes();

}  // namespace cluster::runtimes
