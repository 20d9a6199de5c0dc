// The FP32 CPU kernels: plain loops over raw row-major float arrays, the
// reference every GPU kernel is compared with. Each kernel's math and shapes
// are stated in engine/ops/backend.h; here they take raw pointers and sizes
// and assume the caller (CpuBackend) has checked them. One kernel per file
// (linear.cc, rmsnorm.cc, rope.cc, elementwise.cc, embedding.cc, attention.cc).
#pragma once

#include <cstdint>

namespace engine::cpu {

// out[n, out_f] = x[n, in] . w[out_f, in]^T (+ bias[out_f] if bias != nullptr).
// Batch invariant: row i's result is bitwise independent of n and of the other rows.
void linear_forward(float* out, const float* x, const float* w, const float* bias, std::int64_t n,
                    std::int64_t in, std::int64_t out_f);

// out[n, d] = x / sqrt(mean(x^2) + eps) * w, row by row; sums in double.
void rmsnorm_forward(float* out, const float* x, const float* w, std::int64_t n, std::int64_t d, float eps);

// In place on x[n, heads, head_dim], rotate-half layout.
void rope_forward(float* x, const std::int32_t* positions, const float* inv_freq, std::int64_t n,
                  std::int64_t heads, std::int64_t head_dim);

// out = silu(gate) * up over `count` elements.
void silu_mul_forward(float* out, const float* gate, const float* up, std::int64_t count);

// out = a + b over `count` elements.
void add_forward(float* out, const float* a, const float* b, std::int64_t count);

// out[i, :] = table[rows[i], :], d columns. Also GatherRows.
void gather_rows_forward(float* out, const float* table, const std::int32_t* rows, std::int64_t n,
                         std::int64_t d);

// cache[slots[i], :] = x[i, :] with `row` floats per slot (kv_heads * head_dim).
void kv_write_forward(float* cache, const float* x, const std::int64_t* slots, std::int64_t n, std::int64_t row);

// Paged causal attention (engine/ops/backend.h). q, out: [n, heads, head_dim];
// caches: [slots, kv_heads, head_dim]; context of token i: slots
// slot_tables[seq[i]] for positions [0, positions[i]].
struct PagedAttentionArgs {
  const float* q = nullptr;
  const float* k_cache = nullptr;
  const float* v_cache = nullptr;
  float* out = nullptr;
  std::int64_t n = 0, heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 1.0f;
  int block_size = 16;
  const std::int32_t* token_seq = nullptr;  // [n]
  const std::int32_t* positions = nullptr;  // [n]
  const std::int32_t* const* block_tables = nullptr;  // [num_seqs] -> blocks
};
void paged_attention_forward(const PagedAttentionArgs& args);

}  // namespace engine::cpu
