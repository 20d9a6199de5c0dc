// RMSNorm with the residual add, in place on the residual stream:
//   residual[i, :] += add[i, :]                  (when add is given)
//   out[i, :] = residual[i, :] / sqrt(mean_j residual[i, j]^2 + eps) * w[:]
//
// Shapes: residual, add, out [n, d]; w [d]. The add is fused here because
// every use of a norm in the decoder follows a residual add (the attention
// block's output, then the MLP's), so a GPU reads the row once for both. The
// mean of squares is summed in double so the reference is at least as
// accurate as any float32 implementation; the scale is then applied in float,
// in the same order as HF (normalise, then multiply by the weight).
#include <cmath>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void rmsnorm_forward(float* out, float* residual, const float* add, const float* w, std::int64_t n, std::int64_t d,
                     float eps) {
  for (std::int64_t i = 0; i < n; ++i) {
    float* row = residual + i * d;
    if (add != nullptr) {
      const float* a = add + i * d;
      for (std::int64_t j = 0; j < d; ++j) row[j] += a[j];
    }
    float* out_row = out + i * d;
    double sum_sq = 0.0;
    for (std::int64_t j = 0; j < d; ++j) sum_sq += static_cast<double>(row[j]) * row[j];
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(d) + eps));
    for (std::int64_t j = 0; j < d; ++j) out_row[j] = w[j] * (row[j] * inv_rms);
  }
}

}  // namespace engine::cpu
