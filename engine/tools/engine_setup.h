// Setting up the engine for a command: the backend --device and --dtype ask
// for, the model on it, the workspace for the largest step, and the KV cache.
// generate, serve and bench all start here, so every command runs on
// every device.
//
// In a world of several ranks every rank joins the world (rendezvous at rank
// 0, the job's token from INFER_ENGINE_RENDEZVOUS_TOKEN, the cluster
// interface from GLOO_SOCKET_IFNAME), loads its shard, and the ranks agree on
// the smallest KV cache any of them can hold.
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
#include "engine/comm/world.h"
#include "engine/model/kv_cache.h"
#include "engine/model/load_model.h"
#include "engine/scheduler/world_model.h"
#include "engine/ops/backend.h"

namespace engine::tools {

constexpr std::int64_t kAutoCpuKvCacheBytes = std::int64_t{1} << 30;

// This process's place in a tensor x pipeline parallel world (the flags
// clusterd passes every rank): a world of one by default.
struct WorldFlags {
  int world_size = 1;
  int rank = 0;
  int tensor_parallel = 1;
  int pipeline_parallel = 1;
  std::string rendezvous;             // ADDRESS:PORT of rank 0's rendezvous, on the cluster interface
  std::string rendezvous_allow;       // rank 0: "IP,IP,..." the only addresses admitted ("" any with the token)
  std::string local_address;          // this host's cluster address, the source of the rank's connections
  std::string collectives = "auto";   // auto (cpu: gloo, cuda: nccl), nccl, gloo-through-host
  int join_timeout_s = 120;
};

struct EngineOptions {
  std::string device = "cpu";
  std::string dtype = "auto";
  bool batch_invariant = false;  // --batch-invariant (backend_factory.h)
  bool eager = false;            // --eager: never record steps as CUDA graphs (backend_factory.h)
  double gpu_memory_fraction = 0.90;
  std::int64_t kv_cache_blocks = 0;  // 0: automatic (above)
  std::int64_t block_size = 16;
  std::int64_t max_context = 0;  // 0: the model's max_position_embeddings
  std::int64_t max_batch_tokens = 512;
  std::int64_t max_running_sequences = 64;
  WorldFlags world;
};

// Registers --device, --dtype, --batch-invariant, --gpu-memory-fraction, --kv-cache-blocks,
// --block-size and --max-context on `app`; `device_group` names the help
// group of --device and --dtype.
void AddEngineFlags(CLI::App* app, EngineOptions& options, const std::string& device_group);

// Registers --world-size, --rank, --tensor-parallel, --pipeline-parallel,
// --rendezvous, --rendezvous-allow, --local-address and --join-timeout in
// `group` (serve adds --collectives).
void AddWorldFlags(CLI::App* app, WorldFlags& world, const std::string& group);

// The options to join the world the flags describe, on the CPU (callers on
// a GPU set device and stream): the token from INFER_ENGINE_RENDEZVOUS_TOKEN
// for a world of several ranks, the interface from GLOO_SOCKET_IFNAME.
// InvalidArgument for flags that do not add up or a missing token.
StatusOr<WorldOptions> WorldOptionsFrom(const WorldFlags& world);

struct Engine {
  std::unique_ptr<Backend> backend;
  LocalComm comm;                 // the world of one
  std::unique_ptr<World> world;   // a world of several ranks (the job's token from the environment)
  ModelShard shard;
  LoadedModel loaded;
  std::optional<KvCache> cache;
  std::int64_t context = 0;  // the longest sequence: max_position_embeddings or --max-context
  StepLimits limits;
  // Seconds StartEngine spent opening the device, loading the weights and
  // allocating the KV cache.
  double device_seconds = 0, weights_seconds = 0, cache_seconds = 0;

  // One line for the log: the device, the dtype and where the memory goes, e.g.
  // "cuda:0 NVIDIA H200 (...) computing in float16; weights 14.96 GiB, workspace 0.31 GiB,
  //  KV cache 110.20 GiB = 56422 blocks of 16 (902752 tokens); device memory in use 125.90 GiB of 139.81 GiB;
  //  started in 2.61 s: device 0.35 s, weights 2.11 s (7.6 GB/s), KV cache 0.15 s"
  // (the device memory on GPUs only).
  std::string Summary() const;
};

// Starts the engine into `engine`. Returns kExitOk, or prints the error
// ("infer-engine: ...") and returns kExitUsage for what the flags must change
// (a bad value, a dtype the device cannot compute in) or kExitFailure for the
// rest: a device that cannot be used (no GPU, an old driver), a model or KV
// cache that does not fit (ResourceExhausted), the loader's errors (naming
// the file).
int StartEngine(const std::filesystem::path& model_dir, const EngineOptions& options, std::unique_ptr<Engine>& engine);

// Rank 0's model (serve, bench): the loaded one in a world of one; in a
// world of several ranks `world_model`, made here over the world, which runs
// each step on every rank's shard.
LanguageModel& RankZeroModel(Engine& engine, std::optional<WorldModel>& world_model);

// Every rank but 0 of a world (serve, bench): starts the engine, logs its
// place in the world, and runs its shard of each step rank 0 sends until
// rank 0 stops the world (kExitOk) or the world fails (the error, exit 1).
int RunFollowerRank(const std::filesystem::path& model_dir, const EngineOptions& options);

}  // namespace engine::tools
