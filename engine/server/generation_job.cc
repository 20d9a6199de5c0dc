#include "engine/server/generation_job.h"

#include <algorithm>

#include "engine/server/api_error.h"
#include "engine/server/sse.h"

namespace engine::server {

GenerationJob::GenerationJob(JobOptions options, std::unique_ptr<ResponseFormat> format, TokenSpeller speller,
                             std::shared_ptr<Exchange> exchange, SequenceService& service, PostToIoThread post,
                             DoneCallback on_done, RequestStats& stats)
    : options_(options),
      format_(std::move(format)),
      speller_(std::move(speller)),
      exchange_(std::move(exchange)),
      service_(service),
      post_(std::move(post)),
      on_done_(std::move(on_done)),
      stats_(stats) {}

void GenerationJob::Start(std::vector<SequenceRequest> sequences) {
  started_ = stats_.Now();
  const std::size_t n = std::max<std::size_t>(1, options_.choices_per_prompt);
  for (std::size_t i = 0; i < sequences.size(); i += n) {
    prompt_tokens_ += static_cast<std::int64_t>(sequences[i].prompt_ids.size());
  }
  choices_.resize(sequences.size());
  for (Choice& c : choices_) {
    if (options_.split_reasoning) c.splitter.emplace();
  }
  std::shared_ptr<GenerationJob> self = shared_from_this();
  for (std::size_t i = 0; i < sequences.size(); ++i) {
    auto on_update = [self, i, post = post_](const SequenceUpdate& update) {
      post([self, i, update] { self->OnUpdate(i, update); });
    };
    StatusOr<SequenceId> id = service_.Submit(std::move(sequences[i]), std::move(on_update));
    if (!id.ok()) {
      // Nothing of this request may run: cancel what was accepted. Their
      // finished updates still arrive and are ignored (exchange_ is null).
      CancelUnfinished();
      const ApiError error = ApiErrorFromStatus(id.status());
      HttpReply reply{error.http_status, "application/json", ApiErrorBody(error), {}};
      if (error.retry_after_seconds) reply.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
      exchange_->Reply(std::move(reply));
      Complete(OutcomeOfStatus(error.http_status));
      return;
    }
    choices_[i].id = *id;
    ++unfinished_;
  }
  exchange_->OnClientGone([self] { self->ClientGone(); });
  if (options_.stream) {
    exchange_->BeginEvents();
    for (std::size_t i = 0; i < choices_.size(); ++i) {
      for (std::string& event : format_->Opening(i)) exchange_->SendEvent(SseEvent(event));
    }
  }
}

void GenerationJob::OnUpdate(std::size_t index, const SequenceUpdate& update) {
  Choice& c = choices_[index];
  if (update.finished) {
    c.finished = true;
    --unfinished_;
  }
  if (!exchange_) return;  // answered already (failed, cancelled): just let the sequences drain
  if (update.finished && !update.status.ok()) return Fail(update.status);
  ObserveTimes(c, update);

  ReasoningPiece piece;
  if (c.splitter) {
    piece = c.splitter->Push(update.text);
    if (update.finished) {
      ReasoningPiece rest = c.splitter->Flush();
      piece.reasoning += rest.reasoning;
      piece.content += rest.content;
    }
  } else {
    piece.content = update.text;
  }
  if (update.finished) {
    c.finish_reason = update.finish_reason;
    c.prompt_tokens = update.prompt_tokens;
    c.cached_tokens = update.cached_prompt_tokens;
    c.completion_tokens = update.completion_tokens;
  }

  if (options_.stream) {
    ChoiceDelta delta;
    delta.index = index;
    delta.reasoning = std::move(piece.reasoning);
    delta.text = std::move(piece.content);
    if (options_.logprobs) {
      delta.logprobs = update.logprobs;
      delta.text_offset = c.spelled_bytes;
      for (const PositionLogprobs& lp : update.logprobs) {
        c.spelled_bytes += static_cast<std::int64_t>(speller_(lp.chosen.token).size());
      }
    }
    if (update.finished) delta.finish_reason = update.finish_reason;
    for (std::string& event : format_->Delta(delta)) exchange_->SendEvent(SseEvent(event));
  } else {
    c.reasoning += piece.reasoning;
    c.text += piece.content;
    if (options_.logprobs) c.logprobs.insert(c.logprobs.end(), update.logprobs.begin(), update.logprobs.end());
  }
  if (unfinished_ == 0) Finish();
}

void GenerationJob::Finish() {
  if (options_.stream) {
    if (options_.include_usage) exchange_->SendEvent(SseEvent(format_->UsageEvent(TotalUsage())));
    exchange_->SendEvent(SseDone());
    exchange_->EndEvents();
  } else {
    std::vector<ChoiceResult> results;
    results.reserve(choices_.size());
    for (std::size_t i = 0; i < choices_.size(); ++i) {
      Choice& c = choices_[i];
      ChoiceResult r;
      r.index = i;
      if (options_.split_reasoning) r.reasoning = std::move(c.reasoning);
      r.text = std::move(c.text);
      r.logprobs = std::move(c.logprobs);
      r.has_logprobs = options_.logprobs;
      r.finish_reason = c.finish_reason;
      results.push_back(std::move(r));
    }
    exchange_->Reply(HttpReply{200, "application/json", format_->Body(results, TotalUsage()), {}});
  }
  Complete(Outcome::kOk);
}

void GenerationJob::Fail(const Status& status) {
  CancelUnfinished();
  const ApiError error = status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kCancelled
                             ? ApiError{503, "The server is shutting down; the request was not completed.",
                                        "server_error", std::nullopt, "service_unavailable", 1}
                             : ServerError("Generation failed: " + status.ToString());
  if (options_.stream) {
    exchange_->SendEvent(SseEvent(ApiErrorBody(error)));
    exchange_->SendEvent(SseDone());
    exchange_->EndEvents();
  } else {
    HttpReply reply{error.http_status, "application/json", ApiErrorBody(error), {}};
    if (error.retry_after_seconds) reply.headers.emplace_back("Retry-After", std::to_string(*error.retry_after_seconds));
    exchange_->Reply(std::move(reply));
  }
  Complete(Outcome::kServerError);
}

void GenerationJob::ClientGone() {
  if (!exchange_) return;
  CancelUnfinished();
  Complete(Outcome::kCancelled);
}

void GenerationJob::CancelUnfinished() {
  for (const Choice& c : choices_) {
    if (c.id != 0 && !c.finished) service_.Cancel(c.id);
  }
}

void GenerationJob::ObserveTimes(Choice& c, const SequenceUpdate& update) {
  const SteadyTime now = stats_.Now();
  if (!update.token_ids.empty()) {
    if (c.last_token_at) {
      stats_.ObserveTimePerOutputToken(SecondsBetween(*c.last_token_at, now));
    } else {
      stats_.ObserveTimeToFirstToken(SecondsBetween(started_, now));
    }
    c.last_token_at = now;
    if (!first_token_at_) first_token_at_ = now;
    c.tokens_seen += static_cast<std::int64_t>(update.token_ids.size());
  }
  if (update.finished) stats_.ObserveEndToEnd(SecondsBetween(started_, now));
}

void GenerationJob::LogFinished(Outcome outcome) const {
  FinishedRequest r;
  r.id = options_.request_id;
  r.prompt_tokens = prompt_tokens_;
  for (const Choice& c : choices_) {
    r.output_tokens += c.tokens_seen;
    if (outcome == Outcome::kOk) {
      if (!r.finish_reason.empty()) r.finish_reason += ',';
      r.finish_reason += FinishReasonName(c.finish_reason);
    }
  }
  if (outcome != Outcome::kOk) r.finish_reason = OutcomeName(outcome);
  const SteadyTime now = stats_.Now();
  if (first_token_at_) r.time_to_first_token = SecondsBetween(started_, *first_token_at_);
  r.total_seconds = SecondsBetween(started_, now);
  stats_.Finished(r);
}

void GenerationJob::Complete(Outcome outcome) {
  LogFinished(outcome);
  exchange_.reset();
  if (on_done_) {
    DoneCallback done = std::move(on_done_);
    on_done_ = nullptr;
    done(outcome);
  }
}

Usage GenerationJob::TotalUsage() const {
  Usage usage;
  const std::size_t n = std::max<std::size_t>(1, options_.choices_per_prompt);
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    if (i % n == 0) {  // each prompt once: its first choice's numbers
      usage.prompt_tokens += c.prompt_tokens;
      usage.cached_tokens += c.cached_tokens;
    }
    usage.completion_tokens += c.completion_tokens;
  }
  return usage;
}

}  // namespace engine::server
