#include "engine/sampling_params.h"

#include <string>

namespace engine {

Status ValidateSamplingParams(const SamplingParams& p) {
  auto bad = [](const std::string& what) { return cluster::InvalidArgumentError(what); };
  if (!(p.temperature >= 0)) return bad("temperature must be >= 0 (0 is greedy), got " + std::to_string(p.temperature));
  if (p.top_k < 0) return bad("top_k must be >= 0 (0 disables it), got " + std::to_string(p.top_k));
  if (!(p.top_p > 0 && p.top_p <= 1)) return bad("top_p must be in (0, 1], got " + std::to_string(p.top_p));
  if (!(p.min_p >= 0 && p.min_p <= 1)) return bad("min_p must be in [0, 1], got " + std::to_string(p.min_p));
  if (!(p.repetition_penalty > 0)) {
    return bad("repetition_penalty must be > 0 (1 disables it), got " + std::to_string(p.repetition_penalty));
  }
  if (!(p.presence_penalty >= -2 && p.presence_penalty <= 2)) {
    return bad("presence_penalty must be in [-2, 2], got " + std::to_string(p.presence_penalty));
  }
  if (!(p.frequency_penalty >= -2 && p.frequency_penalty <= 2)) {
    return bad("frequency_penalty must be in [-2, 2], got " + std::to_string(p.frequency_penalty));
  }
  if (p.max_tokens < 1) return bad("max_tokens must be >= 1, got " + std::to_string(p.max_tokens));
  if (p.logprobs && (*p.logprobs < 0 || *p.logprobs > 20)) {
    return bad("logprobs must be in [0, 20], got " + std::to_string(*p.logprobs));
  }
  for (const std::string& s : p.stop) {
    if (s.empty()) return bad("stop strings must not be empty");
  }
  return Status::Ok();
}

}  // namespace engine
