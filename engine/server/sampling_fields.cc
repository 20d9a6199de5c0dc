#include "engine/server/sampling_fields.h"

namespace engine::server {

void ReadSamplingFields(FieldReader& r, const RequestLimits& limits, SamplingFields* out) {
  r.Number("temperature", {0, 2}, &out->temperature);
  r.Number("top_p", {0, 1, /*min_exclusive=*/true}, &out->top_p);
  r.Integer("top_k", {-1}, &out->top_k);
  r.Number("min_p", {0, 1}, &out->min_p);
  r.Number("repetition_penalty", {0, 2, /*min_exclusive=*/true}, &out->repetition_penalty);
  r.Number("presence_penalty", {-2, 2}, &out->presence_penalty);
  r.Number("frequency_penalty", {-2, 2}, &out->frequency_penalty);
  r.Integer("seed", {}, &out->seed);
  r.StringOrList("stop", limits.max_stop_strings, &out->stop);
  std::optional<bool> ignore_eos;
  r.Bool("ignore_eos", &ignore_eos);
  out->ignore_eos = ignore_eos.value_or(false);
}

void ReadStreamFields(FieldReader& r, StreamFields* out) {
  std::optional<bool> stream;
  r.Bool("stream", &stream);
  out->stream = stream.value_or(false);
  if (const nlohmann::json* options = r.Object("stream_options")) {
    FieldReader o(*options, "stream_options.");
    std::optional<bool> include_usage;
    o.Bool("include_usage", &include_usage);
    if (o.error()) return r.Fail(*o.error());
    out->include_usage = include_usage.value_or(false);
  }
}

SamplingParams ResolveSamplingParams(const SamplingFields& f, const GenerationConfig& g, std::int64_t max_tokens) {
  SamplingParams p;
  const bool do_sample = g.do_sample.value_or(false);
  p.temperature = do_sample ? g.temperature.value_or(1.0) : 0.0;
  p.top_p = do_sample ? g.top_p.value_or(1.0) : 1.0;
  p.top_k = do_sample ? g.top_k.value_or(50) : 0;
  p.repetition_penalty = g.repetition_penalty.value_or(1.0);
  if (f.temperature) p.temperature = *f.temperature;
  if (f.top_p) p.top_p = *f.top_p;
  if (f.top_k) p.top_k = *f.top_k < 0 ? 0 : *f.top_k;
  if (f.min_p) p.min_p = *f.min_p;
  if (f.repetition_penalty) p.repetition_penalty = *f.repetition_penalty;
  if (f.presence_penalty) p.presence_penalty = *f.presence_penalty;
  if (f.frequency_penalty) p.frequency_penalty = *f.frequency_penalty;
  if (f.seed) p.seed = static_cast<std::uint64_t>(*f.seed);
  p.max_tokens = max_tokens;
  p.stop = f.stop;
  p.ignore_eos = f.ignore_eos;
  return p;
}

}  // namespace engine::server
