// vLLM with Ray in Docker's part in the inventory: `runtime.kind:
// vllm-docker` and its options block runtime.vllm_docker (docs/inventory.md):
// the image, what operators add to `docker run` by hand, and the extra
// `vllm serve` arguments, whose memory flags `plan` reads
// (vllm_serve_args.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/runtime_definition.h"

namespace cluster::inventory {

struct VllmDockerOptions final : RuntimeOptions {
  static constexpr std::string_view kBlock = "vllm_docker";

  std::string image;                    // name of an entry of artifacts.images
  std::string shm_size = "16g";          // as written (docker's syntax)
  std::uint64_t shm_size_bytes = std::uint64_t{16} << 30;
  std::map<std::string, std::string> env;
  std::vector<std::string> args;        // extra `vllm serve` arguments
  // What operators add to `docker run` by hand, each in the canonical form
  // of common/docker_options.h.
  std::vector<std::string> volumes;     // "HOST:CONTAINER:ro|rw"
  std::vector<std::string> devices;     // "HOST:CONTAINER:PERMS", e.g. /dev/infiniband
  std::map<std::string, std::string> ulimits;  // name -> "SOFT:HARD", e.g. memlock -> "-1:-1"
  bool ipc_host = false;                // ipc: host (the host's /dev/shm; shm_size unused)

  std::unique_ptr<RuntimeOptions> Clone() const override { return std::make_unique<VllmDockerOptions>(*this); }
};

// runtime.vllm_docker of `runtime` (its defaults when the file gives none).
inline const VllmDockerOptions& VllmDockerOptionsOf(const Runtime& runtime) {
  return runtime.Block<VllmDockerOptions>();
}
inline VllmDockerOptions& VllmDockerOptionsOf(Runtime& runtime) { return runtime.MutableBlock<VllmDockerOptions>(); }

// Ray's GCS port on the head.
inline constexpr int kRayPort = 6379;

std::shared_ptr<const RuntimeDefinition> VllmDockerDefinition();

}  // namespace cluster::inventory
