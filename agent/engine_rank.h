// How the agent runs one rank of the bundled engine: the engine binary that
// lies beside clusterd (never a path sent over the wire), with flags built
// from a control::RankSpec.
#pragma once

#include <filesystem>

#include "agent/supervisor.h"
#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

// The infer-engine beside `clusterd` (installed side by side, or the build
// tree's engine/tools/infer-engine). NotFound names the places tried.
StatusOr<std::filesystem::path> FindEngineBinary(const std::filesystem::path& clusterd);

// The unit for `rank`: `infer-engine serve` with the rank's model, place in
// the world, device, dtype and tuning (--batch-invariant when the rank asks);
// CUDA_VISIBLE_DEVICES selects its GPU and
// rank.env (NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME...) is passed through.
// `api_key_file` is the agent's copy of the API key ("" for none).
UnitSpec EngineRankUnit(const control::RankSpec& rank, const std::filesystem::path& engine,
                        const std::filesystem::path& log_dir, const std::filesystem::path& api_key_file);

// Checks what the agent would otherwise pass on blindly: an absolute model
// path that exists, a known device and dtype, a port range.
Status ValidateRankSpec(const control::RankSpec& rank);

}  // namespace cluster::agent
