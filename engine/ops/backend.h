// Backend: allocates tensors and runs the ops a transformer needs.
//
// The model (engine/model) is written against this interface only; CpuBackend
// (engine/backends/cpu, FP32) is the reference every other backend is tested
// against (tests/engine/ops/backend_conformance_test.cc runs the same cases on
// every backend), and CudaBackend (engine/backends/cuda, FP16/BF16/FP32)
// implements the same calls.
//
// Conventions for every op:
//   - The caller owns every output: ops write into tensors it allocated
//     (usually views of a workspace sized at start-up) and never allocate, so
//     a step allocates nothing and runs at fixed addresses (what CUDA graph
//     capture needs). Outputs come first in the argument list (llm.c style).
//   - Shapes are row-major; n is the number of tokens in the step, d the
//     hidden size, H/K the query/kv heads, h the head dim, F the
//     intermediate size, V the vocabulary.
//   - Dtypes: "T" below is compute_dtype() (F32 on CpuBackend; F16, BF16 or
//     F32 on CudaBackend). The residual stream is always F32, logits are F32,
//     index tensors are I32.
//   - Ops check the shapes and dtypes of their arguments and return
//     InvalidArgument naming the op and the offending shapes; they never abort.
//     Index values (token ids, slots, block tables) are validated on the host
//     before upload (StepBuffers::Upload), not by the ops.
//   - Ops may run asynchronously on a device: results are visible to the host
//     after CopyToHost (which waits) or Synchronize. Errors of the device
//     itself (a fault, an out-of-memory) may surface at the next call.
//   - Each fused op has the same fused op in the CPU reference.
//
// Thread safety: a Backend is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/ops/step_tensors.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

// What narrowing a value to a smaller float type changed. A value beyond the
// destination's largest finite value (65504 for F16) is saturated to it, never
// turned into infinity, and counted here; NaN stays NaN and is counted too.
struct ConversionReport {
  std::int64_t out_of_range = 0;
  float largest_magnitude = 0;  // the largest |value| seen among those out of range

  void Merge(const ConversionReport& other);
};

// A step's ops as recorded by Backend::EndRecording, to be replayed.
class Recording {
 public:
  virtual ~Recording() = default;
};

struct DeviceMemory {
  std::size_t total_bytes = 0;
  std::size_t free_bytes = 0;  // free on the whole device, as the driver reports it
};

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu", "cuda:0", ...
  virtual std::string_view name() const = 0;
  // A description for logs: "cpu (float32)", "cuda:0 NVIDIA H200, compute capability 9.0 (float16)".
  virtual std::string Describe() const = 0;
  // T: the dtype weights and activations are computed in.
  virtual DType compute_dtype() const = 0;
  // The device's memory, or nullopt for host memory (CpuBackend).
  virtual std::optional<DeviceMemory> Memory() = 0;
  // The queue the ops run on (a cudaStream_t on CUDA), for communicators
  // whose work must be ordered with the backend's; nullptr on the CPU.
  virtual void* native_stream() { return nullptr; }

  // --- Memory (start-up time, never inside a step) ---

  // A zero-filled tensor of `shape` and `dtype`. ResourceExhausted when the
  // device is out of memory, naming the bytes asked for.
  virtual StatusOr<Tensor> Allocate(const Shape& shape, DType dtype) = 0;

  // Copies `src` into `dst` (a tensor or a view of one), converting from
  // src.dtype to dst.dtype (any of F32, F16, BF16 to any of them; I32 to I32
  // only). REQUIRES src.rows * src.cols == dst.num_elements(). Narrowing
  // saturates out-of-range values and reports them (see ConversionReport).
  virtual StatusOr<ConversionReport> CopyFromHost(Tensor& dst, const HostMatrix& src) = 0;

  // Copies `src`'s bytes, in its dtype, to `dst` (src.num_bytes() bytes), once
  // the work queued before has finished.
  virtual Status CopyToHost(void* dst, const Tensor& src) = 0;

  // Returns when the work queued so far has finished; the first device error
  // since the last call otherwise.
  virtual Status Synchronize() = 0;

  // --- Ops ---

  // out[i, :] = table[ids[i], :], converted to out's dtype.
  // table: [V, d] T; ids: [n] I32 (in [0, V), checked by the caller); out: [n, d] F32 or T.
  virtual Status Embedding(Tensor& out, const Tensor& table, const Tensor& ids) = 0;

  // RMSNorm with an optional residual add, in place on the residual stream:
  //   if add is not empty:  residual += add
  //   out[i, :] = residual[i, :] / sqrt(mean_j residual[i, j]^2 + eps) * weight[:]
  // residual: [n, d] F32; add: [n, d] T or empty; weight: [d] T; out: [n, d] T.
  virtual Status RmsNorm(Tensor& out, Tensor& residual, const Tensor& add, const Tensor& weight, float eps) = 0;

  // HF Linear: out[n, o] = x[n, in] . weight[o, in]^T + bias[o], accumulated in F32.
  // x: T; weight: T, stored as HF stores it, [out, in]; bias: [o] T or empty;
  // out: T, or F32 (the LM head's logits).
  virtual Status Linear(Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) = 0;

  // The attention block's input, fused: bias, RoPE and the KV cache write.
  // qkv: [n, (H + 2K) * h] T, the fused q/k/v projection (q columns first,
  // then k, then v). With b = bias ([(H + 2K) * h] T, or empty for zero):
  //   q = qkv[:, :H*h] + b_q,  k = ... + b_k,  v = ... + b_v
  //   q_out = rope(q, positions)                       [n, H, h] T
  //   k_cache[slots[i]] = rope(k[i], positions[i]); v_cache[slots[i]] = v[i]
  // with caches [blocks, block_size, K, h] T and rope the "rotate half"
  // rotation HF Llama uses: with half = h / 2, a = positions[i] * inv_freq[j]
  // (the product in float), for j < half:
  //   x'[j]        = x[j] cos a - x[j + half] sin a
  //   x'[j + half] = x[j + half] cos a + x[j] sin a
  // inv_freq: [h / 2] F32.
  virtual Status QkvRope(Tensor& q_out, Tensor& k_cache, Tensor& v_cache, const Tensor& qkv, const Tensor& bias,
                         const Tensor& inv_freq, const StepTensors& step) = 0;

  // Causal attention over the paged cache. For token i of sequence s at
  // position P and query head j with kv head g = j / (H / K) (grouped-query
  // attention):
  //   score[p] = scale * q[i, j, :] . K_s[p, g, :]     for p in [0, P]
  //   out[i, j, :] = sum_p softmax(score)[p] * V_s[p, g, :]
  // where K_s[p] is k_cache at slot(s, p). q, out: [n, H, h] T; caches
  // [blocks, block_size, K, h] T. REQUIRES: H is a multiple of K, and every
  // position [0, P] of s is in the cache (this step's keys written by QkvRope).
  // scratch: F32 [AttentionScratchElements(...)] (empty when that is 0), for
  // a backend that splits long contexts into parts and merges them.
  virtual Status PagedAttention(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                const StepTensors& step, float scale, Tensor& scratch) = 0;

  // Elements of the F32 scratch PagedAttention needs for steps within
  // `limits` with `heads` query heads of `head_dim`; the caller allocates it
  // once with the rest of its workspace.
  virtual std::int64_t AttentionScratchElements(const StepLimits& limits, std::int64_t heads,
                                                std::int64_t head_dim) const = 0;

  // The SwiGLU gate on the fused gate/up projection: with gate = gate_up[:, :F]
  // and up = gate_up[:, F:], out = silu(gate) * up, silu(g) = g / (1 + e^-g).
  // gate_up: [n, 2F] T; out: [n, F] T.
  virtual Status SiluMul(Tensor& out, const Tensor& gate_up) = 0;

  // out[r, :] = x[rows[r], :]. x: [n, d] T; rows: [R] I32 in [0, n); out: [R, d] T.
  virtual Status GatherRows(Tensor& out, const Tensor& x, const Tensor& rows) = 0;

  // ids[r] = the index of the largest logits[r, :], the lowest index among
  // equal largest values; NaN never wins (a row of NaN gives 0). The same rule as
  // the sampler's host ArgMax (engine/generate/logits_processors.h).
  // values[r] = logits[r, ids[r]] (what a vocab-parallel rank compares with
  // the others'). logits: [R, V] F32; ids: [R] I32; values: [R] F32 or empty.
  virtual Status ArgMax(Tensor& ids, Tensor& values, const Tensor& logits) = 0;

  // --- Recorded steps (CUDA graphs) ---
  //
  // A backend that can record a step's ops once and replay them returns true
  // from CanRecord: a replay costs the device one launch instead of one per
  // op, and the host nothing per op. Between BeginRecording and EndRecording
  // ops are recorded, not run; they must not read results back (CopyToHost,
  // Synchronize). Every BeginRecording must be followed by EndRecording, also
  // when an op in between failed (EndRecording then fails too). Replay runs
  // the recorded ops on the tensors they were recorded with, reading what
  // those hold at the time, with the recorded launch shapes: the caller keeps
  // a recording only while its tensors live and replays it only for steps
  // whose host-side sizes (StepTensors) equal the recorded step's.
  virtual bool CanRecord() const { return false; }
  virtual Status BeginRecording() { return cluster::FailedPreconditionError(std::string(name()) + ": cannot record"); }
  virtual StatusOr<std::unique_ptr<Recording>> EndRecording() {
    return cluster::FailedPreconditionError(std::string(name()) + ": cannot record");
  }
  virtual Status Replay(const Recording&) {
    return cluster::FailedPreconditionError(std::string(name()) + ": cannot replay");
  }
};

}  // namespace engine
