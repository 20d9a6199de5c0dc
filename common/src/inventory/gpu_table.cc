// The known-GPU table. Memory sizes are nvidia-smi's memory.total of each
// card (MiB); compute capabilities are NVIDIA's published ones; memory
// bandwidths are the datasheet figures (GB/s) of the card each name stands
// for. Where a name covers two boards, the table takes the SXM one and says
// so: A100-80GB is the SXM4 card (2,039 GB/s; the PCIe card has 1,935) and
// H100-80GB the SXM5 card with HBM3, nvidia-smi's "H100 80GB HBM3" (3,350
// GB/s; the H100 PCIe has 2,000). The A10G's figure is AWS's (NVIDIA
// publishes none for it).
#include "common/inventory/gpu_table.h"

#include <array>
#include <cctype>

namespace cluster::inventory {
namespace {

constexpr std::array<GpuSpec, 13> kGpus = {{
    {"V100-16GB", 16160, 7, 0, 900},
    {"V100-32GB", 32510, 7, 0, 900},
    {"T4", 15360, 7, 5, 320},
    {"A100-40GB", 40960, 8, 0, 1555},
    {"A100-80GB", 81920, 8, 0, 2039},
    {"A10", 23028, 8, 6, 600},
    {"A10G", 23028, 8, 6, 600},
    {"RTX 3090", 24576, 8, 6, 936},
    {"L4", 23034, 8, 9, 300},
    {"L40S", 46068, 8, 9, 864},
    {"RTX 4090", 24564, 8, 9, 1008},
    {"H100-80GB", 81559, 9, 0, 3350, "H100"},
    {"H200", 143771, 9, 0, 4800, "H200-141GB"},
}};

// Lower case without separators or a vendor/brand prefix: "NVIDIA Tesla T4" -> "t4".
std::string Normalize(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ' ' || c == '-' || c == '_') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  for (std::string_view prefix : {"nvidia", "tesla", "geforce"}) {
    if (out.rfind(prefix, 0) == 0) out.erase(0, prefix.size());
  }
  return out;
}

}  // namespace

std::string GpuSpec::compute_capability() const {
  return std::to_string(compute_major) + "." + std::to_string(compute_minor);
}

std::span<const GpuSpec> KnownGpus() { return kGpus; }

const GpuSpec* FindGpu(std::string_view name) {
  const std::string wanted = Normalize(name);
  if (wanted.empty()) return nullptr;
  for (const GpuSpec& gpu : kGpus) {
    if (Normalize(gpu.name) == wanted || (!gpu.alias.empty() && Normalize(gpu.alias) == wanted))
      return &gpu;
  }
  return nullptr;
}

std::string KnownGpuNames() {
  std::string out;
  for (const GpuSpec& gpu : kGpus) out += (out.empty() ? "" : ", ") + std::string(gpu.name);
  return out;
}

}  // namespace cluster::inventory
