#include "agent/engine_rank.h"

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace cluster::agent {
namespace fs = std::filesystem;

StatusOr<fs::path> FindEngineBinary(const fs::path& clusterd) {
  const fs::path dir = clusterd.parent_path();
  const std::vector<fs::path> candidates = {dir / "infer-engine", dir.parent_path() / "engine/tools/infer-engine"};
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return NotFoundError(fmt::format("the engine binary is not installed beside clusterd (looked for {} and {}); "
                                   "`clusterctl up` installs it with the agent",
                                   candidates[0].string(), candidates[1].string()));
}

Status ValidateRankSpec(const control::RankSpec& r) {
  if (r.world_size < 1 || r.rank < 0 || r.rank >= r.world_size)
    return InvalidArgumentError(fmt::format("rank {} is not in a world of {}", r.rank, r.world_size));
  if (r.device != "cpu" && r.device != "cuda") return InvalidArgumentError("device '" + r.device + "' is not cpu or cuda");
  if (r.dtype != "float16" && r.dtype != "bfloat16" && r.dtype != "float32" && r.dtype != "auto")
    return InvalidArgumentError("dtype '" + r.dtype + "' is not float16, bfloat16, float32 or auto");
  if (r.serve_port < 0 || r.serve_port > 65535) return InvalidArgumentError(fmt::format("port {} is out of range", r.serve_port));
  if (r.gpu_memory_fraction && !(*r.gpu_memory_fraction > 0.0 && *r.gpu_memory_fraction <= 1.0))
    return InvalidArgumentError(fmt::format("gpu_memory_fraction {} is not in (0, 1]", *r.gpu_memory_fraction));
  if (r.model_path.empty() || r.model_path.front() != '/')
    return InvalidArgumentError("model path '" + r.model_path + "' is not absolute");
  std::error_code ec;
  if (!fs::is_directory(r.model_path, ec))
    return NotFoundError("model folder " + r.model_path + " does not exist on this host; run `clusterctl push`");
  return Status::Ok();
}

UnitSpec EngineRankUnit(const control::RankSpec& r, const fs::path& engine, const fs::path& log_dir,
                        const fs::path& api_key_file) {
  UnitSpec unit;
  unit.name = fmt::format("rank {}", r.rank);
  unit.rank = r.rank;
  unit.log_file = log_dir / fmt::format("rank-{}.log", r.rank);
  unit.argv = {engine.string(), "serve",
               "--model", r.model_path,
               "--device", r.device,
               "--dtype", r.dtype,
               "--world-size", std::to_string(r.world_size),
               "--rank", std::to_string(r.rank),
               "--tensor-parallel", std::to_string(r.tensor_parallel),
               "--pipeline-parallel", std::to_string(r.pipeline_parallel)};
  if (!r.rendezvous.empty()) unit.argv.insert(unit.argv.end(), {"--rendezvous", r.rendezvous});
  if (!r.local_address.empty()) unit.argv.insert(unit.argv.end(), {"--local-address", r.local_address});
  if (!r.rendezvous_peers.empty()) {
    unit.argv.insert(unit.argv.end(), {"--rendezvous-allow", fmt::format("{}", fmt::join(r.rendezvous_peers, ","))});
  }
  if (r.rank == 0) {
    unit.argv.insert(unit.argv.end(), {"--host", r.serve_address, "--port", std::to_string(r.serve_port)});
    if (!r.served_model_name.empty()) unit.argv.insert(unit.argv.end(), {"--served-model-name", r.served_model_name});
  }
  if (r.max_context) unit.argv.insert(unit.argv.end(), {"--max-context", std::to_string(*r.max_context)});
  if (r.gpu_memory_fraction) {
    unit.argv.insert(unit.argv.end(), {"--gpu-memory-fraction", fmt::format("{}", *r.gpu_memory_fraction)});
  }
  if (r.batch_invariant) unit.argv.push_back("--batch-invariant");
  if (!api_key_file.empty()) unit.argv.insert(unit.argv.end(), {"--api-key-file", api_key_file.string()});
  unit.env = r.env;
  if (r.gpu) unit.env["CUDA_VISIBLE_DEVICES"] = std::to_string(*r.gpu);
  return unit;
}

}  // namespace cluster::agent
