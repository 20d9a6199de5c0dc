// GenerationJob: one completions or chat request being generated - its
// sequences (prompts x n choices), what they have produced so far, and the
// answer on its Exchange, streamed or whole.
//
// Life: Start submits every sequence to the SequenceService. If a Submit
// fails, the ones already accepted are cancelled and the client gets the
// mapped error (429 + Retry-After for a full queue). Otherwise updates flow
// in (posted to the I/O thread); streaming sends each choice's text as it
// comes, then the usage event (include_usage) and [DONE]; a whole response is
// sent when the last choice finishes. A client that goes away cancels every
// unfinished sequence at once. A sequence that fails (model error, server
// shutting down) ends the answer with an error (status 500/503, or an error
// event followed by [DONE] when streaming) and cancels its siblings.
//
// The job keeps itself alive through the callbacks it gives the service
// (each holds a shared_ptr until its finished update), and keeps the
// Exchange alive until the answer is complete.
//
// Timing: the job reports each choice's first token, the gaps between its
// later updates and its end to `stats` (vLLM's histograms), and one log line
// when the answer is complete, whatever the outcome (request_stats.h).
//
// Threading: everything but the service's callbacks runs on the I/O thread;
// the callbacks only hand the update to `post`.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/server/exchange.h"
#include "engine/server/reasoning_splitter.h"
#include "engine/server/request_counters.h"
#include "engine/server/request_stats.h"
#include "engine/server/response_format.h"
#include "engine/server/sequence_service.h"

namespace engine::server {

// Runs `task` on the I/O thread (asio::post in the server; direct in tests).
using PostToIoThread = std::function<void(std::function<void()>)>;

struct JobOptions {
  bool stream = false;
  bool include_usage = false;
  bool split_reasoning = false;  // chat with a template that opens <think>
  bool logprobs = false;         // logprobs were asked for (SamplingParams::logprobs set)
  std::size_t choices_per_prompt = 1;  // n: usage counts each prompt once
  std::string request_id;              // the response's id, for the log line
};

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  // Called once with the outcome when the answer is complete (for metrics).
  using DoneCallback = std::function<void(Outcome)>;

  GenerationJob(JobOptions options, std::unique_ptr<ResponseFormat> format, TokenSpeller speller,
                std::shared_ptr<Exchange> exchange, SequenceService& service, PostToIoThread post,
                DoneCallback on_done, RequestStats& stats);

  // Submits `sequences` (choice i is sequences[i]; prompt p's choices are
  // [p * n, (p + 1) * n)). REQUIRES: called once, on the I/O thread, on a
  // job owned by a shared_ptr; sequences not empty.
  void Start(std::vector<SequenceRequest> sequences);

 private:
  struct Choice {
    SequenceId id = 0;
    bool finished = false;
    std::optional<ReasoningSplitter> splitter;
    std::string text, reasoning;               // whole responses: accumulated
    std::vector<PositionLogprobs> logprobs;    // whole responses: accumulated
    std::int64_t spelled_bytes = 0;            // streamed logprobs: text_offset of the next token
    FinishReason finish_reason = FinishReason::kLength;
    std::int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
    std::int64_t tokens_seen = 0;              // tokens of every update so far (known when cancelled, too)
    std::optional<SteadyTime> last_token_at;   // when its latest token came
  };

  void OnUpdate(std::size_t index, const SequenceUpdate& update);
  void Fail(const Status& status);
  void ClientGone();
  void CancelUnfinished();
  void Finish();
  void Complete(Outcome outcome);
  void ObserveTimes(Choice& choice, const SequenceUpdate& update);
  void LogFinished(Outcome outcome) const;
  Usage TotalUsage() const;

  JobOptions options_;
  std::unique_ptr<ResponseFormat> format_;
  TokenSpeller speller_;
  std::shared_ptr<Exchange> exchange_;  // null once the answer is complete
  SequenceService& service_;
  PostToIoThread post_;
  DoneCallback on_done_;
  RequestStats& stats_;
  SteadyTime started_;
  std::optional<SteadyTime> first_token_at_;  // of any choice
  std::int64_t prompt_tokens_ = 0;  // each prompt once
  std::vector<Choice> choices_;
  std::size_t unfinished_ = 0;
};

}  // namespace engine::server
