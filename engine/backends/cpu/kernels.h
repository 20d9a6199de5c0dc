// The FP32 CPU kernels: plain loops over raw row-major float arrays, the
// reference every GPU kernel is compared with. Each kernel's math and shapes
// are stated in engine/ops/backend.h; here they take raw pointers and sizes
// and assume the caller (CpuBackend) has checked them. One kernel per file
// (linear.cc, rmsnorm.cc, qkv_rope.cc, elementwise.cc, embedding.cc,
// attention.cc, argmax.cc), each named like the CUDA kernel that must match it
// (engine/backends/cuda/).
#pragma once

#include <cstdint>

namespace engine::cpu {

// out[n, out_f] = x[n, in] . w[out_f, in]^T (+ bias[out_f] if bias != nullptr).
// Batch invariant: row i's result is bitwise independent of n and of the other rows.
void linear_forward(float* out, const float* x, const float* w, const float* bias, std::int64_t n,
                    std::int64_t in, std::int64_t out_f);

// residual += add (if add != nullptr); out = residual / sqrt(mean(residual^2) + eps) * w,
// row by row over [n, d]; sums in double.
void rmsnorm_forward(float* out, float* residual, const float* add, const float* w, std::int64_t n, std::int64_t d,
                     float eps);

// Bias, RoPE and the KV write on the fused projection qkv[n, (H + 2K) * h]
// (engine/ops/backend.h, QkvRope). Caches seen as [slots, K, h].
struct QkvRopeArgs {
  float* q_out = nullptr;
  float* k_cache = nullptr;
  float* v_cache = nullptr;
  const float* qkv = nullptr;
  const float* bias = nullptr;  // may be null
  const float* inv_freq = nullptr;
  const std::int32_t* positions = nullptr;  // [n]
  const std::int32_t* slots = nullptr;      // [n]
  std::int64_t n = 0, heads = 0, kv_heads = 0, head_dim = 0;
};
void qkv_rope_forward(const QkvRopeArgs& args);

// out[n, F] = silu(gate_up[:, :F]) * gate_up[:, F:].
void silu_mul_forward(float* out, const float* gate_up, std::int64_t n, std::int64_t F);

// out[i, :] = table[rows[i], :], d columns. Also GatherRows.
void gather_rows_forward(float* out, const float* table, const std::int32_t* rows, std::int64_t n,
                         std::int64_t d);

// Paged causal attention (engine/ops/backend.h). q, out: [n, heads, head_dim];
// caches: [slots, kv_heads, head_dim]; token i of sequence token_seq[i] at
// positions[i] reads slots of block_tables[token_seq[i] * table_stride + ...].
struct PagedAttentionArgs {
  const float* q = nullptr;
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  float* out = nullptr;
  std::int64_t n = 0, heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  int block_size = 16;
  const std::int32_t* token_seq = nullptr;     // [n]
  const std::int32_t* positions = nullptr;     // [n]
  const std::int32_t* block_tables = nullptr;  // [num_seqs, table_stride]
  std::int64_t table_stride = 0;
};
void paged_attention_forward(const PagedAttentionArgs& args);

// ids[r] = the lowest index of the largest of logits[r, :V]; NaN never wins;
// values[r] = that logit (values may be null).
void argmax_forward(std::int32_t* ids, float* values, const float* logits, std::int64_t rows, std::int64_t V);

}  // namespace engine::cpu
