// Setting up the engine for a command: the backend --device and --dtype ask
// for, the model on it, the workspace for the largest step, and the KV cache.
// generate, serve and engine-bench all start here, so every command runs on
// every device.
//
// KV cache size, unless --kv-cache-blocks says:
//   - on a GPU: --gpu-memory-fraction (default 0.90) of the GPU's memory,
//     less what is in use once the weights are loaded and one step of the
//     largest size has run (which brings the workspace and the libraries'
//     own buffers to their peak);
//   - on the CPU: enough for every running sequence at full context, within
//     kAutoCpuKvCacheBytes, and never less than one full context.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "engine/comm/local_comm.h"
#include "engine/model/kv_cache.h"
#include "engine/model/load_model.h"
#include "engine/ops/backend.h"

namespace engine::tools {

constexpr std::int64_t kAutoCpuKvCacheBytes = std::int64_t{1} << 30;

struct EngineOptions {
  std::string device = "cpu";
  std::string dtype = "auto";
  double gpu_memory_fraction = 0.90;
  std::int64_t kv_cache_blocks = 0;  // 0: automatic (above)
  std::int64_t block_size = 16;
  std::int64_t max_context = 0;  // 0: the model's max_position_embeddings
  std::int64_t max_batch_tokens = 512;
  std::int64_t max_running_sequences = 64;
};

// Registers --device, --dtype, --gpu-memory-fraction, --kv-cache-blocks,
// --block-size and --max-context on `app`; `device_group` names the help
// group of --device and --dtype.
void AddEngineFlags(CLI::App* app, EngineOptions& options, const std::string& device_group);

struct Engine {
  std::unique_ptr<Backend> backend;
  LocalComm comm;
  LoadedModel loaded;
  std::optional<KvCache> cache;
  std::int64_t context = 0;  // the longest sequence: max_position_embeddings or --max-context
  StepLimits limits;

  // One line for the log: the device, the dtype and where the memory goes, e.g.
  // "cuda:0 NVIDIA H200 (...) computing in float16; weights 14.96 GiB, workspace 0.31 GiB,
  //  KV cache 110.20 GiB = 56422 blocks of 16 (902752 tokens)".
  std::string Summary() const;
};

// Starts the engine into `engine`. Returns kExitOk, or prints the error
// ("infer-engine: ...") and returns kExitUsage for what the flags must change
// (a bad value, a dtype the device cannot compute in) or kExitFailure for the
// rest: a device that cannot be used (no GPU, an old driver), a model or KV
// cache that does not fit (ResourceExhausted), the loader's errors (naming
// the file).
int StartEngine(const std::filesystem::path& model_dir, const EngineOptions& options, std::unique_ptr<Engine>& engine);

}  // namespace engine::tools
