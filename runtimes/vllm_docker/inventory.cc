#include "runtimes/vllm_docker/inventory.h"

#include <fmt/format.h>

#include "checks.h"
#include "common/docker_options.h"
#include "common/env_allow_list.h"
#include "common/inventory/memory_plan.h"
#include "load_context.h"
#include "runtimes/vllm_docker/name.h"
#include "runtimes/vllm_docker/vllm_serve_args.h"
#include "value_syntax.h"
#include "yaml_fields.h"

namespace cluster::inventory {
namespace {

// A list of docker option values, each in its canonical form; an item
// docker would misread is an error at that item, and the list stays empty
// (so that indexes in later checks are the file's).
std::vector<std::string> ReadDockerList(const Field& field, LoadContext* ctx,
                                        StatusOr<std::string> (*canonical)(std::string_view),
                                        std::string_view expected) {
  std::vector<std::string> out;
  auto items = ReadList(field, ctx, "a list of strings");
  if (!items) return out;
  bool ok = true;
  for (const Field& item : *items) {
    auto text = ReadString(item, ctx, expected);
    if (!text) {
      ok = false;
      continue;
    }
    StatusOr<std::string> value = canonical(*text);
    if (value.ok()) {
      out.push_back(std::move(*value));
    } else {
      ReportMismatch(item, ctx, expected, value.status().message());
      ok = false;
    }
  }
  if (!ok) out.clear();
  return out;
}

// ulimits: {memlock: -1, nofile: 1048576, stack: "67108864:67108864"}.
void ReadUlimits(const Field& field, VllmDockerOptions* vllm, LoadContext* ctx) {
  auto limits = ReadStringMap(field, ctx);
  if (!limits) return;
  for (const auto& [name, value] : *limits) {
    StatusOr<std::string> limit = CanonicalUlimit(name, value);
    if (limit.ok()) {
      vllm->ulimits[name] = *limit;
      continue;
    }
    const std::string path = fmt::format("{}.{}", field.path, name);
    ctx->Error(ctx->locations().Value(path), path, limit.status().message());
  }
}

void ReadVllmDockerOptions(const Field& field, VllmDockerOptions* vllm, LoadContext* ctx) {
  auto block = ReadMapping(field, ctx, {"image", "shm_size", "env", "args", "volumes", "devices", "ulimits", "ipc"},
                           "a mapping of vllm-docker options");
  if (!block) return;
  if (auto f = block->Require("image", "add image: with the name of an artifacts.images entry")) {
    if (auto image = ReadString(*f, ctx, "the name of an artifacts.images entry")) vllm->image = *image;
  }
  if (auto f = block->Get("shm_size")) {
    constexpr std::string_view kExpected = "a size in docker's syntax such as 16g";
    if (auto text = ReadString(*f, ctx, kExpected)) {
      if (auto bytes = ParseDockerSize(*text); !bytes.ok()) {
        ReportMismatch(*f, ctx, kExpected, bytes.status().message());
      } else {
        vllm->shm_size = *text;
        vllm->shm_size_bytes = *bytes;
      }
    }
  }
  if (auto f = block->Get("env")) {
    if (auto env = ReadStringMap(*f, ctx)) {
      bool ok = true;
      for (const auto& [name, value] : *env) {
        if (Status s = CheckAllowedEnvName(name); !s.ok()) {
          const std::string path = fmt::format("{}.{}", f->path, name);
          ctx->Error(ctx->locations().Key(path), path,
                     fmt::format("expected a variable the agents may set (docs/agent-protocol.md), found \"{}\"",
                                 name),
                     s.message());
          ok = false;
        }
      }
      if (ok) vllm->env = std::move(*env);
    }
  }
  if (auto f = block->Get("args")) {
    if (auto args = ReadStringList(*f, ctx)) vllm->args = std::move(*args);
  }
  if (auto f = block->Get("volumes")) {
    vllm->volumes = ReadDockerList(*f, ctx, CanonicalVolume, "HOST_PATH:CONTAINER_PATH[:ro|rw]");
  }
  if (auto f = block->Get("devices")) {
    vllm->devices = ReadDockerList(*f, ctx, CanonicalDevice, "a device such as /dev/infiniband");
  }
  if (auto f = block->Get("ulimits")) ReadUlimits(*f, vllm, ctx);
  if (auto f = block->Get("ipc")) {
    if (auto i = ReadWord(*f, ctx, {"private", "host"})) vllm->ipc_host = *i == 1;
  }
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
  const VllmDockerOptions& vllm = VllmDockerOptionsOf(inventory.runtime);
  const Locations& where = ctx->locations();
  if (!where.Has("runtime.vllm_docker")) {
    ctx->Error(where.Value("runtime"), "runtime.vllm_docker", "required key is missing for kind vllm-docker",
               "add vllm_docker: {image: NAME} naming an artifacts.images entry");
    return;
  }
  const std::string& image = vllm.image;
  if (!image.empty() && !ctx->Failed("runtime.vllm_docker.image") && !inventory.FindImage(image) &&
      !NamesInDoubt("artifacts.images", inventory.images.size(), *ctx)) {
    std::vector<std::string_view> names;
    for (const Image& i : inventory.images) names.push_back(i.name);
    ReportUnknownName("runtime.vllm_docker.image", image, "artifacts.images", names, "image", ctx);
  }
  const std::vector<std::string>& args = vllm.args;
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
  const std::vector<std::string>& volumes = vllm.volumes;
  for (std::size_t i = 0; model != nullptr && i < volumes.size(); ++i) {
    const std::string_view container = VolumeTarget(volumes[i]);
    if (container != model->path.string()) continue;
    const std::string path = fmt::format("runtime.vllm_docker.volumes[{}]", i);
    ctx->Error(where.Value(path), path, fmt::format("mounts over the model folder {}", container),
               "mount it elsewhere in the container; clusterctl mounts the model there");
  }
  if (vllm.ipc_host && where.Has("runtime.vllm_docker.shm_size")) {
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

class VllmDocker final : public RuntimeDefinition {
 public:
  std::string_view name() const override { return runtimes::vllm_docker::kName; }
  std::vector<std::string_view> aliases() const override { return {"vllm", "docker"}; }
  std::string_view block() const override { return VllmDockerOptions::kBlock; }

  std::unique_ptr<RuntimeOptions> ReadBlock(const Field& field, LoadContext* ctx) const override {
    auto vllm = std::make_unique<VllmDockerOptions>();
    ReadVllmDockerOptions(field, vllm.get(), ctx);
    return vllm;
  }

  void CheckBlock(const Inventory& inventory, LoadContext* ctx) const override { CheckVllmDocker(inventory, ctx); }

  // Ray's GCS port is on the head.
  void CheckPorts(const Inventory& inventory, LoadContext* ctx) const override {
    const int agent = inventory.network.agent_port;
    if (agent != kRayPort && inventory.runtime.port != kRayPort) return;
    const char* key = agent == kRayPort ? "network.agent_port" : "runtime.port";
    ctx->Error(ctx->locations().Value(key), key, "6379 is Ray's port in the vllm-docker runtime",
               "choose another port");
  }

  // vLLM's arguments, else its defaults (--gpu-memory-utilization 0.9,
  // --max-model-len the model's); validation has read them once already.
  void ApplyMemorySettings(const Runtime& runtime, MemorySettings& m) const override {
    m.max_context_key = "--max-model-len in runtime.vllm_docker.args";
    m.fraction_key = "--gpu-memory-utilization in runtime.vllm_docker.args";
    m.fraction_origin = "vLLM's default";
    const StatusOr<VllmServeMemoryArgs> args = ReadVllmServeMemoryArgs(VllmDockerOptionsOf(runtime).args);
    if (!args.ok()) return;
    if (args->max_model_len) {
      m.max_context = *args->max_model_len;
      m.max_context_origin = "--max-model-len";
    }
    if (args->gpu_memory_utilization) {
      m.gpu_memory_fraction = *args->gpu_memory_utilization;
      m.fraction_origin = "--gpu-memory-utilization";
    }
    if (args->fp8_kv_cache()) m.kv_bytes = 1;
    m.fp8_weights = args->fp8_weights();
    m.max_sequences = args->max_num_seqs;
    m.not_modeled = args->not_modeled;
  }
};

}  // namespace

std::shared_ptr<const RuntimeDefinition> VllmDockerDefinition() { return std::make_shared<VllmDocker>(); }

}  // namespace cluster::inventory
