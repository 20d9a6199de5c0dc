#include "engine/generate/logits_processors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace engine {
namespace {

constexpr float kRemoved = -std::numeric_limits<float>::infinity();

bool InRange(std::int32_t id, std::span<float> logits) {
  return id >= 0 && static_cast<std::size_t>(id) < logits.size();
}

// Token ids ordered by decreasing logit, ties by increasing id.
std::vector<std::int32_t> ByDecreasingLogit(std::span<const float> logits) {
  std::vector<std::int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
    return logits[static_cast<std::size_t>(a)] > logits[static_cast<std::size_t>(b)];
  });
  return order;
}

}  // namespace

void ApplyRepetitionPenalty(std::span<float> logits, std::span<const std::int32_t> context, float penalty) {
  if (penalty == 1.0f) return;
  std::unordered_set<std::int32_t> seen;
  for (std::int32_t id : context) {
    if (!InRange(id, logits) || !seen.insert(id).second) continue;
    float& l = logits[static_cast<std::size_t>(id)];
    l = l > 0 ? l / penalty : l * penalty;
  }
}

void ApplyPresenceFrequencyPenalties(std::span<float> logits, std::span<const std::int32_t> generated,
                                     float presence, float frequency) {
  if (presence == 0.0f && frequency == 0.0f) return;
  std::unordered_map<std::int32_t, int> count;
  for (std::int32_t id : generated) {
    if (InRange(id, logits)) ++count[id];
  }
  for (const auto& [id, n] : count) {
    logits[static_cast<std::size_t>(id)] -= presence + frequency * static_cast<float>(n);
  }
}

void ApplyTemperature(std::span<float> logits, float temperature) {
  for (float& l : logits) l /= temperature;
}

void ApplyTopK(std::span<float> logits, std::int64_t k) {
  if (k <= 0 || static_cast<std::size_t>(k) >= logits.size()) return;
  std::vector<float> sorted(logits.begin(), logits.end());
  std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end(), std::greater<float>());
  const float kth = sorted[static_cast<std::size_t>(k - 1)];
  for (float& l : logits) {
    if (l < kth) l = kRemoved;
  }
}

void ApplyTopP(std::span<float> logits, float top_p) {
  if (top_p >= 1.0f || logits.empty()) return;
  const std::vector<std::int32_t> order = ByDecreasingLogit(logits);
  const double max_logit = logits[static_cast<std::size_t>(order[0])];
  double total = 0;
  for (float l : logits) total += std::exp(static_cast<double>(l) - max_logit);
  double mass_before = 0;
  for (std::int32_t id : order) {
    float& l = logits[static_cast<std::size_t>(id)];
    if (mass_before >= top_p) {
      l = kRemoved;
    } else {
      mass_before += std::exp(static_cast<double>(l) - max_logit) / total;
    }
  }
}

void ApplyMinP(std::span<float> logits, float min_p) {
  if (min_p <= 0.0f || logits.empty()) return;
  const float max_logit = *std::max_element(logits.begin(), logits.end());
  const double threshold = static_cast<double>(max_logit) + std::log(static_cast<double>(min_p));
  for (float& l : logits) {
    if (static_cast<double>(l) < threshold) l = kRemoved;
  }
}

std::int32_t ArgMax(std::span<const float> logits) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < logits.size(); ++i) {
    // NaN never wins: a number replaces a NaN best, and no comparison with NaN is true.
    if (logits[i] > logits[best] || (std::isnan(logits[best]) && !std::isnan(logits[i]))) best = i;
  }
  return static_cast<std::int32_t>(best);
}

}  // namespace engine
