// The attention block's input, fused: bias, RoPE and the KV cache write.
//
// qkv: [n, (H + 2K) * h], the output of the fused q/k/v projection: for token
// i, q heads come first (H * h), then k (K * h), then v (K * h). With
// half = h / 2 and, for token i and pair j < half, a = positions[i] *
// inv_freq[j] (the product in float, as HF forms it):
//   q_out[i, head]          = rope(q + b_q)                      [n, H, h]
//   k_cache[slots[i], head] = rope(k + b_k),  v_cache[...] = v + b_v
//   rope(x)[j]        = x[j] cos a - x[j + half] sin a
//   rope(x)[j + half] = x[j + half] cos a + x[j] sin a
// ("rotate half", the layout HF Llama/Qwen2 use). cos and sin are the same
// for every head of a token, so they are computed once per token, in double
// from the float angle.
#include <cmath>
#include <vector>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {
namespace {

// dst = rope(src + bias) for one head.
void RotateHead(float* dst, const float* src, const float* bias, const float* cos_a, const float* sin_a,
                std::int64_t half) {
  for (std::int64_t j = 0; j < half; ++j) {
    const float a = src[j] + (bias ? bias[j] : 0.0f);
    const float b = src[j + half] + (bias ? bias[j + half] : 0.0f);
    dst[j] = a * cos_a[j] - b * sin_a[j];
    dst[j + half] = b * cos_a[j] + a * sin_a[j];
  }
}

}  // namespace

void qkv_rope_forward(const QkvRopeArgs& a) {
  const std::int64_t h = a.head_dim, half = h / 2;
  const std::int64_t row = (a.heads + 2 * a.kv_heads) * h;  // floats per token of qkv
  const std::int64_t kv_row = a.kv_heads * h;                // floats per cache slot
  std::vector<float> cos_a(static_cast<std::size_t>(half)), sin_a(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < a.n; ++i) {
    for (std::int64_t j = 0; j < half; ++j) {
      const float angle = static_cast<float>(a.positions[i]) * a.inv_freq[j];
      cos_a[static_cast<std::size_t>(j)] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_a[static_cast<std::size_t>(j)] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    const float* src = a.qkv + i * row;
    for (std::int64_t head = 0; head < a.heads; ++head) {
      RotateHead(a.q_out + (i * a.heads + head) * h, src + head * h, a.bias ? a.bias + head * h : nullptr,
                 cos_a.data(), sin_a.data(), half);
    }
    const std::int64_t slot = a.slots[i];
    const float* k = src + a.heads * h;
    const float* v = k + kv_row;
    const float* k_bias = a.bias ? a.bias + a.heads * h : nullptr;
    const float* v_bias = k_bias ? k_bias + kv_row : nullptr;
    for (std::int64_t g = 0; g < a.kv_heads; ++g) {
      RotateHead(a.k_cache + slot * kv_row + g * h, k + g * h, k_bias ? k_bias + g * h : nullptr, cos_a.data(),
                 sin_a.data(), half);
    }
    float* v_dst = a.v_cache + slot * kv_row;
    for (std::int64_t e = 0; e < kv_row; ++e) v_dst[e] = v[e] + (v_bias ? v_bias[e] : 0.0f);
  }
}

}  // namespace engine::cpu
