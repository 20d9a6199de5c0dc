// Paged causal attention with grouped-query heads.
//
// Shapes: q, out [n, heads, head_dim]; k_cache, v_cache [slots, kv_heads,
// head_dim] where slot(s, p) = block_tables[s, p / block_size] * block_size
// + p % block_size (block_tables is [num_seqs, table_stride]). Token i
// (sequence s = token_seq[i], position P = positions[i]) and query head h
// read kv head g = h / (heads / kv_heads):
//   score[j] = scale * q[i, h, :] . k_cache[slot(s, j), g, :]   j in [0, P]
//   p = softmax(score)           (max subtracted first; sum in double)
//   out[i, h, :] = sum_j p[j] * v_cache[slot(s, j), g, :]
// Memory: one score buffer of P + 1 floats per (token, head); nothing else.
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void paged_attention_forward(const PagedAttentionArgs& a) {
  const std::int64_t group = a.heads / a.kv_heads;
  const std::int64_t kv_row = a.kv_heads * a.head_dim;  // floats per slot
  std::vector<float> scores;
  std::vector<std::int64_t> slots;
  for (std::int64_t i = 0; i < a.n; ++i) {
    const std::int32_t* table = a.block_tables + a.token_seq[i] * a.table_stride;
    const std::int64_t context = static_cast<std::int64_t>(a.positions[i]) + 1;
    slots.resize(static_cast<std::size_t>(context));
    for (std::int64_t j = 0; j < context; ++j) {
      slots[static_cast<std::size_t>(j)] =
          static_cast<std::int64_t>(table[j / a.block_size]) * a.block_size + j % a.block_size;
    }
    scores.resize(static_cast<std::size_t>(context));
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const std::int64_t g = h / group;
      const float* q = a.q + (i * a.heads + h) * a.head_dim;
      float max_score = -INFINITY;
      for (std::int64_t j = 0; j < context; ++j) {
        const float* k = a.k_cache + slots[static_cast<std::size_t>(j)] * kv_row + g * a.head_dim;
        float dot = 0.0f;
        for (std::int64_t e = 0; e < a.head_dim; ++e) dot += q[e] * k[e];
        const float s = dot * a.scale;
        scores[static_cast<std::size_t>(j)] = s;
        max_score = std::max(max_score, s);
      }
      double sum = 0.0;
      for (std::int64_t j = 0; j < context; ++j) {
        const float e = std::exp(scores[static_cast<std::size_t>(j)] - max_score);
        scores[static_cast<std::size_t>(j)] = e;
        sum += e;
      }
      const float inv_sum = static_cast<float>(1.0 / sum);
      float* out = a.out + (i * a.heads + h) * a.head_dim;
      std::fill(out, out + a.head_dim, 0.0f);
      for (std::int64_t j = 0; j < context; ++j) {
        const float p = scores[static_cast<std::size_t>(j)] * inv_sum;
        const float* v = a.v_cache + slots[static_cast<std::size_t>(j)] * kv_row + g * a.head_dim;
        for (std::int64_t e = 0; e < a.head_dim; ++e) out[e] += p * v[e];
      }
    }
  }
}

}  // namespace engine::cpu
