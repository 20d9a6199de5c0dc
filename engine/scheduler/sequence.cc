#include "engine/scheduler/sequence.h"

#include <algorithm>
#include <random>

namespace engine {

Sequence::Sequence(SequenceId id, SequenceRequest request, SequenceUpdateCallback on_update,
                   std::int64_t context_limit, Clock::time_point submitted)
    : id_(id),
      params_(std::move(request.params)),
      on_update_(std::move(on_update)),
      decoder_(std::move(request.decoder)),
      context_limit_(context_limit),
      submitted_(submitted),
      tokens_(std::move(request.prompt_ids)),
      prompt_len_(static_cast<std::int64_t>(tokens_.size())),
      sampler_(params_.seed ? *params_.seed : std::random_device{}()),
      stops_(params_.stop) {
  tokens_.reserve(static_cast<std::size_t>(prompt_len_ + params_.max_tokens));
  pending_.id = id_;
}

void Sequence::SetDecoderIfNone(std::unique_ptr<TokenTextDecoder> decoder) {
  if (decoder_ == nullptr) decoder_ = std::move(decoder);
}

void Sequence::Emit(std::string text) {
  if (!text.empty()) pending_.text += text;
}

void Sequence::Flush() {
  if (decoder_ == nullptr) return;
  Emit(stops_.Push(decoder_->Flush()));
  if (stops_.stopped()) {
    finish_reason_ = FinishReason::kStop;
    return;
  }
  Emit(stops_.Flush());
}

// The order of checks is engine::Generate's (generator.cc); keep them equal.
bool Sequence::AcceptToken(const Logits& logits, std::int64_t row, const std::vector<std::int32_t>& eos_token_ids) {
  std::int32_t token = logits.argmax[static_cast<std::size_t>(row)];
  if (NeedsLogitValues(params_)) {
    const std::span<const float> raw_logits = logits.row(row);
    row_.assign(raw_logits.begin(), raw_logits.end());
    const std::span<const std::int32_t> all(tokens_);
    token = sampler_.Sample(row_, params_, all.first(static_cast<std::size_t>(prompt_len_)),
                            all.subspan(static_cast<std::size_t>(prompt_len_)));
    if (params_.logprobs) pending_.logprobs.push_back(ComputeLogprobs(raw_logits, token, *params_.logprobs));
  }
  tokens_.push_back(token);
  pending_.token_ids.push_back(token);

  auto listed = [token](const std::vector<std::int32_t>& ids) {
    return std::find(ids.begin(), ids.end(), token) != ids.end();
  };
  if (!params_.ignore_eos && (listed(eos_token_ids) || listed(params_.stop_token_ids))) {
    finish_reason_ = FinishReason::kStop;
    Flush();
    return finished_ = true;
  }
  if (decoder_ != nullptr) {
    Emit(stops_.Push(decoder_->Push(token)));
    if (stops_.stopped()) {
      finish_reason_ = FinishReason::kStop;
      return finished_ = true;  // text cut before the stop string; nothing more to flush
    }
  }
  if (num_generated() >= params_.max_tokens || num_tokens() >= context_limit_) {
    finish_reason_ = FinishReason::kLength;
    Flush();
    return finished_ = true;
  }
  return false;
}

void Sequence::MarkFinished(Status status) {
  finished_ = true;
  final_status_ = std::move(status);
}

void Sequence::Deliver() {
  if (on_update_ == nullptr) return;  // final update already sent
  const bool finished = finished_;
  if (!finished && pending_.token_ids.empty() && pending_.text.empty()) return;
  pending_.finished = finished;
  if (finished) {
    pending_.status = final_status_;
    pending_.finish_reason = finish_reason_;
    pending_.prompt_tokens = prompt_len_;
    pending_.cached_prompt_tokens = cached_prompt_tokens;
    pending_.completion_tokens = num_generated();
  }
  on_update_(pending_);
  pending_ = SequenceUpdate{};
  pending_.id = id_;
  if (finished) on_update_ = nullptr;  // drop what the callback captured
}

}  // namespace engine
