// The CUDA kernels' launchers: host functions that size the grid, check
// their assumptions and enqueue one kernel on `stream`. One kernel per .cu
// file, each named like the CPU reference it must match
// (engine/backends/cpu/kernels.h) and opening with its math, shapes and
// memory choices. Shapes and dtypes were checked by CudaBackend
// (engine/ops/op_checks.h); these take raw device pointers.
//
// Element types: "T" is the compute dtype, one of F32, F16, BF16, passed as
// `t`; kernels are templates over float, __half and __nv_bfloat16 and convert
// to float for arithmetic (the tensor-core products of attention_tensor_core.cu
// take T directly). Only instructions every supported GPU has are used
// (compute capability 7.5 and up: mma.sync only in the m16n8k8 shape; cp.async
// only in a variant chosen at launch on 8.0 and up, attention_tensor_core.cu;
// BF16 kernels run only on 8.0 and up, where BF16 exists).
//
// Every launcher returns the launch error (cudaGetLastError) or cudaSuccess.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/dtype.h"

namespace engine::cuda {

// dst[i] = src[i] converted from src_t to dst_t (F32/F16/BF16, any pair), for
// `count` elements. A value beyond dst_t's largest finite value is saturated
// to it; such values and NaN are counted in *out_of_range, and the largest
// |value| among them is max-ed into *largest_bits (a float's bits, which order
// like the floats for non-negative values; NaN orders above infinity).
cudaError_t convert_forward(void* dst, DType dst_t, const void* src, DType src_t, std::int64_t count,
                            unsigned long long* out_of_range, unsigned int* largest_bits, cudaStream_t stream);

// out[i, :] = table[ids[i], :]; out is F32 or T.
cudaError_t embedding_forward(void* out, DType out_t, const void* table, DType t, const std::int32_t* ids,
                              std::int64_t n, std::int64_t d, cudaStream_t stream);

// residual += add (if add); out = rmsnorm(residual) * w. residual F32, add/w/out T.
cudaError_t rmsnorm_forward(void* out, float* residual, const void* add, const void* w, DType t, std::int64_t n,
                            std::int64_t d, float eps, cudaStream_t stream);

struct QkvRopeArgs {
  void* q_out = nullptr;
  void* k_cache = nullptr;
  void* v_cache = nullptr;
  const void* qkv = nullptr;
  const void* bias = nullptr;  // may be null
  const float* inv_freq = nullptr;
  const std::int32_t* positions = nullptr;
  const std::int32_t* slots = nullptr;
  std::int64_t n = 0, heads = 0, kv_heads = 0, head_dim = 0;
};
cudaError_t qkv_rope_forward(const QkvRopeArgs& args, DType t, cudaStream_t stream);

struct PagedAttentionArgs {
  const void* q = nullptr;
  const void* k_cache = nullptr;
  const void* v_cache = nullptr;
  void* out = nullptr;
  std::int64_t n = 0, heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  int block_size = 16;
  const std::int32_t* positions = nullptr;     // [n]
  const std::int32_t* query_start = nullptr;   // [S + 1]
  const std::int32_t* block_tables = nullptr;  // [S, table_stride]
  std::int64_t table_stride = 0;
  std::int64_t num_seqs = 0;
  std::int64_t max_query_len = 0;
  std::int64_t max_context_len = 0;
  float* scratch = nullptr;  // split-KV partial results
  std::int64_t scratch_elements = 0;
  int num_sms = 1;  // of the device, to decide how far to split long contexts
  // Whether a sequence's key range may be split over blocks. How far it is
  // split depends on the other sequences of the step, and so do the last
  // bits of the merged result: --batch-invariant turns splitting off.
  bool may_split = true;
};
// Largest head_dim the attention kernel supports.
constexpr std::int64_t kMaxAttentionHeadDim = 256;
// Scratch floats the attention kernel may use for steps of up to `max_seqs`
// decoding sequences with `heads` heads of `head_dim`.
std::int64_t paged_attention_scratch_elements(std::int64_t max_seqs, std::int64_t heads, std::int64_t head_dim);
cudaError_t paged_attention_forward(const PagedAttentionArgs& args, DType t, cudaStream_t stream);
// The same on tensor cores (attention_tensor_core.cu): F16, and BF16 where
// the running code was compiled for 8.0 or newer; head_dim a multiple of 8
// up to 128 (whether it takes the step: ..._supported).
bool paged_attention_tensor_core_supported(const PagedAttentionArgs& args, DType t);
cudaError_t paged_attention_tensor_core_forward(const PagedAttentionArgs& args, DType t, cudaStream_t stream);

// out[n, F] = silu(gate_up[:, :F]) * gate_up[:, F:].
cudaError_t silu_mul_forward(void* out, const void* gate_up, DType t, std::int64_t n, std::int64_t F,
                             cudaStream_t stream);

// out[n, o] = x[n, in] . w[o, in]^T (+ bias[o]) for a few rows: the decode
// steps' Linear, reading each weight once (linear_small_batch.cu). out is T
// or F32; bias T or null. Batch invariant across every n it takes.
constexpr std::int64_t kSmallBatchMaxRows = 4;  // beyond it cuBLASLt is faster (linear_small_batch.cu)
// Whether linear_small_batch_forward takes these arguments: 1 <= n <=
// kSmallBatchMaxRows, `in` a whole number of 16-byte vectors, x and w
// 16-byte aligned, a floating-point t.
bool linear_small_batch_supported(const void* x, const void* w, DType t, std::int64_t n, std::int64_t in);
cudaError_t linear_small_batch_forward(void* out, DType out_t, const void* x, const void* w, const void* bias, DType t,
                                       std::int64_t n, std::int64_t in, std::int64_t o, cudaStream_t stream);

// out[i, :] += bias (a Linear's bias into float32 output; bias in T).
cudaError_t bias_add_forward(float* out, const void* bias, DType t, std::int64_t n, std::int64_t F,
                             cudaStream_t stream);
// out[r, :] = x[rows[r], :].
cudaError_t gather_rows_forward(void* out, const void* x, DType t, const std::int32_t* rows, std::int64_t R,
                                std::int64_t d, cudaStream_t stream);

// ids[r] = argmax over logits[r, :V] (lowest index among ties; NaN never
// wins); values[r] = that logit (values may be null).
cudaError_t argmax_forward(std::int32_t* ids, float* values, const float* logits, std::int64_t rows, std::int64_t V,
                           cudaStream_t stream);

}  // namespace engine::cuda
