// Gemm: the Linear op through cuBLASLt, FP16/BF16/FP32 in, FP32 accumulate.
//
//   out[n, o] = x[n, in] . w[o, in]^T (+ bias[o])
// cuBLAS is column-major: the row-major out is the column-major out^T
// [o, n] = (w^T)^T [o, in] . x^T [in, n], so the call is
//   m = o, n = n, k = in; A = w (ld in, transposed), B = x (ld in), D = out (ld o)
// and the bias is cuBLASLt's BIAS epilogue (a vector of m = o), or, into a
// float32 out from T weights (which that epilogue refuses), bias_add.cu after
// the product. The compute
// type is CUBLAS_COMPUTE_32F (plain FP32 accumulation; never TF32 for FP32).
//
// Why cuBLASLt for most n: for prefill-sized n it is close to the tensor
// cores' peak on every architecture from Turing to Hopper, which a
// hand-written mma.sync kernel for sm_75 would not be on Hopper. For decode
// steps (n <= kSmallBatchMaxRows) it is not: its tiles leave most of the
// memory bandwidth unused, so those steps run linear_small_batch.cu, which
// reads each weight once at close to the bandwidth limit.
//
// Two modes (CudaBackend::Create's batch_invariant):
//   fast (default): the small-batch kernel up to kSmallBatchMaxRows (4) rows, and
//     cuBLASLt's heuristic choice for each n beyond (split-K allowed). A
//     token's result then depends in the last bits on its step's size, as in
//     vLLM and other GPU engines: a greedy request usually, not always, gets
//     the same tokens alone and batched.
//   batch invariant: a token's result is independent of n, which the
//     scheduler's "same tokens alone or batched" rests on (docs/scheduler.md),
//     by one cuBLASLt algorithm per weight shape (the heuristic's choice for
//     kReferenceRows rows, split-K off) used for every n it supports; a shape
//     whose algorithm refuses some n falls back to the heuristic's choice for
//     that n, once logged. Decode steps are slower (docs/benchmarks.md).
//
// Thread safety: one thread at a time (the backend's).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "engine/status.h"
#include "engine/tensor.h"

namespace engine::cuda {

class Gemm {
 public:
  // `workspace` (device, `workspace_bytes`) must outlive this.
  Gemm(cublasLtHandle_t handle, void* workspace, std::size_t workspace_bytes, bool batch_invariant);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // out = x . w^T + bias on `stream`; x, w, bias in `t`, out in out_t (t or F32).
  Status Run(void* out, DType out_t, const void* x, const void* w, const void* bias, DType t, std::int64_t n,
             std::int64_t in, std::int64_t o, cudaStream_t stream);

  // Rows the batch-invariant algorithm is chosen for.
  static constexpr std::int64_t kReferenceRows = 512;

 private:
  struct Plan;
  using Key = std::tuple<std::int64_t, std::int64_t, std::int64_t, int, int, bool>;  // n, in, o, t, out_t, bias
  StatusOr<Plan*> PlanFor(std::int64_t n, std::int64_t in, std::int64_t o, DType t, DType out_t, bool bias);

  cublasLtHandle_t handle_;
  void* workspace_;
  std::size_t workspace_bytes_;
  bool batch_invariant_;
  std::map<Key, Plan*> plans_;
};

}  // namespace engine::cuda
