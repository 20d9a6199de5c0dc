// SamplingParams: how to choose each next token and when to stop. The
// request-level settings a server parses its JSON into, and the flags of
// `infer-engine generate`.
//
// The transforms run in a fixed, documented order (engine/generate/sampler.h):
//   repetition penalty -> presence/frequency penalties -> (temperature == 0:
//   argmax) -> temperature -> top-k -> top-p -> min-p -> draw.
// A setting at its default disables its step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"

namespace engine {

struct SamplingParams {
  // 0 chooses the most likely token (greedy); otherwise logits are divided by it.
  double temperature = 1.0;
  // Keep the k most likely tokens (and any tied with the k-th); 0 disables.
  std::int64_t top_k = 0;
  // Keep the most likely tokens until their probability mass reaches top_p; 1 disables.
  double top_p = 1.0;
  // Drop tokens less likely than min_p times the most likely one; 0 disables.
  double min_p = 0.0;
  // HF semantics, over the prompt and the generated tokens: a seen token's
  // logit is divided by the penalty when positive, multiplied when negative. 1 disables.
  double repetition_penalty = 1.0;
  // OpenAI semantics, over the generated tokens only:
  //   logit -= presence_penalty * (count > 0) + frequency_penalty * count. 0 disables.
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  // Seeds the sampler's own PRNG; the same seed, model and prompt give the
  // same tokens. Unset: a random seed.
  std::optional<std::uint64_t> seed;

  // Stop after this many generated tokens (finish reason "length").
  std::int64_t max_tokens = 256;
  // Stop when the generated text contains one of these (finish reason
  // "stop"); the text is cut just before it.
  std::vector<std::string> stop;
  // Token ids that end generation besides the model's EOS ids.
  std::vector<std::int32_t> stop_token_ids;
  // Keep generating through EOS ids (benchmarks).
  bool ignore_eos = false;

  // Report the log-probability of each chosen token and of the `logprobs`
  // most likely ones; unset: no log-probabilities.
  std::optional<int> logprobs;
};

// InvalidArgument naming the first setting out of range:
// temperature >= 0, top_k >= 0, 0 < top_p <= 1, 0 <= min_p <= 1,
// repetition_penalty > 0, penalties in [-2, 2], max_tokens >= 1,
// 0 <= logprobs <= 20, no empty stop string.
Status ValidateSamplingParams(const SamplingParams& params);

}  // namespace engine
