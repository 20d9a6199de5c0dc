// The runtime against the rest of the inventory: references to artifacts,
// the block of its kind, and parallelism against hosts and GPUs.
//
// Placement (docs/inventory.md): a pipeline stage never spans hosts, and the
// tensor-parallel ranks of a stage share one host. On GPUs every GPU runs one
// rank, so tensor_parallel x pipeline_parallel must equal the GPUs of the
// hosts; on CPUs (engine.device cpu) each stage is one host and its ranks are
// processes, so host GPUs do not count.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "checks.h"
#include "common/docker_options.h"
#include "common/inventory/gpu_table.h"
#include "common/inventory/vllm_serve_args.h"
#include "common/spelling.h"

namespace cluster::inventory {
namespace {

constexpr std::string_view kTp = "runtime.tensor_parallel";
constexpr std::string_view kPp = "runtime.pipeline_parallel";

std::string Plural(int n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

// "no model named "x" in artifacts.models" with the best hint we can give.
void ReportUnknownName(std::string_view key, const std::string& name, std::string_view list_path,
                       const std::vector<std::string_view>& names, std::string_view what, LoadContext* ctx) {
  std::string hint = names.empty() ? fmt::format("{} is empty; add the {} there", list_path, what)
                                   : fmt::format("{} has {}", list_path, JoinAlternatives(names));
  if (auto guess = ClosestMatch(name, names)) hint = fmt::format("did you mean {}?", *guess);
  ctx->Error(ctx->locations().Value(key), std::string(key),
             fmt::format("no {} named \"{}\" in {}", what, name, list_path), hint);
}

void CheckModelReference(const Inventory& inventory, LoadContext* ctx) {
  const std::string& name = inventory.runtime.model;
  if (name.empty() || ctx->Failed("runtime.model") || inventory.FindModel(name)) return;
  if (NamesInDoubt("artifacts.models", inventory.models.size(), *ctx)) return;
  std::vector<std::string_view> names;
  for (const Model& m : inventory.models) names.push_back(m.name);
  ReportUnknownName("runtime.model", name, "artifacts.models", names, "model", ctx);
}

// Flags of `vllm serve` that clusterctl sets itself from the runtime's keys.
struct OwnedFlag {
  std::string_view flag;
  std::string_view key;
};
constexpr OwnedFlag kOwnedFlags[] = {
    {"--tensor-parallel-size", "runtime.tensor_parallel"}, {"-tp", "runtime.tensor_parallel"},
    {"--pipeline-parallel-size", "runtime.pipeline_parallel"}, {"-pp", "runtime.pipeline_parallel"},
    {"--dtype", "runtime.dtype"}, {"--port", "runtime.port"}, {"--api-key", "runtime.api_key_file"},
};

void CheckVllmDocker(const Inventory& inventory, LoadContext* ctx) {
  const Locations& where = ctx->locations();
  if (!where.Has("runtime.vllm_docker")) {
    ctx->Error(where.Value("runtime"), "runtime.vllm_docker", "required key is missing for kind vllm-docker",
               "add vllm_docker: {image: NAME} naming an artifacts.images entry");
    return;
  }
  const std::string& image = inventory.runtime.vllm_docker.image;
  if (!image.empty() && !ctx->Failed("runtime.vllm_docker.image") && !inventory.FindImage(image) &&
      !NamesInDoubt("artifacts.images", inventory.images.size(), *ctx)) {
    std::vector<std::string_view> names;
    for (const Image& i : inventory.images) names.push_back(i.name);
    ReportUnknownName("runtime.vllm_docker.image", image, "artifacts.images", names, "image", ctx);
  }
  const std::vector<std::string>& args = inventory.runtime.vllm_docker.args;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string flag = args[i].substr(0, args[i].find('='));
    for (const OwnedFlag& owned : kOwnedFlags) {
      if (flag != owned.flag) continue;
      const std::string path = fmt::format("runtime.vllm_docker.args[{}]", i);
      ctx->Error(where.Value(path), path, fmt::format("{} is set by clusterctl from {}", flag, owned.key),
                 fmt::format("remove it here and set {}", owned.key));
    }
  }
  // The model is mounted at its path; a volume there would hide it.
  const Model* model = inventory.FindModel(inventory.runtime.model);
  const std::vector<std::string>& volumes = inventory.runtime.vllm_docker.volumes;
  for (std::size_t i = 0; model != nullptr && i < volumes.size(); ++i) {
    const std::string_view container = VolumeTarget(volumes[i]);
    if (container != model->path.string()) continue;
    const std::string path = fmt::format("runtime.vllm_docker.volumes[{}]", i);
    ctx->Error(where.Value(path), path, fmt::format("mounts over the model folder {}", container),
               "mount it elsewhere in the container; clusterctl mounts the model there");
  }
  if (inventory.runtime.vllm_docker.ipc_host && where.Has("runtime.vllm_docker.shm_size")) {
    ctx->Warning(where.Key("runtime.vllm_docker.shm_size"), "runtime.vllm_docker.shm_size",
                 "ignored with ipc: host: the container uses the host's /dev/shm", "remove shm_size, or ipc: host");
  }
  // The flags plan reads (vllm_serve_args.h) must carry values vLLM takes.
  VllmArgError bad;
  if (!ReadVllmServeMemoryArgs(args, &bad).ok()) {
    const std::string path = fmt::format("runtime.vllm_docker.args[{}]", bad.index);
    ctx->Error(where.Value(path), path, bad.message, "fix the value, or remove the flag for vLLM's default");
  }
}

void CheckKindBlocks(const Inventory& inventory, LoadContext* ctx) {
  if (ctx->Failed("runtime.kind")) return;
  const Locations& where = ctx->locations();
  if (inventory.runtime.kind == RuntimeKind::kVllmDocker) {
    CheckVllmDocker(inventory, ctx);
    if (where.Has("runtime.engine")) {
      ctx->Warning(where.Key("runtime.engine"), "runtime.engine", "ignored: only kind engine uses it",
                   "remove it, or set kind: engine");
    }
  } else if (where.Has("runtime.vllm_docker")) {
    ctx->Warning(where.Key("runtime.vllm_docker"), "runtime.vllm_docker",
                 "ignored: only kind vllm-docker uses it", "remove it, or set kind: vllm-docker");
  }
}

// The key to point at for a problem of tensor_parallel x pipeline_parallel:
// the one the file gives (pipeline_parallel first), else the runtime block.
std::string ParallelKey(const LoadContext& ctx) {
  if (ctx.locations().Has(kPp)) return std::string(kPp);
  if (ctx.locations().Has(kTp)) return std::string(kTp);
  return "runtime";
}

// What to change so that TP x PP uses every GPU.
std::string TotalGpusHint(const Inventory& inventory, long long total) {
  const Runtime& r = inventory.runtime;
  const int hosts = static_cast<int>(inventory.hosts.size());
  if (total == 0) return "the hosts have no GPUs; give hosts[].gpus, or use engine.device: cpu";
  const int per_host = *inventory.hosts.front().gpus;
  const bool uniform = std::all_of(inventory.hosts.begin(), inventory.hosts.end(),
                                   [&](const Host& h) { return *h.gpus == per_host; });
  if (!uniform) {
    return fmt::format("make tensor_parallel x pipeline_parallel equal {}, or list in hosts[].gpus only the GPUs to use",
                       total);
  }
  if (r.tensor_parallel == per_host) {
    return fmt::format("set pipeline_parallel: {}, one stage per host", hosts);
  }
  if (r.pipeline_parallel == hosts) {
    return fmt::format("set tensor_parallel: {}, the GPUs of each host", per_host);
  }
  return fmt::format("with {} on each of {}: tensor_parallel: {} and pipeline_parallel: {}",
                     Plural(per_host, "GPU"), Plural(hosts, "host"), per_host, hosts);
}

void CheckGpuParallelism(const Inventory& inventory, LoadContext* ctx) {
  const Runtime& r = inventory.runtime;
  if (ctx->Failed(kTp)) return;

  // The ranks of a stage share one host: each host needs tensor_parallel GPUs.
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    const Host& h = inventory.hosts[i];
    const std::string host_path = fmt::format("hosts[{}]", i);
    if (!h.gpus || *h.gpus >= r.tensor_parallel || ctx->Failed(host_path + ".gpus")) continue;
    ctx->Error(ctx->locations().Value(kTp), std::string(kTp),
               fmt::format("{} is more than the {} of host {} at line {}", r.tensor_parallel,
                           Plural(*h.gpus, "GPU"), h.name.empty() ? host_path : h.name,
                           ctx->locations().Value(host_path).line),
               "the tensor-parallel ranks of a stage share one host; lower tensor_parallel, or fix that host's gpus");
  }

  // Every GPU runs one rank: TP x PP must use them all. Unknown until
  // `check` when any host says gpus: auto.
  if (ctx->Failed(kPp)) return;
  long long total = 0;
  for (std::size_t i = 0; i < inventory.hosts.size(); ++i) {
    if (!inventory.hosts[i].gpus || ctx->Failed(fmt::format("hosts[{}].gpus", i))) return;
    total += *inventory.hosts[i].gpus;
  }
  const int ranks = r.tensor_parallel * r.pipeline_parallel;  // at most 1024 x 1024
  if (ranks == total) return;
  const std::string key = ParallelKey(*ctx);
  ctx->Error(ctx->locations().Value(key), key,
             fmt::format("tensor_parallel x pipeline_parallel = {} x {} = {}, but the hosts have {} in all",
                         r.tensor_parallel, r.pipeline_parallel, Plural(ranks, "GPU"), total),
             TotalGpusHint(inventory, total));
}

void CheckParallelism(const Inventory& inventory, LoadContext* ctx) {
  const Runtime& r = inventory.runtime;
  const int hosts = static_cast<int>(inventory.hosts.size());
  if (hosts == 0) return;  // hosts is missing or broken; that error says enough

  // A pipeline stage never spans hosts: no more stages than hosts.
  if (!ctx->Failed(kPp) && r.pipeline_parallel > hosts) {
    ctx->Error(ctx->locations().Value(kPp), std::string(kPp),
               fmt::format("{} pipeline stages need {} hosts, and the inventory has {}", r.pipeline_parallel,
                           r.pipeline_parallel, hosts),
               fmt::format("each stage runs on its own host; use pipeline_parallel: {} at most, or add hosts", hosts));
    return;
  }

  if (ctx->Failed("runtime.kind")) return;
  if (r.kind == RuntimeKind::kEngine && ctx->Failed("runtime.engine.device")) return;
  if (!r.RanksOnCpu()) {
    CheckGpuParallelism(inventory, ctx);
    return;
  }
  if (!ctx->Failed(kPp) && r.pipeline_parallel < hosts) {
    const std::string key = ctx->locations().Has(kPp) ? std::string(kPp) : "runtime";
    ctx->Warning(ctx->locations().Value(key), key,
                 fmt::format("pipeline_parallel {} uses {} of the {} hosts; the others stay idle",
                             r.pipeline_parallel, r.pipeline_parallel, hosts),
                 fmt::format("with engine.device cpu each stage is one host; set pipeline_parallel: {} to use all",
                             hosts));
  }
}

// The API port is the head's; the agent's port is on every host, and Ray's
// GCS port (vllm-docker) and the engine's rendezvous port (API port + 1) are
// on the head too: none may be another's.
void CheckPorts(const Inventory& inventory, LoadContext* ctx) {
  const int api = inventory.runtime.port;
  const int agent = inventory.network.agent_port;
  if (ctx->Failed("runtime.port") || ctx->Failed("network.agent_port")) return;
  if (agent == api) {
    ctx->Error(ctx->locations().Value("network.agent_port"), "network.agent_port",
               fmt::format("{} is also runtime.port", agent), "give the agent and the API different ports");
  } else if (inventory.runtime.kind == RuntimeKind::kEngine && agent == api + 1) {
    ctx->Error(ctx->locations().Value("network.agent_port"), "network.agent_port",
               fmt::format("{} is the engine's rendezvous port (runtime.port + 1)", agent),
               "give the agent another port");
  } else if (inventory.runtime.kind == RuntimeKind::kVllmDocker && (agent == 6379 || api == 6379)) {
    ctx->Error(ctx->locations().Value(agent == 6379 ? "network.agent_port" : "runtime.port"),
               agent == 6379 ? "network.agent_port" : "runtime.port", "6379 is Ray's port in the vllm-docker runtime",
               "choose another port");
  }
}

}  // namespace

// What `up` would refuse on the hosts, known here without them: bfloat16 on
// a GPU below compute capability 8.0 (every host runs a stage on GPUs), and
// engine.device cuda when this build's engine has no CUDA.
void CheckEngineCanRun(const Inventory& inventory, LoadContext* ctx) {
  const Runtime& r = inventory.runtime;
  if (ctx->Failed("runtime.kind")) return;
  const bool engine = r.kind == RuntimeKind::kEngine;
  if (engine && ctx->Failed("runtime.engine.device")) return;
  if (engine && r.engine.device == EngineDevice::kCuda && !ctx->options().engine_has_cuda) {
    const std::string key = ctx->locations().Has("runtime.engine.device") ? "runtime.engine.device" : "runtime";
    ctx->Error(ctx->locations().Value(key), "runtime.engine.device",
               "cuda, but this clusterctl's engine was built without CUDA (CPU only)",
               "use engine.device: cpu, or install the clusterctl package built with CUDA");
  }
  const bool on_gpus = !engine || r.engine.device == EngineDevice::kCuda;
  if (!on_gpus || r.dtype != Dtype::kBfloat16 || ctx->Failed("runtime.dtype")) return;
  for (const Host& host : inventory.hosts) {
    const GpuSpec* spec = host.gpu_model ? FindGpu(*host.gpu_model) : nullptr;
    if (spec == nullptr || spec->supports_bfloat16()) continue;
    ctx->Error(ctx->locations().Value("runtime.dtype"), "runtime.dtype",
               fmt::format("bfloat16 cannot run on host {}: its {} (compute capability {}) has no bfloat16 support",
                           host.name, spec->name, spec->compute_capability()),
               "set runtime.dtype: float16, or auto, which picks float16 on these GPUs");
    return;  // one host says it; the others have the same fix
  }
}

void CheckRuntime(const Inventory& inventory, LoadContext* ctx) {
  if (ctx->FailedAt("runtime")) return;  // missing or not a mapping: said already
  CheckModelReference(inventory, ctx);
  CheckKindBlocks(inventory, ctx);
  CheckParallelism(inventory, ctx);
  CheckPorts(inventory, ctx);
  CheckEngineCanRun(inventory, ctx);
}

}  // namespace cluster::inventory
