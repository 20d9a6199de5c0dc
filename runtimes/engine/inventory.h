// The bundled engine's part in the inventory: `runtime.kind: engine` and its
// options block runtime.engine (docs/inventory.md): on which device the
// ranks compute, the context they serve, the share of each GPU they use,
// whether a token's result may depend on the rest of its batch.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "common/inventory/runtime_definition.h"

namespace cluster::inventory {

enum class EngineDevice { kCuda, kCpu };
const char* EngineDeviceName(EngineDevice device);  // "cuda" | "cpu"

struct EngineOptions final : RuntimeOptions {
  static constexpr std::string_view kBlock = "engine";

  EngineDevice device = EngineDevice::kCuda;
  std::optional<int> max_context;       // tokens; default: the model's max_position_embeddings
  double gpu_memory_fraction = 0.90;    // share of each GPU the engine may use
  // infer-engine's --batch-invariant: a token's result never depends on the
  // other requests in its step (slower decoding on GPUs; the CPU engine
  // always works this way).
  bool batch_invariant = false;

  std::unique_ptr<RuntimeOptions> Clone() const override { return std::make_unique<EngineOptions>(*this); }
};

// runtime.engine of `runtime` (its defaults when the file gives none).
inline const EngineOptions& EngineOptionsOf(const Runtime& runtime) { return runtime.Block<EngineOptions>(); }
inline EngineOptions& EngineOptionsOf(Runtime& runtime) { return runtime.MutableBlock<EngineOptions>(); }

std::shared_ptr<const RuntimeDefinition> EngineDefinition();

}  // namespace cluster::inventory
