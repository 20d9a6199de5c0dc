// `comm-check`: runs `infer-engine bench-comm --json` for this host's ranks
// of the world `clusterctl check --comm` measures (docs/parallelism.md,
// "Checking the links"), all at once, while the other hosts' agents run
// theirs; the ranks meet at rank 0's rendezvous like the engine's would.
//
// Each rank gets its RankSpec's environment (the token, GLOO_SOCKET_IFNAME,
// NCCL_SOCKET_IFNAME) and CUDA_VISIBLE_DEVICES for its GPU, never the token
// in argv. Nothing runs longer than the request's timeout_s: what still runs
// then is killed with everything it started. Output is bounded (stdout 256
// KiB, the end of stderr 4 KiB per rank).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

// InvalidArgument, naming the field, for a request this agent will not run:
// no ranks or more than 64, a rank outside its world, a device other than cpu
// or cuda, timeout_s outside [10, 600], iterations outside [1, 1000], sizes
// not like "64K,1M,16M".
Status ValidateCommCheck(const control::CommCheckRequest& request);

// The argv of one rank's bench-comm.
std::vector<std::string> BenchCommArgv(const control::CommCheckRequest& request, const control::RankSpec& rank,
                                       const std::filesystem::path& engine);

// Runs every rank of `request` (validated) with `engine` and waits for all.
control::CommCheckReply RunCommCheck(const control::CommCheckRequest& request, const std::filesystem::path& engine);

}  // namespace cluster::agent
