#include "engine/generate/generator.h"

#include <algorithm>
#include <random>

#include "engine/generate/sampler.h"
#include "engine/generate/stop_strings.h"

namespace engine {
namespace {

// Gives the sequence's blocks back to the cache however Generate returns.
class BlockTableGuard {
 public:
  explicit BlockTableGuard(KvCache& cache) : cache_(cache) {}
  ~BlockTableGuard() { cache_.Release(table); }
  BlockTableGuard(const BlockTableGuard&) = delete;
  BlockTableGuard& operator=(const BlockTableGuard&) = delete;
  KvBlockTable table;

 private:
  KvCache& cache_;
};

// One step of `ids` at positions [start, start + ids.size()); logits of the
// last token (its values only if `full`).
StatusOr<Logits> Step(LanguageModel& model, KvCache& cache, KvBlockTable& table, std::span<const std::int32_t> ids,
                      std::int64_t start, bool full) {
  CLUSTER_RETURN_IF_ERROR(cache.Reserve(table, start + static_cast<std::int64_t>(ids.size())));
  ForwardBatch batch = OneSequenceStep(ids, start, table.blocks, cache.block_size());
  batch.logit_rows = {static_cast<std::int32_t>(ids.size() - 1)};
  batch.full_logits = {full};
  return model.Forward(batch, cache);
}

}  // namespace

std::string_view FinishReasonName(FinishReason reason) {
  return reason == FinishReason::kStop ? "stop" : "length";
}

StatusOr<GenerationResult> Generate(LanguageModel& model, KvCache& cache, std::span<const std::int32_t> prompt,
                                    const SamplingParams& params, const GenerateOptions& options) {
  CLUSTER_RETURN_IF_ERROR(ValidateSamplingParams(params));
  if (prompt.empty()) return cluster::InvalidArgumentError("generate: the prompt has no tokens");
  if (!params.stop.empty() && options.decoder == nullptr) {
    return cluster::InvalidArgumentError("generate: stop strings need a tokenizer to turn tokens into text");
  }
  const std::int64_t cache_capacity = cache.shape().num_blocks * cache.shape().block_size;
  const std::int64_t context_limit = std::min(model.config().max_position_embeddings, cache_capacity);
  const auto prompt_len = static_cast<std::int64_t>(prompt.size());
  if (prompt_len >= context_limit) {
    return cluster::InvalidArgumentError("generate: the prompt has " + std::to_string(prompt_len) +
                                         " tokens but the context holds " + std::to_string(context_limit) +
                                         "; no room to generate");
  }

  GenerationResult result;
  result.prompt_ids.assign(prompt.begin(), prompt.end());
  Sampler sampler(params.seed ? *params.seed : std::random_device{}());
  StopStringMatcher stops(params.stop);
  auto emit = [&](std::string_view text) {
    if (text.empty()) return;
    result.text.append(text);
    if (options.on_text) options.on_text(text);
  };
  auto is_eos = [&](std::int32_t id) {
    if (params.ignore_eos) return false;
    return std::find(options.eos_token_ids.begin(), options.eos_token_ids.end(), id) != options.eos_token_ids.end() ||
           std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), id) != params.stop_token_ids.end();
  };

  const bool full = NeedsLogitValues(params);
  BlockTableGuard guard(cache);
  // Prefill.
  StatusOr<Logits> logits = cluster::InternalError("no step ran");
  const std::int64_t chunk = std::max<std::int64_t>(1, options.prefill_chunk);
  for (std::int64_t start = 0; start < prompt_len; start += chunk) {
    const std::int64_t len = std::min(chunk, prompt_len - start);
    logits = Step(model, cache, guard.table, prompt.subspan(static_cast<std::size_t>(start), static_cast<std::size_t>(len)),
                  start, full);
    if (!logits.ok()) return logits.status();
  }

  // Decode.
  std::vector<float> row;
  while (true) {
    std::int32_t token = logits->argmax[0];
    if (full) {
      const std::span<const float> raw = logits->row(0);
      row.assign(raw.begin(), raw.end());
      token = sampler.Sample(row, params, prompt, result.generated_ids);
      if (params.logprobs) result.logprobs.push_back(ComputeLogprobs(raw, token, *params.logprobs));
    }
    result.generated_ids.push_back(token);

    if (is_eos(token)) {
      result.finish_reason = FinishReason::kStop;
      break;
    }
    if (options.decoder != nullptr) {
      emit(stops.Push(options.decoder->Push(token)));
      if (stops.stopped()) {
        result.finish_reason = FinishReason::kStop;
        return result;  // text cut before the stop string; nothing more to flush
      }
    }
    const auto generated = static_cast<std::int64_t>(result.generated_ids.size());
    if (generated >= params.max_tokens || prompt_len + generated >= context_limit) {
      result.finish_reason = FinishReason::kLength;
      break;
    }
    logits = Step(model, cache, guard.table, std::span<const std::int32_t>(&result.generated_ids.back(), 1),
                  prompt_len + generated - 1, full);
    if (!logits.ok()) return logits.status();
  }
  if (options.decoder != nullptr) {
    emit(stops.Push(options.decoder->Flush()));
    if (stops.stopped()) {
      result.finish_reason = FinishReason::kStop;
      return result;
    }
    emit(stops.Flush());
  }
  return result;
}

}  // namespace engine
