// The runtimes clusterd can start: each runtime's launcher (its part in the
// agent, runtimes/NAME/launcher.h) under the runtime's name.
#pragma once

#include "agent/launcher.h"

namespace cluster::runtimes {

agent::Launchers BuiltinLaunchers();

}  // namespace cluster::runtimes
