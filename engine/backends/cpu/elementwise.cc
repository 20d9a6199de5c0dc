// Elementwise ops over `count` contiguous floats.
//   silu_mul: out = silu(gate) * up, silu(g) = g / (1 + exp(-g))  (the SwiGLU MLP gate)
//   add:      out = a + b                                         (residual connections)
// out may alias an input.
#include <cmath>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void silu_mul_forward(float* out, const float* gate, const float* up, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void add_forward(float* out, const float* a, const float* b, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) out[i] = a[i] + b[i];
}

}  // namespace engine::cpu
