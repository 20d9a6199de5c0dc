// The bundled engine's runtime name: `runtime.kind: engine` in the
// inventory, StartRequest::runtime in the agent protocol.
#pragma once

namespace cluster::runtimes::engine {

inline constexpr char kName[] = "engine";

}  // namespace cluster::runtimes::engine
