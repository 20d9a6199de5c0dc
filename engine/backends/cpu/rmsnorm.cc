// RMSNorm: out[i, :] = x[i, :] / sqrt(mean_j x[i, j]^2 + eps) * w[:].
//
// Shapes: x, out [n, d]; w [d]. The mean of squares is summed in double so
// the reference is at least as accurate as any float32 implementation; the
// scale is then applied in float, in the same order as HF (normalise, then
// multiply by the weight).
#include <cmath>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void rmsnorm_forward(float* out, const float* x, const float* w, std::int64_t n, std::int64_t d, float eps) {
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = x + i * d;
    float* out_row = out + i * d;
    double sum_sq = 0.0;
    for (std::int64_t j = 0; j < d; ++j) sum_sq += static_cast<double>(row[j]) * row[j];
    const float inv_rms = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(d) + eps));
    for (std::int64_t j = 0; j < d; ++j) out_row[j] = w[j] * (row[j] * inv_rms);
  }
}

}  // namespace engine::cpu
