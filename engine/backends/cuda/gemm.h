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
// Why cuBLASLt and not our own kernel: for prefill-sized n it is close to the
// tensor cores' peak on every architecture from Turing to Hopper, which a
// hand-written mma.sync kernel for sm_75 would not be on Hopper. Batch
// invariance (a token's result independent of n, which the scheduler's
// determinism relies on) is kept by choosing one algorithm per weight shape
// (the heuristic's choice for kReferenceRows rows, split-K off) and using it
// for every n it supports; a shape whose algorithm refuses some n falls back
// to the heuristic's choice for that n, once logged.
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
