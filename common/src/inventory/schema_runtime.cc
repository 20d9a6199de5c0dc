// The `runtime` section: which runtime serves which model and how it is
// split over the GPUs; each runtime reads its own options block
// (runtime_definition.h).
#include <string_view>
#include <utility>
#include <vector>

#include "common/inventory/runtime_definition.h"
#include "schema.h"
#include "value_syntax.h"

namespace cluster::inventory {
namespace {

// The keys of the runtime section: these, each runtime's block before restart.
const std::vector<std::string_view> kRuntimeKeys = {
    "kind", "model", "tensor_parallel", "pipeline_parallel", "dtype", "port", "bind", "api_key_file"};

}  // namespace

void ReadRuntime(const Mapping& root, Inventory* inventory, LoadContext* ctx) {
  auto field = root.Require("runtime", "add runtime: with at least model: NAME");
  if (!field) return;
  Runtime& runtime = inventory->runtime;
  runtime.location = field->value_at;
  const RuntimeDefinitions& runtimes = ctx->runtimes();
  std::vector<std::string_view> keys = kRuntimeKeys;
  for (const auto& definition : runtimes.all()) keys.push_back(definition->block());
  keys.push_back("restart");
  auto block = ReadMapping(*field, ctx, keys, "a mapping with kind, model and parallelism");
  if (!block) return;

  if (auto f = block->Get("kind")) {
    std::vector<std::string_view> names;
    std::vector<std::pair<std::string_view, std::string_view>> aliases;
    for (const auto& definition : runtimes.all()) {
      names.push_back(definition->name());
      for (std::string_view alias : definition->aliases()) aliases.emplace_back(alias, definition->name());
    }
    if (auto i = ReadWord(*f, ctx, names, aliases)) runtime.kind = names[*i];
  }
  runtime.definition = runtimes.Find(runtime.kind);
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
  for (const auto& definition : runtimes.all()) {
    if (auto f = block->Get(definition->block())) {
      runtime.blocks.Set(std::string(definition->block()), definition->ReadBlock(*f, ctx));
    }
  }
  if (auto f = block->Get("restart")) ReadRestartPolicy(*f, &runtime.restart, ctx);
}

}  // namespace cluster::inventory
