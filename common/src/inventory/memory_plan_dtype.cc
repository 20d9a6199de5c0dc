// Deciding the dtype the engine computes in (memory_plan.h).
#include <string>

#include "common/inventory/gpu_table.h"
#include "common/inventory/memory_plan.h"

namespace cluster::inventory {
namespace {

std::optional<Dtype> DtypeFromName(const std::string& name) {
  if (name == "float16" || name == "half") return Dtype::kFloat16;
  if (name == "bfloat16") return Dtype::kBfloat16;
  if (name == "float32" || name == "float") return Dtype::kFloat32;
  return std::nullopt;
}

struct UsedGpus {
  const Host* without_bf16 = nullptr;  // the first used host whose GPU lacks bfloat16
  const GpuSpec* without_bf16_spec = nullptr;
  const Host* unknown = nullptr;       // the first used host whose GPU model is unknown
};

UsedGpus SurveyUsedGpus(const Inventory& inventory, const Placement& placement) {
  UsedGpus used;
  for (const HostPlacement& placed : placement.hosts) {
    if (!placed.stage) continue;
    for (const Host& host : inventory.hosts) {
      if (host.name != placed.host) continue;
      const GpuSpec* spec = host.gpu_model ? FindGpu(*host.gpu_model) : nullptr;
      if (spec == nullptr) {
        if (used.unknown == nullptr) used.unknown = &host;
      } else if (!spec->supports_bfloat16() && used.without_bf16 == nullptr) {
        used.without_bf16 = &host;
        used.without_bf16_spec = spec;
      }
    }
  }
  return used;
}

std::string NoBf16(const UsedGpus& used) {
  return std::string(used.without_bf16_spec->name) + " (compute capability " +
         used.without_bf16_spec->compute_capability() + ") has no bfloat16";
}

}  // namespace

int DtypeBytes(Dtype dtype) {
  switch (dtype) {
    case Dtype::kFloat16:
    case Dtype::kBfloat16: return 2;
    case Dtype::kFloat32: return 4;
    case Dtype::kAuto: return 0;
  }
  return 0;
}

DtypeDecision DecideDtype(const Inventory& inventory, const Placement& placement,
                          const ModelFacts* facts) {
  const Runtime& runtime = inventory.runtime;
  const UsedGpus used = SurveyUsedGpus(inventory, placement);
  const bool on_cpu = runtime.RanksOnCpu();

  DtypeDecision d;
  if (runtime.dtype != Dtype::kAuto) {
    d.dtype = runtime.dtype;
    d.reason = "set in runtime.dtype";  // the loader refuses bfloat16 on a GPU without it
    return d;
  }
  if (on_cpu) {
    d.dtype = Dtype::kFloat32;
    d.reason = "auto: the CPU engine computes in float32";
    return d;
  }
  const std::optional<Dtype> model_dtype =
      facts ? DtypeFromName(facts->torch_dtype) : std::optional<Dtype>();
  if (!model_dtype || *model_dtype == Dtype::kBfloat16) {
    if (used.without_bf16 != nullptr) {
      d.dtype = Dtype::kFloat16;
      d.reason = "auto: " + NoBf16(used) + ", so float16";
      if (model_dtype) d.reason = "auto: the model is bfloat16 but " + NoBf16(used) + ", so float16";
      return d;
    }
  }
  if (!model_dtype) {
    d.dtype = facts ? Dtype::kFloat16 : Dtype::kAuto;
    d.reason = facts ? "auto: the model's config.json gives no torch_dtype; assumed float16"
                     : "auto: decided by the model's torch_dtype, which is not known";
    return d;
  }
  d.dtype = *model_dtype;
  d.reason = "auto: the model's torch_dtype";
  if (d.dtype == Dtype::kBfloat16 && used.unknown != nullptr)
    d.reason += "; bfloat16 support of host " + used.unknown->name +
                " not checked (set its gpu_model)";
  return d;
}

}  // namespace cluster::inventory
