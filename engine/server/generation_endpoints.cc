// POST /v1/completions and POST /v1/chat/completions: parse, check against
// the model, build one SequenceRequest per choice, and start a GenerationJob.
#include <chrono>

#include "engine/server/api_handler.h"
#include "engine/server/chat_request.h"
#include "engine/server/chat_response.h"
#include "engine/server/completion_request.h"
#include "engine/server/completion_response.h"

namespace engine::server {
namespace {

constexpr std::int64_t kCompletionDefaultMaxTokens = 16;  // OpenAI's default for /v1/completions

std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Choice j of a prompt samples with seed + j, so n > 1 with a seed gives n
// different (and reproducible) samples.
SamplingParams ChoiceParams(SamplingParams params, std::int64_t j) {
  if (params.seed) *params.seed += static_cast<std::uint64_t>(j);
  return params;
}

}  // namespace

void ApiHandler::ServeCompletions(const std::string& body, const std::shared_ptr<Exchange>& exchange) {
  const std::string_view label = EndpointPath(Endpoint::kCompletions);
  ApiResult<CompletionRequest> request = ParseCompletionRequest(body, limits_);
  if (!request.ok()) return AnswerError(label, *exchange, request.error());
  if (request->model != model_.name) return AnswerError(label, *exchange, ModelNotFound(request->model, model_.name));

  std::vector<SequenceRequest> sequences;
  const std::int64_t context_limit = service_.context_limit();
  for (std::size_t p = 0; p < request->prompts.size(); ++p) {
    const std::string param = request->prompts.size() == 1 ? "prompt" : "prompt[" + std::to_string(p) + "]";
    ApiResult<std::vector<std::int32_t>> ids = PromptIds(model_, request->prompts[p], param);
    if (!ids.ok()) return AnswerError(label, *exchange, ids.error());
    ApiResult<std::int64_t> max_tokens =
        ResolveMaxTokens(static_cast<std::int64_t>(ids->size()), request->sampling.max_tokens,
                         kCompletionDefaultMaxTokens, context_limit, param);
    if (!max_tokens.ok()) return AnswerError(label, *exchange, max_tokens.error());
    SamplingParams params = ResolveSamplingParams(request->sampling, model_.generation, *max_tokens);
    params.logprobs = request->logprobs;
    if (Status s = ValidateSamplingParams(params); !s.ok()) {
      return AnswerError(label, *exchange, ApiErrorFromStatus(s));
    }
    for (std::int64_t j = 0; j < request->n; ++j) {
      sequences.push_back(SequenceRequest{*ids, ChoiceParams(params, j), nullptr});
    }
  }

  JobOptions options;
  options.stream = request->stream.stream;
  options.include_usage = request->stream.stream && request->stream.include_usage;
  options.logprobs = request->logprobs.has_value();
  options.choices_per_prompt = static_cast<std::size_t>(request->n);
  options.request_id = NewId("cmpl-");
  auto format = std::make_unique<CompletionFormat>(ResponseHeader{options.request_id, UnixNow(), model_.name},
                                                   Speller(request->tokens_as_ids));
  auto job = std::make_shared<GenerationJob>(options, std::move(format), Speller(request->tokens_as_ids), exchange,
                                             service_, post_, CountAs(label), stats_);
  job->Start(std::move(sequences));
}

void ApiHandler::ServeChat(const std::string& body, const std::shared_ptr<Exchange>& exchange) {
  const std::string_view label = EndpointPath(Endpoint::kChatCompletions);
  ApiResult<ChatRequest> request = ParseChatRequest(body, limits_);
  if (!request.ok()) return AnswerError(label, *exchange, request.error());
  if (request->model != model_.name) return AnswerError(label, *exchange, ModelNotFound(request->model, model_.name));

  ApiResult<std::vector<std::int32_t>> ids = ChatPromptIds(model_, request->messages);
  if (!ids.ok()) return AnswerError(label, *exchange, ids.error());
  const std::int64_t context_limit = service_.context_limit();
  const auto prompt_tokens = static_cast<std::int64_t>(ids->size());
  // No max_tokens: whatever the context leaves (as vLLM does).
  ApiResult<std::int64_t> max_tokens = ResolveMaxTokens(prompt_tokens, request->sampling.max_tokens,
                                                        context_limit - prompt_tokens, context_limit, "messages");
  if (!max_tokens.ok()) return AnswerError(label, *exchange, max_tokens.error());
  SamplingParams params = ResolveSamplingParams(request->sampling, model_.generation, *max_tokens);
  if (request->logprobs) params.logprobs = request->top_logprobs;
  if (Status s = ValidateSamplingParams(params); !s.ok()) return AnswerError(label, *exchange, ApiErrorFromStatus(s));

  std::vector<SequenceRequest> sequences;
  for (std::int64_t j = 0; j < request->n; ++j) {
    sequences.push_back(SequenceRequest{*ids, ChoiceParams(params, j), nullptr});
  }
  JobOptions options;
  options.stream = request->stream.stream;
  options.include_usage = request->stream.stream && request->stream.include_usage;
  options.split_reasoning = model_.chat_template->OpensThinkBlock();
  options.logprobs = request->logprobs;
  options.choices_per_prompt = static_cast<std::size_t>(request->n);
  options.request_id = NewId("chatcmpl-");
  auto format = std::make_unique<ChatFormat>(ResponseHeader{options.request_id, UnixNow(), model_.name},
                                             Speller(request->tokens_as_ids), options.include_usage);
  auto job = std::make_shared<GenerationJob>(options, std::move(format), Speller(request->tokens_as_ids), exchange,
                                             service_, post_, CountAs(label), stats_);
  job->Start(std::move(sequences));
}

}  // namespace engine::server
