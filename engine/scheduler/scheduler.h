// Scheduler: continuous batching of many sequences over one LanguageModel and
// its paged KV cache. The API the HTTP server (engine/server) calls.
//
// Model. One loop thread owns every piece of sequence state, the KV blocks
// and the model; other threads talk to it only through Submit, Cancel,
// Metrics and Shutdown, which are thread-safe. Each loop iteration is one
// model step:
//   1. apply cancellations (their blocks are freed before the step);
//   2. give every running sequence that is decoding one token of the step's
//      token budget (SchedulerOptions::max_batch_tokens), oldest first;
//   3. fill what is left of the budget with prefill chunks: first sequences
//      already admitted, then new ones from the queue (FCFS) while blocks
//      and the running limit allow - so a long prompt never stalls decodes;
//   4. run the step, sample a token for each sequence whose chunk reached its
//      end, report updates, and drop finished sequences at once.
// If a running sequence needs a KV block and none is free (after evicting
// unused prefix-cache blocks), the youngest running sequence is preempted:
// its blocks are freed and it goes back to the front of the queue to be
// recomputed later (prompt + tokens generated so far), keeping its sampler
// and PRNG, so its output is exactly what it would have been. Never an
// out-of-memory failure. Full blocks are shared between sequences through a
// prefix cache (see block_manager.h); docs/scheduler.md has the details.
//
// Determinism: on the CPU backend a greedy request yields the same tokens
// alone or batched with others, and the same tokens as engine::Generate
// (the forward pass is row-wise batch invariant; docs/scheduler.md).
//
// Callbacks. on_update runs on the loop thread, in order for one sequence,
// never concurrently with itself. It must not block, must not throw, and must
// not destroy the Scheduler; it may call Submit, Cancel and Metrics. Every
// sequence that Submit accepted receives exactly one update with
// finished == true, and that is its last call: after it returns the
// scheduler has dropped on_update (and whatever it captured). Updates are
// sent after the step's bookkeeping: when a final update arrives, the
// sequence's blocks are already free and Metrics() already counts it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/generate/generator.h"  // TokenTextDecoder, FinishReason
#include "engine/generate/logprobs.h"
#include "engine/model/kv_cache.h"
#include "engine/model/language_model.h"
#include "engine/sampling_params.h"
#include "engine/status.h"

namespace engine {

// Identifies a submitted sequence; unique for the Scheduler's lifetime, never 0.
using SequenceId = std::uint64_t;

struct SchedulerOptions {
  // Token budget of one step: decode tokens (one per decoding sequence) plus
  // prefill chunks. Bounds step latency; must be >= 1.
  std::int64_t max_batch_tokens = 512;
  // Most sequences in one step (running = admitted, not finished). >= 1.
  std::int64_t max_running_sequences = 64;
  // Most requests waiting for admission (including preempted ones); Submit
  // beyond it returns ResourceExhausted. >= 1. Checked against the queue as
  // of the loop's last iteration, so it is a soft bound by a few requests.
  std::int64_t max_queued_requests = 256;
  // Share full KV blocks between sequences with a common prompt prefix.
  bool enable_prefix_caching = true;
  // Longest sequence (prompt + max_tokens) accepted; 0: the model's
  // max_position_embeddings. Always capped by the KV cache's capacity
  // (num_blocks * block_size), so any accepted sequence fits alone.
  std::int64_t max_context_tokens = 0;
};

// Makes one TokenTextDecoder per sequence (e.g. over the tokenizer's
// IncrementalDecoder). Called on the loop thread. Must return non-null.
using TokenTextDecoderFactory = std::function<std::unique_ptr<TokenTextDecoder>()>;

struct SequenceRequest {
  std::vector<std::int32_t> prompt_ids;  // not empty
  SamplingParams params;                 // validated by Submit
  // This sequence's detokenizer (e.g. with per-request skip_special_tokens);
  // null: one from the Scheduler's factory; no factory either: no text
  // (updates carry ids only) and params.stop must be empty.
  std::unique_ptr<TokenTextDecoder> decoder;
};

struct SequenceUpdate {
  SequenceId id = 0;
  // Text that became final with this update (incrementally detokenized, stop
  // strings applied exactly as engine::Generate does: text that could begin a
  // stop string is held back; the stop string and what follows never appear).
  std::string text;
  // Tokens generated since the previous update (usually one); an EOS id is
  // included (as Generate does) but adds no text.
  std::vector<std::int32_t> token_ids;
  // One per token_ids entry when params.logprobs is set (raw-logit
  // log-softmax, see engine/generate/logprobs.h); empty otherwise.
  std::vector<PositionLogprobs> logprobs;

  // The last update of the sequence. It may itself carry text and tokens.
  bool finished = false;
  // When finished: OK with finish_reason; or Cancelled (Cancel), Unavailable
  // (Shutdown), or the model's error. Always OK when !finished.
  Status status;
  FinishReason finish_reason = FinishReason::kLength;  // meaningful when finished && status.ok()
  // Usage, filled in the finished update (0 before).
  std::int64_t prompt_tokens = 0;         // prompt length
  std::int64_t cached_prompt_tokens = 0;  // prompt tokens taken from the prefix cache at admission
  std::int64_t completion_tokens = 0;     // tokens generated
};

using SequenceUpdateCallback = std::function<void(const SequenceUpdate&)>;

// Fixed-bucket histogram. counts[i] holds observations in
// (upper_bounds[i-1], upper_bounds[i]]; counts.back() (one more entry than
// upper_bounds) those above the last bound. Not cumulative (Prometheus
// wants the running sum; the server adds it up).
struct Histogram {
  std::vector<double> upper_bounds;  // seconds, ascending
  std::vector<std::uint64_t> counts;
  std::uint64_t count = 0;
  double sum = 0;  // seconds
};

// A consistent snapshot as the loop thread last published it (when a step
// starts, and when it ends before its callbacks run), plus Submit's own
// counters and queue. Counters are totals since creation.
struct SchedulerMetrics {
  // Requests by outcome.
  std::uint64_t requests_finished_stop = 0;
  std::uint64_t requests_finished_length = 0;
  std::uint64_t requests_cancelled = 0;   // Cancel, or Shutdown with the request unfinished
  std::uint64_t requests_failed = 0;      // the model returned an error
  std::uint64_t requests_rejected = 0;    // Submit returned an error (queue full, invalid, shut down)

  std::uint64_t prompt_tokens = 0;             // prompt lengths of admitted requests (first admission)
  std::uint64_t prefill_tokens_computed = 0;   // prefill tokens run through the model (recomputes included)
  std::uint64_t prefill_tokens_cached = 0;     // prefill tokens taken from the prefix cache instead
  std::uint64_t generated_tokens = 0;          // tokens sampled
  std::uint64_t preemptions = 0;               // sequences preempted for lack of KV blocks
  std::uint64_t steps = 0;                     // model steps run

  std::int64_t queue_depth = 0;        // waiting for admission (new and preempted)
  std::int64_t running_sequences = 0;  // admitted and unfinished

  // KV blocks: used (held by running sequences) + cached (only in the prefix
  // cache, evictable) + free == total.
  std::int64_t kv_blocks_total = 0;
  std::int64_t kv_blocks_used = 0;
  std::int64_t kv_blocks_cached = 0;
  std::int64_t kv_blocks_free = 0;

  Histogram step_latency;          // wall time of each model step
  Histogram time_to_first_token;   // Submit to the first sampled token
};

class Scheduler {
 public:
  // Starts the loop thread. `model` and `cache` must outlive the Scheduler and
  // be used by nobody else meanwhile (the loop thread runs the model and owns
  // the cache's blocks). `eos_token_ids`: LoadedModel::eos_token_ids.
  // `decoder_factory` may be null (no text unless a request brings its own
  // decoder). InvalidArgument for options out of range.
  static StatusOr<std::unique_ptr<Scheduler>> Create(LanguageModel& model, KvCache& cache,
                                                     SchedulerOptions options,
                                                     std::vector<std::int32_t> eos_token_ids,
                                                     TokenTextDecoderFactory decoder_factory = nullptr);

  // Shutdown(), then gives every KV block (prefix cache included) back to the
  // cache. REQUIRES: not called from an on_update callback.
  ~Scheduler();

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a sequence; it joins the running batch at the next step it fits.
  // Thread-safe. Errors (nothing queued, on_update never called):
  //   InvalidArgument: empty prompt, invalid params, a null on_update, stop
  //     strings without any decoder, a token id outside the vocabulary, or
  //     prompt + max_tokens beyond the context (the message names both
  //     numbers: "prompt of 900 tokens + max_tokens 200 exceeds the context
  //     of 1024 tokens");
  //   ResourceExhausted: the queue holds max_queued_requests (retry later);
  //   Unavailable: the scheduler is shutting down.
  StatusOr<SequenceId> Submit(SequenceRequest request, SequenceUpdateCallback on_update);

  // Stops a sequence: its KV blocks are freed before the next step starts
  // (at once if the loop is idle), and it receives its finished update with
  // status Cancelled. Unknown or already finished ids are ignored.
  // Thread-safe; never blocks on a step.
  void Cancel(SequenceId id);

  // A snapshot of the counters and gauges. Thread-safe; never blocks on a step.
  SchedulerMetrics Metrics() const;

  // The longest prompt + max_tokens Submit accepts (see SchedulerOptions).
  std::int64_t context_limit() const;

  // Stops accepting requests, lets a running step finish, finishes every
  // outstanding sequence with status Unavailable (counted as cancelled),
  // frees their blocks and joins the loop thread. Idempotent; thread-safe.
  // REQUIRES: not called from an on_update callback.
  void Shutdown();

 private:
  class Loop;
  explicit Scheduler(std::unique_ptr<Loop> loop);
  std::unique_ptr<Loop> loop_;
};

}  // namespace engine
