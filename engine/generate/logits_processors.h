// The logit transforms of sampling, each a pure function on one row of
// float32 logits (the vocabulary), in place. Sampler (sampler.h) applies them
// in its documented order; each is tested alone.
//
// Removing a token means setting its logit to -infinity, so it gets
// probability 0 and can never be drawn. Every filter keeps at least the most
// likely token. Ties are broken toward the lower token id wherever an order
// matters, so results do not depend on the sort implementation.
#pragma once

#include <cstdint>
#include <span>

namespace engine {

// HF's RepetitionPenaltyLogitsProcessor: for each distinct token in
// `context` (prompt and generated so far), logit / penalty if the logit is
// positive, logit * penalty otherwise. Ids outside the row are ignored.
void ApplyRepetitionPenalty(std::span<float> logits, std::span<const std::int32_t> context, float penalty);

// OpenAI's presence and frequency penalties over the generated tokens:
//   logit[t] -= presence * (count[t] > 0) + frequency * count[t].
void ApplyPresenceFrequencyPenalties(std::span<float> logits, std::span<const std::int32_t> generated,
                                     float presence, float frequency);

// logit /= temperature. REQUIRES: temperature > 0.
void ApplyTemperature(std::span<float> logits, float temperature);

// Keeps the k largest logits and any equal to the k-th; removes the rest.
// k <= 0 or k >= size: no change.
void ApplyTopK(std::span<float> logits, std::int64_t k);

// Nucleus sampling: in order of decreasing probability, keeps tokens while the
// mass of the tokens before them is < top_p (so the kept set is the smallest
// prefix whose mass reaches top_p); removes the rest. top_p >= 1: no change.
void ApplyTopP(std::span<float> logits, float top_p);

// Removes tokens whose probability is < min_p * the largest probability
// (equivalently logit < max_logit + ln(min_p)). min_p <= 0: no change.
void ApplyMinP(std::span<float> logits, float min_p);

// The lowest id among the largest logits; NaN never wins (all NaN: 0).
std::int32_t ArgMax(std::span<const float> logits);

}  // namespace engine
