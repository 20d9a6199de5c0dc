#include "engine/tools/engine_setup.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>

#include "common/logging.h"
#include "engine/backends/factory/backend_factory.h"
#include "engine/comm/rendezvous/token.h"
#include "engine/scheduler/world_model.h"
#include "engine/model/model_config.h"
#include "engine/tools/command_support.h"

namespace engine::tools {
namespace {

std::string GiB(std::size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / (1u << 30));
  return text;
}

// One step of the largest size on a scratch cache, so that everything a step
// allocates lazily (library workspaces, kernels' first-launch state) is
// allocated before free memory is measured.
Status WarmUp(Engine& e) {
  const std::int64_t n = e.limits.max_tokens, bs = e.cache ? e.cache->block_size() : 16;
  LanguageModel& model = *e.loaded.model;
  CLUSTER_ASSIGN_OR_RETURN(KvCache scratch, KvCache::Allocate(*e.backend, model.CacheShape((n + bs - 1) / bs, bs)));
  KvBlockTable table;
  CLUSTER_RETURN_IF_ERROR(scratch.Reserve(table, n));
  const std::vector<std::int32_t> zeros(static_cast<std::size_t>(n), 0);
  ForwardBatch batch = OneSequenceStep(zeros, 0, table.blocks, static_cast<int>(bs));
  const std::int64_t rows = std::min(n, e.limits.max_logit_rows);
  for (std::int64_t r = n - rows; r < n; ++r) batch.logit_rows.push_back(static_cast<std::int32_t>(r));
  batch.full_logits.assign(static_cast<std::size_t>(rows), false);
  CLUSTER_RETURN_IF_ERROR(model.Forward(batch, scratch).status());
  return e.backend->Synchronize();
}

StatusOr<std::int64_t> ChooseKvBlocks(Engine& e, const EngineOptions& o) {
  if (o.kv_cache_blocks > 0) return o.kv_cache_blocks;
  LanguageModel& model = *e.loaded.model;
  const KvCacheShape one = model.CacheShape(1, o.block_size);
  const auto block_bytes = static_cast<std::int64_t>(KvCache::BlockBytes(one, e.backend->compute_dtype()));
  const std::int64_t per_sequence = (e.context + o.block_size - 1) / o.block_size;
  std::optional<DeviceMemory> memory = e.backend->Memory();
  if (!memory) {
    const std::int64_t wanted = per_sequence * o.max_running_sequences;
    const std::int64_t affordable = std::max<std::int64_t>(1, kAutoCpuKvCacheBytes / block_bytes);
    return std::max(per_sequence, std::min(wanted, affordable));
  }
  CLUSTER_RETURN_IF_ERROR(WarmUp(e));
  memory = e.backend->Memory();
  const auto total = static_cast<double>(memory->total_bytes);
  const double in_use = total - static_cast<double>(memory->free_bytes);
  const double budget = o.gpu_memory_fraction * total - in_use;
  const auto blocks = static_cast<std::int64_t>(std::max(0.0, budget) / static_cast<double>(block_bytes));
  if (blocks < per_sequence) {
    const ModelMemory m = model.memory();
    return cluster::ResourceExhaustedError(
        e.backend->Describe() + ": no room for the KV cache: one full context of " + std::to_string(e.context) +
        " tokens needs " + GiB(static_cast<std::size_t>(per_sequence * block_bytes)) + " but " +
        GiB(static_cast<std::size_t>(std::max(0.0, budget))) + " remain of --gpu-memory-fraction " +
        std::to_string(o.gpu_memory_fraction).substr(0, 4) + " x " + GiB(memory->total_bytes) + " (weights " +
        GiB(m.weights_bytes) + ", workspace " + GiB(m.workspace_bytes) + ", " +
        GiB(static_cast<std::size_t>(in_use)) + " in use on the GPU); lower --max-context or --max-batch-tokens, "
        "raise --gpu-memory-fraction, or spread the model over more GPUs");
  }
  return blocks;
}

// Joins the world the flags describe, its collectives on `backend`'s queue.
StatusOr<std::unique_ptr<World>> JoinWorld(const WorldFlags& f, Backend& backend) {
  CLUSTER_ASSIGN_OR_RETURN(WorldOptions o, WorldOptionsFrom(f));
  const bool cuda = backend.native_stream() != nullptr;
  if (f.collectives == "gloo-through-host") {
    if (!cuda) return cluster::InvalidArgumentError("--collectives gloo-through-host is for --device cuda");
    o.device = CommDevice::kCudaThroughHost;
  } else if (f.collectives == "nccl" || (f.collectives == "auto" && cuda)) {
    if (!cuda) return cluster::InvalidArgumentError("--collectives nccl is for --device cuda");
    o.device = CommDevice::kCuda;
  } else if (f.collectives == "auto" || f.collectives == "gloo") {
    if (cuda) return cluster::InvalidArgumentError("--collectives gloo is for --device cpu; on cuda use nccl or gloo-through-host");
    o.device = CommDevice::kCpu;
  } else {
    return cluster::InvalidArgumentError("--collectives " + f.collectives +
                                         ": expected auto, gloo, nccl or gloo-through-host");
  }
  o.cuda_stream = backend.native_stream();
  return World::Join(o);
}

}  // namespace

StatusOr<WorldOptions> WorldOptionsFrom(const WorldFlags& f) {
  if (f.world_size < 1 || f.rank < 0 || f.rank >= f.world_size) {
    return cluster::InvalidArgumentError("--rank must be in [0, --world-size)");
  }
  if (f.join_timeout_s < 1) return cluster::InvalidArgumentError("--join-timeout must be >= 1 second");
  WorldOptions o;
  o.world_size = f.world_size;
  o.rank = f.rank;
  o.tensor_parallel = f.tensor_parallel;
  o.pipeline_parallel = f.pipeline_parallel;
  o.rendezvous = f.rendezvous;
  o.join_timeout = std::chrono::seconds(f.join_timeout_s);
  for (std::size_t at = 0; at < f.rendezvous_allow.size();) {
    std::size_t end = f.rendezvous_allow.find(',', at);
    if (end == std::string::npos) end = f.rendezvous_allow.size();
    if (end > at) o.allowed_peers.push_back(f.rendezvous_allow.substr(at, end - at));
    at = end + 1;
  }
  o.local_address = f.local_address;
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface != '\0') {
    o.interface = interface;
  }
  if (f.world_size > 1) {
    CLUSTER_ASSIGN_OR_RETURN(o.token, RendezvousTokenFromEnvironment());
  }
  return o;
}

void AddWorldFlags(CLI::App* app, WorldFlags& w, const std::string& group) {
  app->add_option("--world-size", w.world_size, "Ranks in the cluster")->group(group)->capture_default_str();
  app->add_option("--rank", w.rank, "This process's world rank")->group(group)->capture_default_str();
  app->add_option("--tensor-parallel", w.tensor_parallel, "Ranks per pipeline stage")->group(group);
  app->add_option("--pipeline-parallel", w.pipeline_parallel, "Pipeline stages")->group(group);
  app->add_option("--rendezvous", w.rendezvous, "ADDRESS:PORT of rank 0 for collectives")->group(group);
  app->add_option("--rendezvous-allow", w.rendezvous_allow,
                  "Rank 0: the only IP addresses its rendezvous admits, comma-separated")
      ->group(group);
  app->add_option("--local-address", w.local_address,
                  "This host's cluster address: where the rank's connections come from (default: the address of "
                  "GLOO_SOCKET_IFNAME, else the route to rank 0)")
      ->group(group);
  app->add_option("--join-timeout", w.join_timeout_s, "Seconds to wait for every rank at the rendezvous")
      ->group(group)
      ->capture_default_str();
}

void AddEngineFlags(CLI::App* app, EngineOptions& o, const std::string& device_group) {
  app->add_option("--device", o.device, "cpu, cuda or cuda:N")->group(device_group)->capture_default_str();
  app->add_option("--dtype", o.dtype,
                  "auto, float16, bfloat16 or float32 (cpu: float32; cuda auto: the checkpoint's, float16 where the "
                  "GPU has no bfloat16)")
      ->group(device_group)
      ->capture_default_str();
  app->add_flag("--batch-invariant", o.batch_invariant,
                "A request's tokens never depend on what else is in its batch (greedy output repeats exactly; the "
                "CPU always works this way); on a GPU, decoding is slower")
      ->group(device_group);
  app->add_flag("--eager", o.eager,
                "Run every step op by op: never record decode steps as CUDA graphs and replay them (slower; for "
                "comparison and debugging)")
      ->group(device_group);
  app->add_option("--gpu-memory-fraction", o.gpu_memory_fraction,
                  "Share of the GPU's memory the engine may use; the KV cache gets what weights and workspace leave")
      ->capture_default_str();
  app->add_option("--kv-cache-blocks", o.kv_cache_blocks,
                  "KV cache blocks (default: the GPU memory left by --gpu-memory-fraction; on the CPU enough for every "
                  "running sequence at full context, within 1 GiB)");
  app->add_option("--block-size", o.block_size, "Positions per KV block")->capture_default_str();
  app->add_option("--max-context", o.max_context, "Longest prompt + max_tokens (default: the model's)");
}

std::string Engine::Summary() const {
  const ModelMemory m = loaded.model->memory();
  std::string line = backend->Describe() + "; weights " + GiB(m.weights_bytes) + ", workspace " +
                     GiB(m.workspace_bytes);
  if (cache) {
    const std::int64_t blocks = cache->shape().num_blocks, bs = cache->shape().block_size;
    line += ", KV cache " + GiB(cache->num_bytes()) + " = " + std::to_string(blocks) + " blocks of " +
            std::to_string(bs) + " (" + std::to_string(blocks * bs) + " tokens)";
  }
  // What the device says is taken, this process's CUDA context and libraries included.
  if (const std::optional<DeviceMemory> device = backend->Memory()) {
    line += "; device memory in use " + GiB(device->total_bytes - device->free_bytes) + " of " +
            GiB(device->total_bytes);
  }
  char timing[160];
  std::snprintf(timing, sizeof timing, "; started in %.2f s: device %.2f s, weights %.2f s (%.1f GB/s), KV cache %.2f s",
                device_seconds + weights_seconds + cache_seconds, device_seconds, weights_seconds,
                weights_seconds > 0 ? static_cast<double>(m.weights_bytes) / weights_seconds / 1e9 : 0.0,
                cache_seconds);
  return line + timing;
}

int StartEngine(const std::filesystem::path& model_dir, const EngineOptions& o, std::unique_ptr<Engine>& engine) {
  if (!(o.gpu_memory_fraction > 0.0 && o.gpu_memory_fraction <= 1.0)) {
    return UsageError("--gpu-memory-fraction must be in (0, 1], got " + std::to_string(o.gpu_memory_fraction));
  }
  if (o.block_size < 1) return UsageError("--block-size must be >= 1");
  if (o.max_batch_tokens < 1) return UsageError("--max-batch-tokens must be >= 1");
  if (o.max_running_sequences < 1) return UsageError("--max-running-sequences must be >= 1");
  const WorldFlags& w = o.world;
  if (w.world_size < 1 || w.rank < 0 || w.rank >= w.world_size) return UsageError("--rank must be in [0, --world-size)");
  if (w.tensor_parallel < 1 || w.pipeline_parallel < 1 || w.tensor_parallel * w.pipeline_parallel != w.world_size) {
    return UsageError("--world-size must equal --tensor-parallel x --pipeline-parallel");
  }
  if (w.world_size > 1 && w.rendezvous.empty()) return UsageError("a world of several ranks needs --rendezvous ADDRESS:PORT");
  auto config = LoadModelConfig(model_dir);
  if (!config.ok()) return Failure(config.status());
  auto e = std::make_unique<Engine>();
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  auto phase = Clock::now();
  auto backend = CreateBackend(o.device, o.dtype, config->dtype, o.batch_invariant, !o.eager);
  if (!backend.ok()) {
    return backend.status().code() == cluster::StatusCode::kInvalidArgument ? UsageError(backend.status().message())
                                                                            : Failure(backend.status());
  }
  e->backend = std::move(*backend);
  e->device_seconds = seconds_since(phase);
  e->context = config->max_position_embeddings;
  if (o.max_context > 0) e->context = std::min(e->context, o.max_context);
  e->limits.max_tokens = o.max_batch_tokens;
  e->limits.max_seqs = o.max_running_sequences;
  e->limits.max_logit_rows = o.max_running_sequences;
  e->limits.max_blocks_per_seq = (e->context + o.block_size - 1) / o.block_size;
  const int layers = static_cast<int>(config->num_hidden_layers);
  ModelParallelism parallel = SingleProcess(e->comm, layers);
  e->shard = parallel.shard;
  if (o.world.world_size > 1) {
    auto world = JoinWorld(w, *e->backend);
    if (!world.ok()) {
      return world.status().code() == cluster::StatusCode::kInvalidArgument ? UsageError(world.status().message())
                                                                             : Failure(world.status());
    }
    e->world = std::move(*world);
    auto shard = MakeModelShard(layers, w.tensor_parallel, w.pipeline_parallel, e->world->stage(),
                                e->world->tp_rank());
    if (!shard.ok()) return UsageError(shard.status().message());
    e->shard = *shard;
    parallel = ModelParallelism{*shard, &e->world->tensor_group(), &e->world->pipeline_group()};
  }
  phase = Clock::now();
  auto loaded = LoadModel(model_dir, *e->backend, parallel, e->limits);
  if (!loaded.ok()) return Failure(loaded.status());
  e->loaded = std::move(*loaded);
  if (!e->loaded.weight_conversion.empty()) {
    std::fprintf(stderr, "infer-engine: warning: %s\n", e->loaded.weight_conversion.c_str());
  }
  e->weights_seconds = seconds_since(phase);
  phase = Clock::now();
  LanguageModel& model = *e->loaded.model;
  auto blocks = ChooseKvBlocks(*e, o);
  if (blocks.ok() && e->world) blocks = AgreeOnKvBlocks(e->world->control(), *blocks);
  if (!blocks.ok()) return Failure(blocks.status());
  auto cache = KvCache::Allocate(*e->backend, model.CacheShape(*blocks, o.block_size));
  if (!cache.ok()) return Failure(cache.status());
  e->cache.emplace(std::move(*cache));
  e->cache_seconds = seconds_since(phase);
  engine = std::move(e);
  return kExitOk;
}

LanguageModel& RankZeroModel(Engine& engine, std::optional<WorldModel>& world_model) {
  if (!engine.world) return *engine.loaded.model;
  const ParallelLayout& layout = engine.world->layout();
  world_model.emplace(*engine.loaded.model, engine.world->control(), layout.RankAt(layout.pipeline_parallel() - 1, 0),
                      layout.pipeline_parallel());
  return *world_model;
}

int RunFollowerRank(const std::filesystem::path& model_dir, const EngineOptions& options) {
  std::unique_ptr<Engine> engine;
  if (int code = StartEngine(model_dir, options, engine); code != kExitOk) return code;
  const ModelShard& shard = engine->shard;
  std::fprintf(stderr, "infer-engine: rank %d (stage %d of %d, tensor-parallel rank %d of %d, layers %d-%d): %s\n",
               options.world.rank, shard.stage, shard.stages, shard.tp_rank, shard.tp_size, shard.first_layer,
               shard.end_layer - 1, engine->Summary().c_str());
  const bool returns_logits = shard.last_stage() && shard.tp_rank == 0;
  if (Status s = RunFollower(*engine->loaded.model, *engine->cache, engine->world->control(), returns_logits);
      !s.ok()) {
    return Failure(s);
  }
  LOG_INFO("rank 0 stopped the world");
  return kExitOk;
}

}  // namespace engine::tools
