#include "runtimes/engine/inventory.h"

#include <limits>
#include <string>

#include <fmt/format.h>

#include "common/inventory/memory_plan.h"
#include "common/inventory/model_facts.h"
#include "load_context.h"
#include "runtimes/engine/name.h"
#include "yaml_fields.h"

namespace cluster::inventory {
namespace {

constexpr std::string_view kDeviceKey = "runtime.engine.device";

class Engine final : public RuntimeDefinition {
 public:
  std::string_view name() const override { return runtimes::engine::kName; }
  std::vector<std::string_view> aliases() const override { return {"native"}; }
  std::string_view block() const override { return EngineOptions::kBlock; }

  std::unique_ptr<RuntimeOptions> ReadBlock(const Field& field, LoadContext* ctx) const override {
    auto engine = std::make_unique<EngineOptions>();
    auto block = ReadMapping(field, ctx, {"device", "max_context", "gpu_memory_fraction", "batch_invariant"},
                             "a mapping of engine options");
    if (!block) return engine;
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
          ReportMismatch(*f, ctx, kExpected,
                         *x > 1 && *x <= 100 ? "a fraction, not a percentage: 0.9 for 90%" : "");
        }
      }
    }
    if (auto f = block->Get("batch_invariant")) {
      if (auto b = ReadBool(*f, ctx)) engine->batch_invariant = *b;
    }
    return engine;
  }

  // The rendezvous of rank 0 is on the head at runtime.port + 1.
  void CheckPorts(const Inventory& inventory, LoadContext* ctx) const override {
    const int agent = inventory.network.agent_port;
    if (agent != inventory.runtime.port + 1) return;
    ctx->Error(ctx->locations().Value("network.agent_port"), "network.agent_port",
               fmt::format("{} is the engine's rendezvous port (runtime.port + 1)", agent),
               "give the agent another port");
  }

  // engine.device cuda needs an engine built with CUDA.
  void CheckCanRun(const Inventory& inventory, LoadContext* ctx) const override {
    if (EngineOptionsOf(inventory.runtime).device != EngineDevice::kCuda || ctx->options().engine_has_cuda) return;
    const std::string key = ctx->locations().Has(kDeviceKey) ? std::string(kDeviceKey) : "runtime";
    ctx->Error(ctx->locations().Value(key), std::string(kDeviceKey),
               "cuda, but this clusterctl's engine was built without CUDA (CPU only)",
               "use engine.device: cpu, or install the clusterctl package built with CUDA");
  }

  bool RanksOnCpu(const Runtime& runtime) const override {
    return EngineOptionsOf(runtime).device == EngineDevice::kCpu;
  }
  std::string_view device_key() const override { return kDeviceKey; }

  void ApplyMemorySettings(const Runtime& runtime, MemorySettings& m) const override {
    const EngineOptions& engine = EngineOptionsOf(runtime);
    m.max_context_key = "runtime.engine.max_context";
    m.fraction_key = "runtime.engine.gpu_memory_fraction";
    m.gpu_memory_fraction = engine.gpu_memory_fraction;
    m.fraction_origin = "runtime.engine.gpu_memory_fraction";
    if (engine.max_context) {
      m.max_context = *engine.max_context;
      m.max_context_origin = m.max_context_key;
    }
  }

  void CheckModelFacts(const Runtime& runtime, const ModelFacts& facts, std::vector<Diagnostic>* out) const override {
    const std::optional<int> max_context = EngineOptionsOf(runtime).max_context;
    if (!max_context || *max_context <= facts.max_position_embeddings) return;
    Diagnostic d;
    d.location = runtime.location;
    d.key_path = "runtime.engine.max_context";
    d.message = "max_context " + std::to_string(*max_context) + " is longer than the model's max_position_embeddings " +
                std::to_string(facts.max_position_embeddings);
    d.hint = "use a max_context of at most " + std::to_string(facts.max_position_embeddings);
    out->push_back(std::move(d));
  }
};

}  // namespace

const char* EngineDeviceName(EngineDevice device) {
  switch (device) {
    case EngineDevice::kCuda: return "cuda";
    case EngineDevice::kCpu: return "cpu";
  }
  return "?";
}

std::shared_ptr<const RuntimeDefinition> EngineDefinition() { return std::make_shared<Engine>(); }

}  // namespace cluster::inventory
