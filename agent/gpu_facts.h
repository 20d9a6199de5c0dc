// The GPUs of this host, as `nvidia-smi` reports them: what `clusterctl check`
// compares with the inventory (count, model, memory, compute capability,
// driver).
//
// nvidia-smi rather than NVML: it is the one thing every NVIDIA driver install
// ships, the agent need not link the driver's library (clusterd runs on hosts
// without GPUs too), and a stand-in script can answer it in tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "control/messages.h"

namespace cluster::agent {

// The argv after the program name: one CSV line per GPU, memory in MiB, no
// header and no units. Fields in this order: index, name, memory.total,
// memory.used, memory.free, compute_cap, driver_version, utilization.gpu.
// Stand-in nvidia-smi scripts of other tests answer exactly this query.
inline constexpr const char* kNvidiaSmiQuery[] = {
    "--query-gpu=index,name,memory.total,memory.used,memory.free,compute_cap,driver_version,utilization.gpu",
    "--format=csv,noheader,nounits"};

// Parses the output of that query (blank lines ignored). Memory becomes
// bytes; a utilization of "[N/A]" or "[Not Supported]" reads as 0.
// InvalidArgument naming the line and the field when a line is not such a
// record: nvidia-smi prints its failures as text on stdout, so junk must not
// become a GPU.
StatusOr<std::vector<control::GpuFacts>> ParseNvidiaSmiCsv(std::string_view text);

struct GpuReading {
  std::vector<control::GpuFacts> gpus;
  std::string error;  // why no GPU could be read; "" when the query worked
};

// Runs `program` (looked up in PATH) with kNvidiaSmiQuery. No program: error
// "nvidia-smi not found: no NVIDIA driver on this host". A failing program:
// its stderr (or stdout, where nvidia-smi writes "NVIDIA-SMI has failed...").
GpuReading ReadGpus(const std::string& program);

}  // namespace cluster::agent
