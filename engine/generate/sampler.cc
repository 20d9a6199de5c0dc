#include "engine/generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/generate/logits_processors.h"

namespace engine {

bool NeedsLogitValues(const SamplingParams& p) {
  return p.temperature != 0.0 || p.repetition_penalty != 1.0 || p.presence_penalty != 0.0 ||
         p.frequency_penalty != 0.0 || p.logprobs.has_value();
}

double Sampler::NextUniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

std::int32_t Sampler::Sample(std::span<float> logits, const SamplingParams& p, std::span<const std::int32_t> prompt,
                             std::span<const std::int32_t> generated) {
  if (p.repetition_penalty != 1.0) {
    std::vector<std::int32_t> context(prompt.begin(), prompt.end());
    context.insert(context.end(), generated.begin(), generated.end());
    ApplyRepetitionPenalty(logits, context, static_cast<float>(p.repetition_penalty));
  }
  ApplyPresenceFrequencyPenalties(logits, generated, static_cast<float>(p.presence_penalty),
                                  static_cast<float>(p.frequency_penalty));
  if (p.temperature == 0.0) return ArgMax(logits);

  ApplyTemperature(logits, static_cast<float>(p.temperature));
  ApplyTopK(logits, p.top_k);
  ApplyTopP(logits, static_cast<float>(p.top_p));
  ApplyMinP(logits, static_cast<float>(p.min_p));

  const double max_logit = *std::max_element(logits.begin(), logits.end());
  double total = 0;
  for (float l : logits) total += std::exp(static_cast<double>(l) - max_logit);
  const double target = NextUniform() * total;
  double cumulative = 0;
  std::int32_t last_possible = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const double weight = std::exp(static_cast<double>(logits[i]) - max_logit);
    if (weight == 0) continue;
    last_possible = static_cast<std::int32_t>(i);
    cumulative += weight;
    if (cumulative > target) return last_possible;
  }
  return last_possible;  // rounding left u just past the total: the last possible token
}

}  // namespace engine
