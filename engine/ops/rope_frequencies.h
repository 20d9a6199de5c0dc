// Rotary position embedding (RoPE): the inverse frequencies.
//
// The math. For a head of size d (even), pair i in [0, d/2) rotates by the
// angle  position * inv_freq[i],  with the plain ("default") frequencies
//   inv_freq[i] = 1 / theta^(2i / d).
// Llama 3 ("llama3" rope type) rescales them for long context. With
// factor f, low_freq_factor l, high_freq_factor h and the original context
// length L, and the wavelength w_i = 2*pi / inv_freq[i]:
//   w_i < L / h            (high frequency): unchanged
//   w_i > L / l            (low frequency):  inv_freq[i] / f
//   otherwise (between):   s = (L / w_i - l) / (h - l)
//                          (1 - s) * inv_freq[i] / f + s * inv_freq[i]
// which matches transformers' `_compute_llama3_parameters`. Llama 3 keeps the
// attention scaling at 1, so the frequencies are all that changes.
//
// Applying the rotation is a backend op (Backend::Rope); the frequencies are
// computed once per model here, on the host, in double precision and stored
// as float.
#pragma once

#include <vector>

#include "engine/status.h"

namespace engine {

enum class RopeType { kDefault, kLlama3 };

struct RopeParameters {
  RopeType type = RopeType::kDefault;
  double theta = 10000.0;
  // Only for kLlama3:
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  double original_max_position_embeddings = 8192.0;
};

// inv_freq for a head of `head_dim` (d/2 values). InvalidArgument if
// head_dim is not a positive even number, theta <= 0, or llama3 factors are
// not positive with high_freq_factor > low_freq_factor.
StatusOr<std::vector<float>> RopeInverseFrequencies(int head_dim, const RopeParameters& rope);

}  // namespace engine
