// The bundled engine's part in clusterctl: one infer-engine process per rank, on
// GPUs (device cuda) or CPUs, started natively by the agents (no Docker).
// A world of several ranks meets at rank 0's rendezvous on the head's
// cluster address (runtime.port + 1), admitting only the hosts' addresses
// and a token new for every deployment (kWorldTokenVariable).
#pragma once

#include <memory>
#include <string>

#include "cli/lifecycle/runtime.h"

namespace cluster::cli {

// The secret a world of engine ranks shares to meet at rank 0's rendezvous:
// 256 random bits in hex, new for every deployment, given to each rank in
// its environment (never in argv, where `ps` shows it).
inline constexpr char kWorldTokenVariable[] = "INFER_ENGINE_RENDEZVOUS_TOKEN";
std::string NewWorldToken();

// The CUDA runtime version this build's engine links ("13.0"); "" when it
// is built without CUDA.
std::string EngineCudaRuntime();

std::unique_ptr<Runtime> EngineRuntime(const inventory::Inventory& inventory);

}  // namespace cluster::cli
