// RoPE, rotate-half layout (HF Llama/Qwen2), in place.
//
// x: [n, heads, head_dim]; positions: [n]; inv_freq: [head_dim / 2].
// For token i and pair j < head_dim/2, a = positions[i] * inv_freq[j] (the
// product in float, as HF forms it), then
//   x[j]          <- x[j] cos a - x[j + half] sin a
//   x[j + half]   <- x[j + half] cos a + x[j] sin a
// cos and sin are the same for every head of a token, so they are computed
// once per token.
#include <cmath>
#include <vector>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void rope_forward(float* x, const std::int32_t* positions, const float* inv_freq, std::int64_t n,
                  std::int64_t heads, std::int64_t head_dim) {
  const std::int64_t half = head_dim / 2;
  std::vector<float> cos_a(static_cast<std::size_t>(half)), sin_a(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < half; ++j) {
      const float angle = static_cast<float>(positions[i]) * inv_freq[j];
      cos_a[static_cast<std::size_t>(j)] = static_cast<float>(std::cos(static_cast<double>(angle)));
      sin_a[static_cast<std::size_t>(j)] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
    for (std::int64_t h = 0; h < heads; ++h) {
      float* v = x + (i * heads + h) * head_dim;
      for (std::int64_t j = 0; j < half; ++j) {
        const float c = cos_a[static_cast<std::size_t>(j)];
        const float s = sin_a[static_cast<std::size_t>(j)];
        const float a = v[j];
        const float b = v[j + half];
        v[j] = a * c - b * s;
        v[j + half] = b * c + a * s;
      }
    }
  }
}

}  // namespace engine::cpu
