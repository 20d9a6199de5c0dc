// gpu rules: does each host have the GPUs the inventory declares and the
// placement uses, are they the model the plan was sized for, can they run
// runtime.dtype, and do the hosts share one driver.
#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include <fmt/format.h>

#include "cli/lifecycle/check_rules.h"
#include "cli/transfer/size_text.h"
#include "common/inventory/gpu_table.h"
#include "common/inventory/placement.h"

namespace cluster::cli::check {
namespace {

using Verdict = CheckRow::Verdict;

// GPUs the runtime uses on `host`: tensor_parallel on a host that runs a
// pipeline stage, none elsewhere or on the CPU engine. When the runtime
// cannot be placed (validate reports why) a GPU runtime needs at least one.
int GpusNeeded(const inventory::Inventory& inventory, const inventory::Host& host) {
  if (inventory.runtime.RanksOnCpu()) return 0;
  auto placement = inventory::PlaceRanks(inventory, std::nullopt);
  if (!placement.ok()) return 1;
  for (const inventory::HostPlacement& p : placement->hosts) {
    if (p.host == host.name) return static_cast<int>(p.ranks.size());
  }
  return 0;
}

// "4 x Tesla T4", "2 x Tesla T4, 1 x Tesla V100-PCIE-16GB"
std::string GpuSummary(const std::vector<control::GpuFacts>& gpus) {
  std::map<std::string, int> by_name;
  for (const auto& g : gpus) ++by_name[g.name];
  std::vector<std::string> parts;
  for (const auto& [name, count] : by_name) parts.push_back(fmt::format("{} x {}", count, name));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// The major version of "7.5"; -1 when unreadable.
int ComputeMajor(const std::string& capability) {
  int major = -1;
  std::from_chars(capability.data(), capability.data() + capability.size(), major);
  return major;
}

bool SameGpuModel(const std::string& reported, const std::string& declared) {
  const inventory::GpuSpec* a = inventory::FindGpu(reported);
  const inventory::GpuSpec* b = inventory::FindGpu(declared);
  return a != nullptr && a == b;
}

void CheckCount(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  const inventory::Host& host = *a.host;
  const control::NodeFacts& facts = *a.facts;
  const int found = static_cast<int>(facts.gpus.size());
  const int needed = GpusNeeded(inventory, host);
  const std::string none = fmt::format("no GPUs found: {}", facts.gpu_error.empty() ? "nvidia-smi lists none"
                                                                                   : facts.gpu_error);
  std::string driver_fix = fmt::format("install the NVIDIA driver on {} so nvidia-smi lists its GPUs", host.name);
  if (!a.needs->without_gpus.empty()) driver_fix += ", or " + a.needs->without_gpus;
  if (host.gpus && found < *host.gpus) {
    if (found == 0) {
      AddRow(report, host.name, "gpu", "count", Verdict::kFail, none, driver_fix);
    } else {
      AddRow(report, host.name, "gpu", "count", Verdict::kFail,
             fmt::format("found {} GPUs ({}), the inventory says gpus: {}", found, GpuSummary(facts.gpus), *host.gpus),
             fmt::format("set hosts[{}].gpus to {} (or auto) for {}, or make its other GPUs visible to nvidia-smi",
                         a.index, found, host.name));
    }
    return;
  }
  if (found < needed) {
    if (found == 0) {
      AddRow(report, host.name, "gpu", "count", Verdict::kFail, none, driver_fix);
    } else {
      AddRow(report, host.name, "gpu", "count", Verdict::kFail,
             fmt::format("found {} GPUs ({}), the runtime runs {} ranks here (tensor_parallel {})", found,
                         GpuSummary(facts.gpus), needed, inventory.runtime.tensor_parallel),
             fmt::format("lower runtime.tensor_parallel to {}, or give {} {} GPUs", found, host.name, needed));
    }
    return;
  }
  if (found == 0) {
    AddRow(report, host.name, "gpu", "count", Verdict::kPass,
           inventory.runtime.RanksOnCpu() ? "no GPUs (the CPU engine needs none)"
                                          : "no GPUs (no rank runs on this host)");
    return;
  }
  std::string detail = GpuSummary(facts.gpus);
  if (host.gpus && found > *host.gpus) detail += fmt::format(" (the cluster uses {}: gpus: {})", *host.gpus, *host.gpus);
  AddRow(report, host.name, "gpu", "count", Verdict::kPass, detail);
}

void CheckModel(const AnsweredHost& a, CheckReport& report) {
  const inventory::Host& host = *a.host;
  if (!host.gpu_model) return;
  for (const control::GpuFacts& gpu : a.facts->gpus) {
    if (!SameGpuModel(gpu.name, *host.gpu_model)) {
      AddRow(report, host.name, "gpu", "model", Verdict::kWarn,
             fmt::format("GPU {} is a {}, the inventory says gpu_model: {}", gpu.index, gpu.name, *host.gpu_model),
             fmt::format("set hosts[{}].gpu_model to the GPU {} has: plan sized memory for a {}", a.index,
                         host.name, *host.gpu_model));
      return;
    }
  }
  AddRow(report, host.name, "gpu", "model", Verdict::kPass,
         fmt::format("{} as the inventory says (gpu_model: {})", a.facts->gpus.front().name, *host.gpu_model));
}

void CheckMemory(const AnsweredHost& a, CheckReport& report) {
  const auto& gpus = a.facts->gpus;
  auto least_total = std::min_element(gpus.begin(), gpus.end(), [](const auto& x, const auto& y) {
    return x.memory_total_bytes < y.memory_total_bytes;
  });
  auto least_free = std::min_element(gpus.begin(), gpus.end(), [](const auto& x, const auto& y) {
    return x.memory_free_bytes < y.memory_free_bytes;
  });
  AddRow(report, a.host->name, "gpu", "memory", Verdict::kPass,
         fmt::format("{} per GPU, least free {} (GPU {})", SizeText(least_total->memory_total_bytes),
                     SizeText(least_free->memory_free_bytes), least_free->index));
}

void CheckComputeCapability(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  const auto& gpus = a.facts->gpus;
  if (inventory.runtime.dtype == inventory::Dtype::kBfloat16) {
    for (const control::GpuFacts& gpu : gpus) {
      const int major = ComputeMajor(gpu.compute_capability);
      if (major >= 0 && major < 8) {
        AddRow(report, a.host->name, "gpu", "dtype", Verdict::kFail,
               fmt::format("runtime.dtype bfloat16 needs compute capability 8.0; GPU {} ({}) has {}", gpu.index,
                           gpu.name, gpu.compute_capability),
               fmt::format("use float16: set runtime.dtype: float16 (compute capability {} has no bfloat16)",
                           gpu.compute_capability));
        return;
      }
    }
  }
  std::set<std::string> capabilities;
  for (const auto& gpu : gpus) capabilities.insert(gpu.compute_capability);
  AddRow(report, a.host->name, "gpu", "compute capability", Verdict::kPass,
         fmt::format("{} ({})", fmt::join(capabilities, ", "), inventory::DtypeName(inventory.runtime.dtype)));
}

// The leading number of "580.159.04"; -1 when unreadable.
int DriverMajor(const std::string& version) {
  int major = -1;
  std::from_chars(version.data(), version.data() + version.size(), major);
  return major;
}

void CheckDriver(const AnsweredHost& a, CheckReport& report) {
  std::set<std::string> versions;
  for (const auto& gpu : a.facts->gpus) versions.insert(gpu.driver_version);
  const std::string found = fmt::format("{}", fmt::join(versions, ", "));
  const std::string& engine_cuda = a.needs->engine_cuda_runtime;
  if (!engine_cuda.empty()) {
    const int needed = DriverNeededForCuda(engine_cuda);
    for (const std::string& version : versions) {
      const int major = DriverMajor(version);
      if (major >= 0 && major < needed) {
        AddRow(report, a.host->name, "gpu", "driver", Verdict::kFail,
               fmt::format("NVIDIA driver {} is too old for the engine's CUDA {} runtime, which needs driver {} or "
                           "newer",
                           version, engine_cuda, needed),
               fmt::format("install NVIDIA driver {} or newer on {} (the engine brings its CUDA runtime; only the "
                           "driver comes from the host)",
                           needed, a.host->name));
        return;
      }
    }
    AddRow(report, a.host->name, "gpu", "driver", Verdict::kPass,
           fmt::format("{} (the engine's CUDA {} runtime needs {} or newer)", found, engine_cuda, needed));
    return;
  }
  AddRow(report, a.host->name, "gpu", "driver", Verdict::kPass, found);
}

// What `infer-engine probe` said on the host: can the engine open its GPU?
void CheckEngineDevice(const AnsweredHost& a, CheckReport& report) {
  if (!a.facts->engine_device) return;
  const control::EngineDeviceFacts& e = *a.facts->engine_device;
  if (e.ok) {
    AddRow(report, a.host->name, "gpu", "engine", Verdict::kPass,
           fmt::format("the engine opens {} ({}, compute capability {}; CUDA {} runtime on a driver for CUDA {})",
                       e.device, e.name, e.compute_capability, e.runtime_cuda, e.driver_cuda));
    return;
  }
  AddRow(report, a.host->name, "gpu", "engine", Verdict::kFail, fmt::format("the engine cannot open the GPU: {}", e.error),
         fmt::format("fix the GPU or driver on {} until `infer-engine probe --device {}` succeeds there, or set "
                     "runtime.engine.device: cpu",
                     a.host->name, e.device.empty() ? "cuda" : e.device));
}

}  // namespace

void CheckHostGpus(const inventory::Inventory& inventory, const AnsweredHost& answered, CheckReport& report) {
  CheckCount(inventory, answered, report);
  if (answered.facts->gpus.empty()) return;
  CheckModel(answered, report);
  CheckMemory(answered, report);
  CheckComputeCapability(inventory, answered, report);
  CheckDriver(answered, report);
  CheckEngineDevice(answered, report);
}

int DriverNeededForCuda(const std::string& cuda_version) {
  const int major = DriverMajor(cuda_version);
  if (major >= 13) return 580;
  if (major == 12) return 525;
  return 450;
}

void CheckDriverVersions(const std::vector<AnsweredHost>& answered, CheckReport& report) {
  std::vector<std::string> per_host;
  std::set<std::string> versions;
  for (const AnsweredHost& a : answered) {
    if (a.facts->gpus.empty()) continue;
    const std::string& version = a.facts->gpus.front().driver_version;
    per_host.push_back(fmt::format("{} {}", a.host->name, version));
    versions.insert(version);
  }
  if (per_host.size() < 2) return;
  if (versions.size() == 1) {
    AddRow(report, "", "gpu", "driver", Verdict::kPass, fmt::format("driver {} on every host", *versions.begin()));
    return;
  }
  AddRow(report, "", "gpu", "driver", Verdict::kWarn,
         fmt::format("driver versions differ: {}", fmt::join(per_host, ", ")),
         "install one NVIDIA driver version on every host: ranks on different drivers may not agree on NCCL and CUDA "
         "features");
}

}  // namespace cluster::cli::check
