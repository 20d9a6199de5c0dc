#include "engine/ops/rope_frequencies.h"

#include <cmath>
#include <numbers>
#include <string>

namespace engine {

StatusOr<std::vector<float>> RopeInverseFrequencies(int head_dim, const RopeParameters& rope) {
  using cluster::InvalidArgumentError;
  if (head_dim <= 0 || head_dim % 2 != 0) {
    return InvalidArgumentError("rope: head_dim must be a positive even number, got " + std::to_string(head_dim));
  }
  if (!(rope.theta > 0)) return InvalidArgumentError("rope: rope_theta must be positive");
  if (rope.type == RopeType::kLlama3) {
    if (!(rope.factor > 0) || !(rope.low_freq_factor > 0) || !(rope.original_max_position_embeddings > 0) ||
        !(rope.high_freq_factor > rope.low_freq_factor)) {
      return InvalidArgumentError(
          "rope: llama3 scaling needs factor > 0, low_freq_factor > 0, original_max_position_embeddings > 0 "
          "and high_freq_factor > low_freq_factor");
    }
  }
  const int half = head_dim / 2;
  std::vector<float> inv_freq(static_cast<std::size_t>(half));
  for (int i = 0; i < half; ++i) {
    double f = 1.0 / std::pow(rope.theta, (2.0 * i) / head_dim);
    if (rope.type == RopeType::kLlama3) {
      const double wavelen = 2.0 * std::numbers::pi / f;
      const double low_freq_wavelen = rope.original_max_position_embeddings / rope.low_freq_factor;
      const double high_freq_wavelen = rope.original_max_position_embeddings / rope.high_freq_factor;
      if (wavelen > low_freq_wavelen) {
        f = f / rope.factor;
      } else if (wavelen >= high_freq_wavelen) {
        const double s = (rope.original_max_position_embeddings / wavelen - rope.low_freq_factor) /
                         (rope.high_freq_factor - rope.low_freq_factor);
        f = (1.0 - s) * f / rope.factor + s * f;
      }
    }
    inv_freq[static_cast<std::size_t>(i)] = static_cast<float>(f);
  }
  return inv_freq;
}

}  // namespace engine
