// Sequence: everything the scheduler knows about one request, and the rules
// that turn its sampled tokens into updates.
//
// Tokens. `tokens` is the prompt followed by the generated ids. The KV cache
// holds the first `num_computed` of them (positions [0, num_computed)); the
// rest are still to be run through the model. So a fresh request has its
// whole prompt to compute, a decoding one exactly its last sampled token,
// and a preempted one (num_computed reset to 0) its prompt plus what it has
// generated: prefill, decode and recompute are one mechanism. A step that
// computes up to the end of `tokens` yields the logits from which the next
// token is sampled.
//
// Output. AcceptToken applies the finish rules in exactly engine::Generate's
// order (EOS id, then stop string, then max_tokens / context) with the same
// pieces (Sampler, ComputeLogprobs, StopStringMatcher, TokenTextDecoder), so a
// request's tokens, text, logprobs and finish reason are what Generate gives.
// The sampler and its PRNG live here, not in the KV cache, so preemption
// does not change what is drawn.
//
// Thread safety: none; owned by the scheduler's loop thread once submitted.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "engine/generate/sampler.h"
#include "engine/generate/stop_strings.h"
#include "engine/scheduler/scheduler.h"

namespace engine {

class Sequence {
 public:
  using Clock = std::chrono::steady_clock;

  // `decoder` may be null (ids only). REQUIRES: params valid, prompt not empty.
  Sequence(SequenceId id, SequenceRequest request, SequenceUpdateCallback on_update, std::int64_t context_limit,
           Clock::time_point submitted);

  SequenceId id() const { return id_; }
  const SamplingParams& params() const { return params_; }
  Clock::time_point submitted() const { return submitted_; }

  std::span<const std::int32_t> tokens() const { return tokens_; }
  std::int64_t num_tokens() const { return static_cast<std::int64_t>(tokens_.size()); }
  std::int64_t prompt_len() const { return prompt_len_; }
  std::int64_t num_generated() const { return num_tokens() - prompt_len_; }
  // Tokens still to run through the model (>= 1 while unfinished).
  std::int64_t num_uncomputed() const { return num_tokens() - num_computed; }
  // Decoding: only the last sampled token is left to compute.
  bool is_decoding() const { return num_generated() > 0 && num_uncomputed() == 1; }

  // Installs the detokenizer if the request brought none. REQUIRES: not started.
  void SetDecoderIfNone(std::unique_ptr<TokenTextDecoder> decoder);
  bool has_decoder() const { return decoder_ != nullptr; }

  // Chooses the next token from row `row` of the step's logits (the model's
  // row for this sequence's last token: its argmax, or its values when the
  // sampling parameters need them, NeedsLogitValues), records it in the
  // pending update and applies the finish rules. Returns true when the
  // sequence has finished (then the pending update is its final one, status OK).
  // REQUIRES: logits.has_row(row) if NeedsLogitValues(params()).
  bool AcceptToken(const Logits& logits, std::int64_t row, const std::vector<std::int32_t>& eos_token_ids);

  // Ends the sequence with `status` (OK for a natural finish): its next
  // Deliver is the final update.
  void MarkFinished(Status status);

  // Calls on_update with the pending update if it has anything (tokens or
  // text) or is the final one, then clears it. The final update carries the
  // status and usage; after it on_update is dropped.
  void Deliver();

  bool finished() const { return finished_; }
  FinishReason finish_reason() const { return finish_reason_; }

  // Scheduling and KV state, managed by ContinuousBatch and the policy.
  bool running = false;                     // admitted (in the running list), not waiting
  bool in_flight = false;                   // in a step submitted to the model, not yet collected
  std::vector<std::int32_t> blocks;         // block table, position order
  std::vector<std::uint64_t> block_hashes;  // hashes of blocks[0, size) that are full and registered
  std::int64_t num_computed = 0;            // tokens with keys/values in the cache
  bool admitted_before = false;             // first admission done (usage counted)
  std::int64_t cached_prompt_tokens = 0;    // prompt tokens found in the prefix cache at first admission
  bool first_token_seen = false;

 private:
  void Emit(std::string text);
  void Flush();  // end of stream: held-back text, unless a stop string appears in it

  SequenceId id_;
  SamplingParams params_;
  SequenceUpdateCallback on_update_;
  std::unique_ptr<TokenTextDecoder> decoder_;
  std::int64_t context_limit_;
  Clock::time_point submitted_;
  std::vector<std::int32_t> tokens_;
  std::int64_t prompt_len_;
  Sampler sampler_;
  StopStringMatcher stops_;
  std::vector<float> row_;  // scratch for the sampler's in-place transforms
  SequenceUpdate pending_;
  bool finished_ = false;
  Status final_status_;
  FinishReason finish_reason_ = FinishReason::kLength;
};

}  // namespace engine
