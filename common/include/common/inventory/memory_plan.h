// The memory estimate: what each GPU of a placement holds, and whether the
// model fits with room for its KV cache.
//
// Per rank (one GPU), with b = bytes per element of the dtype:
//   weights  = the rank's shard of its stage's layers: q, k, v, o and
//              gate, up, down split TP ways (q/k/v biases too, for models
//              with attention_bias); the two RMSNorm weights of each layer
//              replicated on every rank (the convention of TP engines; they
//              are tiny); the embedding on the first stage and the lm_head
//              plus the final norm on the last stage, each split TP ways by
//              vocabulary rows (with tied embeddings both stages hold the
//              matrix; one stage holding both keeps a single copy).
//   kv/token = 2 (K and V) * layers of the stage * KV heads per rank * head_dim * b
//              (b = 1 for vLLM's fp8 KV cache; linear weights 1 byte with fp8 weights)
//   usable   = GPU memory * gpu_memory_fraction, rounded down to a byte
//   kv room  = usable - weights - kRuntimeReserveBytes
//   tokens   = kv room / kv/token;  sequences = tokens / max_context
// A stage fits when kv room holds at least one max_context-long sequence;
// the cluster's capacity is that of its tightest stage. Counts that do not
// divide by TP are rounded up per rank (vocabulary padding, replicated KV
// heads); validation rejects the cases an engine cannot run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/inventory/gpu_table.h"
#include "common/inventory/inventory.h"
#include "common/inventory/model_facts.h"
#include "common/inventory/placement.h"
#include "common/status.h"

namespace cluster::inventory {

// Memory every GPU keeps for what is neither weights nor KV cache: the CUDA
// context and kernels (~0.3-0.5 GB on a T4), activations and workspace of a
// forward pass, and NCCL's buffers. One GiB is a round, deliberately
// conservative figure for TP <= 8 and the batch sizes of the engine.
inline constexpr std::uint64_t kRuntimeReserveBytes = std::uint64_t{1} << 30;

// Bytes per element: 2 for float16 and bfloat16, 4 for float32, 0 for auto.
int DtypeBytes(Dtype dtype);

// The dtype the engine will compute in, and why.
struct DtypeDecision {
  Dtype dtype = Dtype::kAuto;  // kAuto only when it cannot be decided (no model facts)
  std::string reason;          // e.g. "set in runtime.dtype"
};

// runtime.dtype when set. `auto` is the model's torch_dtype, except that
// bfloat16 becomes float16 when a GPU of a used host has no bfloat16
// (compute capability below 8.0, e.g. T4); the CPU engine computes in float32.
// `facts` may be null.
DtypeDecision DecideDtype(const Inventory& inventory, const Placement& placement,
                          const ModelFacts* facts);

// Parameters held by one rank of a stage with `layers` layers: those of the
// linear layers (q, k, v, o, gate, up, down: what weight quantization
// shrinks) and the rest (embedding, lm_head, norms, biases).
struct RankParameters {
  std::uint64_t linear = 0;
  std::uint64_t other = 0;
  std::uint64_t total() const { return linear + other; }
};
RankParameters RankParameterSplit(const ModelFacts& facts, int tensor_parallel, int layers, bool first_stage,
                                  bool last_stage);
std::uint64_t RankParameterCount(const ModelFacts& facts, int tensor_parallel, int layers,
                                 bool first_stage, bool last_stage);

// The runtime's settings that size memory, and where each comes from: the
// engine's from runtime.engine, vLLM's from its `vllm serve` arguments
// (runtimes/vllm_docker/vllm_serve_args.h) with vLLM's defaults (0.90 of
// each GPU, the model's context); each runtime's part in the inventory says
// (RuntimeDefinition::ApplyMemorySettings).
struct MemorySettings {
  int max_context = 0;                 // tokens one sequence may reach
  std::string max_context_origin;      // "runtime.engine.max_context", "--max-model-len" or
                                       // "the model's max_position_embeddings"
  std::string max_context_key;         // what an operator sets to change it
  double gpu_memory_fraction = 0.90;
  std::string fraction_origin;         // "runtime.engine.gpu_memory_fraction", "--gpu-memory-utilization" or "default"
  std::string fraction_key;            // what an operator sets to change it
  int kv_bytes = 0;                    // per KV cache element: the dtype's, 1 with an fp8 KV cache
  bool fp8_weights = false;            // linear layers in 1 byte (vLLM's --quantization fp8)
  std::optional<int> max_sequences;    // vLLM's --max-num-seqs
  std::vector<std::string> not_modeled;  // vLLM flags present that change memory in ways not modeled
};
// REQUIRES: dtype is not auto; the inventory passed validation.
MemorySettings RuntimeMemorySettings(const Inventory& inventory, const ModelFacts& facts, Dtype dtype);

// KV cache bytes one rank of a stage with `layers` layers stores per token.
std::uint64_t KvBytesPerToken(const ModelFacts& facts, int tensor_parallel, int layers,
                              int dtype_bytes);

// How much memory a host's GPUs have, and where the figure comes from.
struct GpuMemory {
  std::optional<std::uint64_t> bytes;  // nullopt when unknown
  std::string label;                   // "T4", "GPU" (gpu_memory without gpu_model), "cpu"
  std::string unknown_reason;          // when unknown: why, and what to set
};

// hosts[].gpu_memory when set, else the known-GPU table entry of gpu_model.
GpuMemory HostGpuMemory(const Inventory& inventory, const Host& host);

struct StageMemory {
  int stage = 0;
  std::string host;
  GpuMemory gpu;
  std::optional<std::uint64_t> usable_bytes;     // GPU memory * gpu_memory_fraction
  std::uint64_t weight_bytes = 0;                // per GPU
  std::uint64_t kv_bytes_per_token = 0;          // per GPU
  std::uint64_t reserve_bytes = kRuntimeReserveBytes;  // 0 on the CPU engine
  std::optional<std::int64_t> kv_budget_bytes;   // usable - weights - reserve; < 0: weights do not fit
  std::optional<std::uint64_t> kv_tokens;        // 0 when kv_budget_bytes <= 0
  std::optional<std::uint64_t> sequences_at_max_context;
  std::string problem;                           // why it does not fit or cannot be sized; else empty
};

enum class Fit { kFits, kDoesNotFit, kUnknown };
const char* FitName(Fit fit);  // "fits" | "does not fit" | "unknown"

struct MemoryPlan {
  Dtype dtype = Dtype::kAuto;
  MemorySettings settings;
  std::uint64_t total_weight_bytes = 0;  // the whole model at the weights' bytes per parameter
  std::vector<StageMemory> stages;       // by stage
  std::optional<std::uint64_t> kv_tokens;  // the tightest stage's; nullopt unless every stage is sized
  std::optional<std::uint64_t> sequences_at_max_context;
  Fit fit = Fit::kUnknown;
  // One line with the numbers: "fits: ...", "does not fit: stage 0 (host gpu1) needs ...",
  // or "cannot estimate memory: host local: ...".
  std::string verdict;
};

// Estimates memory per stage. REQUIRES: `placement` from PlaceRanks with the
// layers of `facts`. InvalidArgument when `dtype` is auto or the placement
// carries no layers.
StatusOr<MemoryPlan> PlanMemory(const Inventory& inventory, const Placement& placement,
                                const ModelFacts& facts, Dtype dtype);

// Human formatting shared by plan's output: decimal gigabytes with two
// decimals ("9.08 GB"; 1 GB = 1e9 bytes), or megabytes with one decimal below
// 0.1 GB ("21.0 MB"; by magnitude: "-4.22 GB"), and integers grouped by
// thousands ("211,884").
std::string FormatGigabytes(std::int64_t bytes);
std::string FormatCount(std::uint64_t n);

}  // namespace cluster::inventory
