// The known-GPU table: what `plan` needs to know about a GPU that an operator
// names in `hosts[].gpu_model`, without touching the machine.
//
// Memory is the total the driver reports (nvidia-smi's memory.total), which
// is a little below the marketing size (a T4 "16 GB" reports 15360 MiB). A
// GPU supports bfloat16 from compute capability 8.0 (Ampere) on. Memory
// bandwidth is NVIDIA's datasheet figure, not a measurement: a card copies
// at less (an H100 SXM at about 2,865 of its 3,350 GB/s, docs/benchmarks.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cluster::inventory {

struct GpuSpec {
  std::string_view name;        // canonical name, e.g. "T4", "A100-80GB"
  std::uint64_t memory_mib;     // as reported by the driver
  int compute_major;            // compute capability, e.g. 7.5 -> 7 and 5
  int compute_minor;
  int memory_bandwidth_gb_per_s;  // datasheet figure, GB/s (1 GB = 1e9 bytes)
  std::string_view alias = {};  // another accepted name, e.g. "H100" for "H100-80GB"

  std::uint64_t memory_bytes() const { return memory_mib * 1024 * 1024; }
  bool supports_bfloat16() const { return compute_major >= 8; }
  std::string compute_capability() const;  // "7.5"
};

// All known GPUs, in a fixed order (oldest generation first).
std::span<const GpuSpec> KnownGpus();

// Looks `name` up: case-insensitive, ignoring spaces, '-' and '_' and a
// leading "NVIDIA", "Tesla" or "GeForce", so "Tesla T4", "t4", "A100 80GB"
// and "NVIDIA GeForce RTX 4090" all match. Returns nullptr when unknown.
const GpuSpec* FindGpu(std::string_view name);

// "T4, V100-16GB, ...": for messages that list what is known.
std::string KnownGpuNames();

}  // namespace cluster::inventory
