// SamplingFields: the generation settings /v1/completions and
// /v1/chat/completions share, as the client sent them (absent: nullopt), and
// how they combine with the model's defaults into engine::SamplingParams.
//
// Ranges (400 naming the field otherwise): temperature [0, 2], top_p (0, 1],
// top_k -1 or >= 0 (-1 and 0 disable it), min_p [0, 1], repetition_penalty
// (0, 2], presence/frequency_penalty [-2, 2], seed any 64-bit integer,
// max_tokens >= 1, stop a string or a list of at most
// RequestLimits::max_stop_strings non-empty strings. ignore_eos (a vLLM
// extension) keeps generating through end-of-sequence tokens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/generation_config.h"
#include "engine/sampling_params.h"
#include "engine/server/field_reader.h"
#include "engine/server/request_limits.h"

namespace engine::server {

struct SamplingFields {
  std::optional<double> temperature, top_p, min_p;
  std::optional<std::int64_t> top_k;
  std::optional<double> repetition_penalty, presence_penalty, frequency_penalty;
  std::optional<std::int64_t> seed;
  std::optional<std::int64_t> max_tokens;  // chat: max_completion_tokens, else max_tokens
  std::vector<std::string> stop;
  bool ignore_eos = false;
};

// Streaming switches: "stream" and "stream_options": {"include_usage"}.
struct StreamFields {
  bool stream = false;
  bool include_usage = false;  // only meaningful when streaming
};

// Reads the fields above (max_tokens under the name `max_tokens_name`) and the
// stream switches. Errors are recorded in `reader`.
void ReadSamplingFields(FieldReader& reader, const RequestLimits& limits, SamplingFields* out);
void ReadStreamFields(FieldReader& reader, StreamFields* out);

// The SamplingParams of one sequence: the model's defaults as HF generate
// reads generation_config.json (do_sample absent or false: greedy; true: its
// temperature, top_p, top_k), overridden by every field the client set.
// max_tokens is `max_tokens` (already resolved against the context).
SamplingParams ResolveSamplingParams(const SamplingFields& fields, const GenerationConfig& defaults,
                                     std::int64_t max_tokens);

}  // namespace engine::server
