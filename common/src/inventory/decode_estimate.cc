// The batch-1 decode estimate; the model and its sources are in
// decode_estimate.h.
#include "common/inventory/decode_estimate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/inventory/gpu_table.h"
#include "common/inventory/runtime_definition.h"

namespace cluster::inventory {
namespace {

constexpr char kPrefix[] = "decode at batch 1: ";

// The datasheet bandwidth of `host`'s GPUs, or why it is not known.
struct Bandwidth {
  std::optional<int> gb_per_s;
  std::string unknown_reason;
};

Bandwidth HostBandwidth(const Inventory& inventory, const Host& host) {
  const std::string key = "hosts[" + std::to_string(&host - inventory.hosts.data()) + "]";
  Bandwidth b;
  if (!host.gpu_model) {
    b.unknown_reason = "host " + host.name + ": the memory bandwidth of its GPUs is not known; set " + key +
                       ".gpu_model (" + KnownGpuNames() + ")";
  } else if (const GpuSpec* spec = FindGpu(*host.gpu_model)) {
    b.gb_per_s = spec->memory_bandwidth_gb_per_s;
  } else {
    b.unknown_reason = "host " + host.name + ": gpu_model \"" + *host.gpu_model +
                       "\" is not a known GPU, so its memory bandwidth is not known; known GPUs: " +
                       KnownGpuNames();
  }
  return b;
}

const Host* FindHost(const Inventory& inventory, const std::string& name) {
  for (const Host& h : inventory.hosts)
    if (h.name == name) return &h;
  return nullptr;
}

// 10^n for a small whole n, exactly.
double PowerOfTen(int n) {
  double p = 1;
  for (int i = 0; i < std::abs(n); ++i) p *= 10;
  return n < 0 ? 1 / p : p;
}

int Exponent(double x) { return static_cast<int>(std::floor(std::log10(x))); }

// `x` rounded to 2 significant digits; dividing by an exact power of ten
// (never multiplying by an inexact 0.1) keeps 6.9 the double nearest 6.9.
double RoundTwoSignificant(double x) {
  if (!(x > 0) || !std::isfinite(x)) return x;
  const int shift = 1 - Exponent(x);
  if (shift > 0) return std::round(x * PowerOfTen(shift)) / PowerOfTen(shift);
  return std::round(x / PowerOfTen(-shift)) * PowerOfTen(-shift);
}

}  // namespace

std::string FormatTwoSignificant(double x) {
  const double rounded = RoundTwoSignificant(x);
  if (!(rounded > 0)) return "0";
  const int decimals = std::max(0, 1 - Exponent(rounded));
  if (decimals > 0) return fmt::format("{:.{}f}", rounded, decimals);
  return FormatCount(static_cast<std::uint64_t>(std::llround(rounded)));
}

std::string CannotEstimateDecode(const std::string& why) { return std::string(kPrefix) + "cannot estimate: " + why; }

DecodeEstimate EstimateBatch1Decode(const Inventory& inventory, const Placement& placement, const ModelFacts& facts,
                                    const MemoryPlan& memory) {
  DecodeEstimate estimate;
  // The weights' bytes per element as the memory plan counts them.
  const std::uint64_t b = static_cast<std::uint64_t>(DtypeBytes(memory.dtype));
  const std::uint64_t linear_bytes = memory.settings.fp8_weights ? 1 : b;
  const int pp = placement.pipeline_parallel;
  std::string unknown_reason;
  double seconds_per_token = 0;
  for (int stage = 0; stage < pp; ++stage) {
    const HostPlacement& placed = placement.StageHost(stage);
    StageDecode s;
    s.stage = stage;
    s.host = placed.host;
    const int layers = placed.ranks.empty() || !placed.ranks.front().layers ? 0 : placed.ranks.front().layers->count();
    // first_stage false: the embedding is not read per token; the last
    // stage's lm_head is, tied or not.
    const RankParameters p = RankParameterSplit(facts, placement.tensor_parallel, layers, /*first_stage=*/false,
                                                /*last_stage=*/stage == pp - 1);
    s.bytes_per_token = p.linear * linear_bytes + p.other * b;
    const Host* host = FindHost(inventory, placed.host);
    if (inventory.runtime.RanksOnCpu()) {
      if (unknown_reason.empty()) {
        unknown_reason = "the ranks run on the CPU (" + std::string(inventory.runtime.Definition().device_key()) +
                         ": cpu) and the estimate is of GPUs' memory bandwidth";
      }
    } else {
      const Bandwidth bandwidth = host ? HostBandwidth(inventory, *host)
                                       : Bandwidth{std::nullopt, "host " + placed.host + " is not in the inventory"};
      s.bandwidth_gb_per_s = bandwidth.gb_per_s;
      if (bandwidth.gb_per_s) {
        seconds_per_token += static_cast<double>(s.bytes_per_token) /
                             (*bandwidth.gb_per_s * 1e9 * kDecodeBandwidthEfficiency);
      } else if (unknown_reason.empty()) {
        unknown_reason = bandwidth.unknown_reason;
      }
    }
    estimate.stages.push_back(std::move(s));
  }
  if (!unknown_reason.empty() || !(seconds_per_token > 0)) {
    estimate.summary =
        CannotEstimateDecode(unknown_reason.empty() ? "the model has no weights to read" : unknown_reason);
    return estimate;
  }
  const std::string rate = FormatTwoSignificant(1 / seconds_per_token);
  estimate.tokens_per_s = RoundTwoSignificant(1 / seconds_per_token);
  estimate.summary = fmt::format(
      "{}about {} tokens/s (estimate of a memory-bound decode: the weights read once per token at {:.0f}% of each "
      "GPU's datasheet memory bandwidth; communication not counted)",
      kPrefix, rate, kDecodeBandwidthEfficiency * 100);
  return estimate;
}

}  // namespace cluster::inventory
