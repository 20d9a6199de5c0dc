// The runtime against the rest of the inventory: references to artifacts,
// the block of its kind (the runtime's own checks: runtime_definition.h),
// and parallelism against hosts and GPUs.
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
#include "common/inventory/gpu_table.h"
#include "common/inventory/runtime_definition.h"
#include "common/spelling.h"

namespace cluster::inventory {
namespace {

constexpr std::string_view kTp = "runtime.tensor_parallel";
constexpr std::string_view kPp = "runtime.pipeline_parallel";

std::string Plural(int n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

void CheckModelReference(const Inventory& inventory, LoadContext* ctx) {
  const std::string& name = inventory.runtime.model;
  if (name.empty() || ctx->Failed("runtime.model") || inventory.FindModel(name)) return;
  if (NamesInDoubt("artifacts.models", inventory.models.size(), *ctx)) return;
  std::vector<std::string_view> names;
  for (const Model& m : inventory.models) names.push_back(m.name);
  ReportUnknownName("runtime.model", name, "artifacts.models", names, "model", ctx);
}

// The runtime's own checks of its block, and a warning for each block of
// another runtime the file gives.
void CheckKindBlocks(const Inventory& inventory, LoadContext* ctx) {
  if (ctx->Failed("runtime.kind")) return;
  const RuntimeDefinition& runtime = inventory.runtime.Definition();
  runtime.CheckBlock(inventory, ctx);
  const Locations& where = ctx->locations();
  for (const auto& other : ctx->runtimes().all()) {
    const std::string path = fmt::format("runtime.{}", other->block());
    if (other->name() == runtime.name() || !where.Has(path)) continue;
    ctx->Warning(where.Key(path), path, fmt::format("ignored: only kind {} uses it", other->name()),
                 fmt::format("remove it, or set kind: {}", other->name()));
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
  const std::string_view device_key = r.Definition().device_key();
  if (!device_key.empty() && ctx->Failed(device_key)) return;
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

// The API port is the head's and the agent's port is on every host: neither
// may be the other; the runtime checks its own ports on the head (the
// engine's rendezvous port, Ray's GCS port) against both.
void CheckPorts(const Inventory& inventory, LoadContext* ctx) {
  const int api = inventory.runtime.port;
  const int agent = inventory.network.agent_port;
  if (ctx->Failed("runtime.port") || ctx->Failed("network.agent_port")) return;
  if (agent == api) {
    ctx->Error(ctx->locations().Value("network.agent_port"), "network.agent_port",
               fmt::format("{} is also runtime.port", agent), "give the agent and the API different ports");
    return;
  }
  inventory.runtime.Definition().CheckPorts(inventory, ctx);
}

// What `up` would refuse on the hosts, known here without them: what the
// runtime says, and bfloat16 on a GPU below compute capability 8.0 (every
// host runs a stage on GPUs).
void CheckCanRun(const Inventory& inventory, LoadContext* ctx) {
  const Runtime& r = inventory.runtime;
  if (ctx->Failed("runtime.kind")) return;
  const RuntimeDefinition& runtime = r.Definition();
  if (!runtime.device_key().empty() && ctx->Failed(runtime.device_key())) return;
  runtime.CheckCanRun(inventory, ctx);
  if (r.RanksOnCpu() || r.dtype != Dtype::kBfloat16 || ctx->Failed("runtime.dtype")) return;
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

}  // namespace

void ReportUnknownName(std::string_view key, const std::string& name, std::string_view list_path,
                       const std::vector<std::string_view>& names, std::string_view what, LoadContext* ctx) {
  std::string hint = names.empty() ? fmt::format("{} is empty; add the {} there", list_path, what)
                                   : fmt::format("{} has {}", list_path, JoinAlternatives(names));
  if (auto guess = ClosestMatch(name, names)) hint = fmt::format("did you mean {}?", *guess);
  ctx->Error(ctx->locations().Value(key), std::string(key),
             fmt::format("no {} named \"{}\" in {}", what, name, list_path), hint);
}

void CheckRuntime(const Inventory& inventory, LoadContext* ctx) {
  if (ctx->FailedAt("runtime")) return;  // missing or not a mapping: said already
  CheckModelReference(inventory, ctx);
  CheckKindBlocks(inventory, ctx);
  CheckParallelism(inventory, ctx);
  CheckPorts(inventory, ctx);
  CheckCanRun(inventory, ctx);
}

}  // namespace cluster::inventory
