// What the `vllm serve` arguments of runtime.vllm_docker.args say about GPU
// memory, so that `plan` sizes a vLLM deployment with vLLM's settings
// instead of the engine's defaults.
//
// Read (each as "--flag VALUE" or "--flag=VALUE"; the last one wins, as in
// vLLM's argparse):
//   --max-model-len N            the context every sequence may reach
//   --gpu-memory-utilization F   vLLM's share of each GPU (0 < F <= 1)
//   --kv-cache-dtype T           auto (the model's dtype) | fp8 | fp8_e4m3 | fp8_e5m2
//   --max-num-seqs N             sequences served at once
//   --quantization/-q Q          fp8 is modeled (linear layers in 1 byte);
//                                any other method is listed as not modeled
// Flags that change memory in ways plan does not model are listed, so that
// plan can say its figures are off (--cpu-offload-gb, --num-gpu-blocks-override,
// --kv-cache-memory, --speculative-config, --quantization other than fp8).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::inventory {

struct VllmServeMemoryArgs {
  std::optional<int> max_model_len;
  std::optional<double> gpu_memory_utilization;
  std::optional<std::string> kv_cache_dtype;  // as given: "auto", "fp8", ...
  std::optional<int> max_num_seqs;
  std::optional<std::string> quantization;    // as given
  std::vector<std::string> not_modeled;       // e.g. "--cpu-offload-gb", "--quantization awq"

  bool fp8_kv_cache() const { return kv_cache_dtype && kv_cache_dtype->starts_with("fp8"); }
  bool fp8_weights() const { return quantization == "fp8"; }
};

// Where a bad argument is: the index in `args` of its flag, and why.
struct VllmArgError {
  std::size_t index = 0;
  std::string message;  // "--max-model-len needs a whole number of tokens >= 1, found \"8k\""
};

// Reads `args` (argv words). Unknown flags are left to vLLM. The error names
// the first flag whose value vLLM would refuse or that is missing.
StatusOr<VllmServeMemoryArgs> ReadVllmServeMemoryArgs(const std::vector<std::string>& args,
                                                      VllmArgError* error = nullptr);

}  // namespace cluster::inventory
