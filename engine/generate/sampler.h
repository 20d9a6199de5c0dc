// Sampler: chooses the next token from one row of logits.
//
// The order (fixed, so a seed reproduces a run):
//   1. repetition penalty         over prompt + generated (HF semantics)
//   2. presence/frequency penalty over generated           (OpenAI semantics)
//   3. temperature == 0: return the argmax (lowest id among ties); stop here
//   4. divide by the temperature
//   5. top-k, 6. top-p, 7. min-p     (filters: removed tokens get -inf)
//   8. softmax in double and draw: u in [0, 1) from the sampler's own
//      std::mt19937_64 (53 random bits: u = (x >> 11) * 2^-53), then the first
//      token, in id order, whose cumulative probability exceeds u.
// This follows HF generate's warper order (temperature, top-k, top-p, min-p)
// with the penalties first, as vLLM applies them. The PRNG and the draw are
// written out rather than left to std::uniform_real_distribution, whose
// output differs between standard libraries.
//
// Thread safety: one Sampler per sequence; not synchronised.
#pragma once

#include <cstdint>
#include <random>
#include <span>

#include "engine/sampling_params.h"

namespace engine {

// False when Sample's choice is the argmax of the raw logits (greedy, no
// penalties) and no log-probabilities are wanted: then the argmax, computed
// where the logits are (on the GPU), is all a step needs to send back.
bool NeedsLogitValues(const SamplingParams& params);

class Sampler {
 public:
  explicit Sampler(std::uint64_t seed) : rng_(seed) {}

  // Transforms `logits` in place (steps 1-7) and returns the chosen token.
  // REQUIRES: logits is not empty; params are valid (ValidateSamplingParams).
  std::int32_t Sample(std::span<float> logits, const SamplingParams& params, std::span<const std::int32_t> prompt,
                      std::span<const std::int32_t> generated);

  // The next uniform double in [0, 1) (step 8's u); exposed for tests.
  double NextUniform();

 private:
  std::mt19937_64 rng_;
};

}  // namespace engine
