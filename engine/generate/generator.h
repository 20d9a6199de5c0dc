// Generate: runs one sequence from a prompt to a finish, on a LanguageModel
// and its paged KV cache.
//
// The loop: prefill the prompt (in chunks of prefill_chunk tokens, logits of
// the last token only), then repeatedly choose a token (Sampler), report it,
// and feed it back as a one-token decode step. It stops, in this order of
// checks after each chosen token:
//   - an EOS id (the model's, or params.stop_token_ids) unless ignore_eos:
//     finish "stop"; the id is kept in generated_ids (as HF's generate
//     returns it) but contributes no text;
//   - a stop string in the detokenized text: finish "stop"; the text is cut
//     before it (the token that completed it stays in generated_ids);
//   - max_tokens generated, or the context full (max_position_embeddings or
//     the KV cache): finish "length".
// Text is streamed through on_text as soon as it is final: the incremental
// detokenizer holds back incomplete UTF-8, the stop matcher holds back what
// could begin a stop string.
//
// The KV blocks used are taken from `cache` and given back before returning.
// Batching many sequences is the scheduler's job (next issue); this is the
// one-sequence path the CLI and the parity tests use.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/generate/logprobs.h"
#include "engine/model/language_model.h"
#include "engine/sampling_params.h"

namespace engine {

// Turns generated ids into text as they come (an adapter over the
// tokenizer's IncrementalDecoder, or a fake in tests).
class TokenTextDecoder {
 public:
  virtual ~TokenTextDecoder() = default;
  // Adds one id; returns the text now complete (often "").
  virtual std::string Push(std::int32_t id) = 0;
  // Ends the stream; returns what was held back.
  virtual std::string Flush() = 0;
};

enum class FinishReason { kStop, kLength };
// "stop" or "length" (the OpenAI spelling).
std::string_view FinishReasonName(FinishReason reason);

struct GenerationResult {
  std::vector<std::int32_t> prompt_ids;
  std::vector<std::int32_t> generated_ids;
  std::string text;  // what was streamed, stop string excluded
  FinishReason finish_reason = FinishReason::kLength;
  std::vector<PositionLogprobs> logprobs;  // one per generated id when params.logprobs is set
};

struct GenerateOptions {
  std::vector<std::int32_t> eos_token_ids;  // from the model folder (LoadedModel::eos_token_ids)
  TokenTextDecoder* decoder = nullptr;      // null: no text (then params.stop must be empty)
  std::function<void(std::string_view text)> on_text;  // streamed text; may be empty
  std::int64_t prefill_chunk = 512;
};

// InvalidArgument for invalid params, an empty prompt, a prompt that fills
// the context, or stop strings without a decoder; ResourceExhausted if the
// KV cache cannot hold the prompt; the model's errors otherwise.
StatusOr<GenerationResult> Generate(LanguageModel& model, KvCache& cache, std::span<const std::int32_t> prompt,
                                    const SamplingParams& params, const GenerateOptions& options);

}  // namespace engine
