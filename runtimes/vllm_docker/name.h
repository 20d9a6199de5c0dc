// vLLM with Ray in Docker's runtime name: `runtime.kind: vllm-docker` in
// the inventory, StartRequest::runtime in the agent protocol.
#pragma once

namespace cluster::runtimes::vllm_docker {

inline constexpr char kName[] = "vllm-docker";

}  // namespace cluster::runtimes::vllm_docker
