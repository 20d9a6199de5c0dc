#include "engine/generate/logprobs.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace engine {

PositionLogprobs ComputeLogprobs(std::span<const float> raw_logits, std::int32_t chosen, int top_n) {
  const double max_logit = *std::max_element(raw_logits.begin(), raw_logits.end());
  double total = 0;
  for (float l : raw_logits) total += std::exp(static_cast<double>(l) - max_logit);
  const double log_total = std::log(total) + max_logit;
  auto logprob = [&](std::int32_t t) {
    return static_cast<float>(static_cast<double>(raw_logits[static_cast<std::size_t>(t)]) - log_total);
  };

  PositionLogprobs out;
  out.chosen = {chosen, logprob(chosen)};
  const std::size_t n = std::min(raw_logits.size(), static_cast<std::size_t>(std::max(top_n, 0)));
  std::vector<std::int32_t> ids(raw_logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(),
                    [&](std::int32_t a, std::int32_t b) {
                      const float la = raw_logits[static_cast<std::size_t>(a)];
                      const float lb = raw_logits[static_cast<std::size_t>(b)];
                      return la > lb || (la == lb && a < b);
                    });
  for (std::size_t i = 0; i < n; ++i) out.top.push_back({ids[i], logprob(ids[i])});
  return out;
}

}  // namespace engine
