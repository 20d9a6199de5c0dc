// The `runtime` section: which engine serves which model, how it is split
// over the GPUs, and the options of each kind of runtime.
#include <limits>

#include <fmt/format.h>

#include "common/docker_options.h"
#include "common/env_allow_list.h"
#include "schema.h"
#include "value_syntax.h"

namespace cluster::inventory {
namespace {

const std::vector<std::string_view> kRuntimeKeys = {
    "kind", "model", "tensor_parallel", "pipeline_parallel", "dtype", "port", "bind", "api_key_file", "engine",
    "vllm_docker", "restart"};

void ReadEngineOptions(const Field& field, EngineOptions* engine, LoadContext* ctx) {
  auto block = ReadMapping(field, ctx, {"device", "max_context", "gpu_memory_fraction"},
                           "a mapping of engine options");
  if (!block) return;
  if (auto f = block->Get("device")) {
    if (auto i = ReadWord(*f, ctx, {"cuda", "cpu"}, {{"gpu", "cuda"}})) {
      engine->device = *i == 0 ? EngineDevice::kCuda : EngineDevice::kCpu;
    }
  }
  if (auto f = block->Get("max_context")) {
    if (auto n = ReadInteger(*f, ctx, 1, std::numeric_limits<int>::max(), "a number of tokens >= 1")) {
      engine->max_context = static_cast<int>(*n);
    }
  }
  if (auto f = block->Get("gpu_memory_fraction")) {
    constexpr std::string_view kExpected = "a number greater than 0 and at most 1";
    if (auto x = ReadNumber(*f, ctx, kExpected)) {
      if (*x > 0 && *x <= 1) {
        engine->gpu_memory_fraction = *x;
      } else {
        ReportMismatch(*f, ctx, kExpected, *x > 1 && *x <= 100 ? "a fraction, not a percentage: 0.9 for 90%" : "");
      }
    }
  }
}

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

}  // namespace

void ReadRuntime(const Mapping& root, Inventory* inventory, LoadContext* ctx) {
  auto field = root.Require("runtime", "add runtime: with at least model: NAME");
  if (!field) return;
  Runtime& runtime = inventory->runtime;
  runtime.location = field->value_at;
  auto block = ReadMapping(*field, ctx, kRuntimeKeys, "a mapping with kind, model and parallelism");
  if (!block) return;

  if (auto f = block->Get("kind")) {
    if (auto i = ReadWord(*f, ctx, {"engine", "vllm-docker"},
                          {{"vllm", "vllm-docker"}, {"docker", "vllm-docker"}, {"native", "engine"}})) {
      runtime.kind = *i == 0 ? RuntimeKind::kEngine : RuntimeKind::kVllmDocker;
    }
  }
  if (auto f = block->Require("model", "add model: with the name of an artifacts.models entry")) {
    if (auto model = ReadString(*f, ctx, "the name of an artifacts.models entry")) runtime.model = *model;
  }
  if (auto f = block->Get("tensor_parallel")) {
    if (auto n = ReadInteger(*f, ctx, 1, 1024)) runtime.tensor_parallel = static_cast<int>(*n);
  }
  if (auto f = block->Get("pipeline_parallel")) {
    if (auto n = ReadInteger(*f, ctx, 1, 1024)) runtime.pipeline_parallel = static_cast<int>(*n);
  }
  if (auto f = block->Get("dtype")) {
    static constexpr Dtype kDtypes[] = {Dtype::kAuto, Dtype::kFloat16, Dtype::kBfloat16, Dtype::kFloat32};
    if (auto i = ReadWord(*f, ctx, {"auto", "float16", "bfloat16", "float32"},
                          {{"fp16", "float16"}, {"half", "float16"}, {"f16", "float16"}, {"bf16", "bfloat16"},
                           {"fp32", "float32"}, {"float", "float32"}, {"f32", "float32"}})) {
      runtime.dtype = kDtypes[*i];
    }
  }
  if (auto f = block->Get("port")) {
    if (auto port = ReadInteger(*f, ctx, 1, 65535)) runtime.port = static_cast<int>(*port);
  }
  if (auto f = block->Get("bind")) {
    constexpr std::string_view kExpected = "an IPv4 address, or 0.0.0.0 for every interface";
    if (auto address = ReadString(*f, ctx, kExpected)) {
      if (ParseIpAddress(*address).ok() && address->find(':') == std::string::npos) {
        runtime.bind = *address;
      } else {
        ReportMismatch(*f, ctx, kExpected);
      }
    }
  }
  if (auto f = block->Get("api_key_file")) runtime.api_key_file = ReadLocalPath(*f, ctx);
  if (auto f = block->Get("engine")) ReadEngineOptions(*f, &runtime.engine, ctx);
  if (auto f = block->Get("vllm_docker")) ReadVllmDockerOptions(*f, &runtime.vllm_docker, ctx);
  if (auto f = block->Get("restart")) ReadRestartPolicy(*f, &runtime.restart, ctx);
}

}  // namespace cluster::inventory
