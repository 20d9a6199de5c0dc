// What `infer-engine bench` checks besides speed: that the engine it timed,
// with every optimisation on, picks the greedy tokens an unoptimised engine
// picks. A run of the timed engine decodes a few sequences greedily; an
// engine without recorded steps and with the batch-invariant GEMM and
// attention (--eager --batch-invariant) is then fed the same tokens, step
// by step, and its argmax at each position is compared. Fed the same
// inputs, the two can differ only where rounding decides between two
// near-equal logits: each difference is reported with the unoptimised
// engine's margin there (its top logit less its logit of the timed engine's
// pick), which shows whether it is such a near-tie.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/model/kv_cache.h"
#include "engine/model/language_model.h"
#include "engine/status.h"

namespace engine::tools {

struct GreedyTrace {
  // [sequence][t]: the argmax after the prompt (t = 0), then after each
  // decode step.
  std::vector<std::vector<std::int32_t>> tokens;
  // With a followed trace: [sequence][t] this model's top logit less its
  // logit of the followed trace's token there (0 where they agree).
  std::vector<std::vector<float>> margins;
};

// Prefills `prompts` in one step, then runs `steps` decode steps of all the
// sequences together. Each decode step's input is the previous argmax: this
// trace's own, or `follow`'s when given (then every row's logits come back,
// for the margins). The KV blocks are reserved here and given back.
// REQUIRES: follow, if given, came from the same prompts and steps.
StatusOr<GreedyTrace> TraceGreedy(LanguageModel& model, KvCache& cache,
                                  const std::vector<std::vector<std::int32_t>>& prompts, int steps,
                                  const GreedyTrace* follow = nullptr);

struct GreedyCheck {
  std::int64_t positions = 0, same = 0;
  double largest_margin = 0;  // over the positions that differ
};

// `timed`'s tokens against `reference`'s, which followed it.
GreedyCheck CompareTraces(const GreedyTrace& timed, const GreedyTrace& reference);

}  // namespace engine::tools
