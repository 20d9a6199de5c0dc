// The environment variables a request may set for an engine rank or a vLLM
// container (docs/agent-protocol.md, "Environment"): an allow-list, checked
// by the agent on every request and by `validate` on the inventory.
//
// A request's environment reaches a process the agent starts as its own
// user (a rank) or a container with the host's GPUs and network. The
// variables a collective library, CUDA, PyTorch, Hugging Face, Ray or vLLM
// read are allowed by prefix; the dynamic loader's (LD_PRELOAD,
// LD_LIBRARY_PATH, LD_AUDIT, ...) and everything else that can make a
// program load code of the caller's choosing (PATH, PYTHONPATH, BASH_ENV,
// ...) are not, because they match no prefix. VLLM_API_KEY is refused too:
// the agent sets it from its own copy of the key, which never travels in a
// request.
#pragma once

#include <string_view>

#include "common/status.h"

namespace cluster {

// The allowed prefixes, as documented: "NCCL_", "GLOO_", ...
inline constexpr std::string_view kAllowedEnvPrefixes[] = {
    "NCCL_", "GLOO_", "CUDA_", "NVIDIA_", "TORCH_", "PYTORCH_", "OMP_", "MKL_",
    "HF_",   "TRANSFORMERS_", "TOKENIZERS_", "RAY_", "VLLM_",
};

// Names allowed as they are: INFER_ENGINE_RENDEZVOUS_TOKEN, the job's
// rendezvous token that `clusterctl up` makes for a multi-rank engine world
// and every rank reads from its environment (never argv, which `ps` shows).
inline constexpr std::string_view kAllowedEnvNames[] = {"INFER_ENGINE_RENDEZVOUS_TOKEN"};

// OK when `name` is [A-Z_][A-Z0-9_]*, starts with an allowed prefix or is an
// allowed name, and is not VLLM_API_KEY; else InvalidArgument saying why, e.g.
//   'LD_PRELOAD' is not one of the variables a request may set (NCCL_*, GLOO_*, ...)
Status CheckAllowedEnvName(std::string_view name);

}  // namespace cluster
