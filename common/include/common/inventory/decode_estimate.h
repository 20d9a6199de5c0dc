// The batch-1 decode estimate: about how many tokens per second one sequence
// alone gets from the deployment's GPUs, before anything is bought or wired.
//
// At batch 1 a decode step is memory-bound: each token reads every weight it
// passes through once, and the arithmetic on them is small beside the
// reading. Pipeline stages run one after another for one token; the
// tensor-parallel ranks of a stage read their shards at the same time, each
// from its own GPU. So, with the bytes of memory_plan.h's accounting,
//
//   seconds per token = sum over stages s of
//       rank_bytes(s) / (bandwidth(s) * kDecodeBandwidthEfficiency)
//   rank_bytes(s)     = what one rank of stage s reads per token: its shard
//                       of the stage's layers (q, k, v, o, gate, up, down
//                       split TP ways; norms and biases) and, on the last
//                       stage, its lm_head shard and the final norm
//   bandwidth(s)      = the datasheet memory bandwidth of the stage host's
//                       gpu_model (gpu_table.h)
//
// The embedding is not counted: a token reads one row of it, not the matrix
// (with tied embeddings the last stage still reads the whole matrix, as its
// lm_head). Not counted either: the KV cache a token's attention reads
// (small beside the weights at batch 1 and modest contexts), and
// communication: the tensor-parallel all-reduces and the pipeline's sends
// between hosts, which on a slow network can cost as much as the reading.
// It is an estimate of a memory-bound decode, not of a particular runtime,
// and applies to the engine and to vLLM alike.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/inventory/inventory.h"
#include "common/inventory/memory_plan.h"
#include "common/inventory/model_facts.h"
#include "common/inventory/placement.h"

namespace cluster::inventory {

// The share of a GPU's datasheet memory bandwidth that a batch-1 decode
// reaches. Measured: on an H100 80GB HBM3 the bundled engine decoded a
// 70B-shape slice (8 layers of DeepSeek-R1-Distill-Llama-70B) at batch 1 at
// 88.4% of the card's measured copy bandwidth, and that copy moved 2,865
// GB/s, 85.5% of the datasheet's 3,350 GB/s: 0.884 x 0.855 = 0.756, taken
// as 0.75 (docs/benchmarks.md, "Third run"). Other cards and smaller
// models may reach less: in that run the 8B shape reached 61% of the copy
// bandwidth.
inline constexpr double kDecodeBandwidthEfficiency = 0.75;

// One pipeline stage's part of the estimate.
struct StageDecode {
  int stage = 0;
  std::string host;
  std::uint64_t bytes_per_token = 0;             // what one rank (GPU) of the stage reads per token
  std::optional<int> bandwidth_gb_per_s;         // datasheet; nullopt when the GPU is not known
};

struct DecodeEstimate {
  std::vector<StageDecode> stages;               // by stage
  // Tokens per second, to 2 significant digits; nullopt when it cannot be
  // estimated (a CPU runtime, a GPU whose bandwidth is not known).
  std::optional<double> tokens_per_s;
  // One line: "decode at batch 1: about 6.9 tokens/s (estimate of a
  // memory-bound decode: ...)" or "decode at batch 1: cannot estimate: WHY".
  std::string summary;
};

// Estimates the batch-1 decode rate of `placement` with the bytes per
// element of `memory` (its dtype; 1-byte linear weights with fp8 weights).
// REQUIRES: `memory` from PlanMemory on the same inventory, placement and
// facts.
DecodeEstimate EstimateBatch1Decode(const Inventory& inventory, const Placement& placement,
                                    const ModelFacts& facts, const MemoryPlan& memory);

// The line plan prints when there is no memory plan to estimate from:
// "decode at batch 1: cannot estimate: `why`".
std::string CannotEstimateDecode(const std::string& why);

// `x` to 2 significant digits, grouped by thousands: "6.9", "72", "160",
// "1,200", "0.52".
std::string FormatTwoSignificant(double x);

}  // namespace cluster::inventory
