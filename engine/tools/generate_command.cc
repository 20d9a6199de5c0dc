// infer-engine generate: one prompt in, generated text out (streamed), or a
// JSON report with --json.
//
// The prompt is --prompt TEXT (tokenized with the model's special tokens,
// e.g. Llama 3's BOS, as an OpenAI completions request would be), --prompt
// TEXT --chat (rendered by the chat template as one user message with the
// generation prompt, then tokenized without adding special tokens: the
// template writes them), or --prompt-ids 1,2,3 (used as is; then the folder
// needs no tokenizer, and without one no text is produced).
//
// Sampling starts from the model's generation_config.json as HF's generate
// reads it (do_sample absent or false: greedy; true: its temperature, top_p
// and top_k, top_k 50 when unset); every flag given overrides it.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/chat/chat_template.h"
#include "engine/model/model_config.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"
#include "engine/tools/engine_setup.h"

namespace engine::tools {
namespace {

// Prompt tokens per prefill step (GenerateOptions::prefill_chunk).
constexpr std::int64_t kPrefillChunk = 512;

struct GenerateFlags {
  std::string model;
  std::string prompt;
  std::string prompt_ids;
  bool chat = false;
  std::int64_t max_tokens = 128;
  double temperature = 1.0, top_p = 1.0, min_p = 0.0;
  std::int64_t top_k = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> stop;
  double repetition_penalty = 1.0, presence_penalty = 0.0, frequency_penalty = 0.0;
  int logprobs = 0;
  bool json = false;
  bool ignore_eos = false;
  EngineOptions engine;  // --device, --dtype, ...
  // Which optional flags were given.
  CLI::Option *prompt_opt = nullptr, *ids_opt = nullptr, *temperature_opt = nullptr, *top_p_opt = nullptr,
              *top_k_opt = nullptr, *seed_opt = nullptr, *logprobs_opt = nullptr, *repetition_opt = nullptr;
};

SamplingParams BuildParams(const GenerateFlags& f, const GenerationConfig& g) {
  SamplingParams p;
  const bool do_sample = g.do_sample.value_or(false);
  p.temperature = do_sample ? g.temperature.value_or(1.0) : 0.0;
  p.top_p = do_sample ? g.top_p.value_or(1.0) : 1.0;
  p.top_k = do_sample ? g.top_k.value_or(50) : 0;
  p.repetition_penalty = g.repetition_penalty.value_or(1.0);
  if (f.temperature_opt->count() > 0) p.temperature = f.temperature;
  if (f.top_p_opt->count() > 0) p.top_p = f.top_p;
  if (f.top_k_opt->count() > 0) p.top_k = f.top_k;
  if (f.repetition_opt->count() > 0) p.repetition_penalty = f.repetition_penalty;
  if (f.seed_opt->count() > 0) p.seed = f.seed;
  if (f.logprobs_opt->count() > 0) p.logprobs = f.logprobs;
  p.min_p = f.min_p;
  p.presence_penalty = f.presence_penalty;
  p.frequency_penalty = f.frequency_penalty;
  p.max_tokens = f.max_tokens;
  p.stop = f.stop;
  p.ignore_eos = f.ignore_eos;
  return p;
}

nlohmann::json LogprobsJson(const std::vector<PositionLogprobs>& logprobs) {
  nlohmann::json out = nlohmann::json::array();
  for (const PositionLogprobs& lp : logprobs) {
    nlohmann::json top = nlohmann::json::array();
    for (const TokenLogprob& t : lp.top) top.push_back({{"token", t.token}, {"logprob", t.logprob}});
    out.push_back({{"token", lp.chosen.token}, {"logprob", lp.chosen.logprob}, {"top_logprobs", top}});
  }
  return out;
}

int RunGenerate(const GenerateFlags& f) {
  const bool has_prompt = f.prompt_opt->count() > 0, has_ids = f.ids_opt->count() > 0;
  if (has_prompt == has_ids) return UsageError("generate: give exactly one of --prompt and --prompt-ids");
  if (f.chat && !has_prompt) return UsageError("generate: --chat renders --prompt; it cannot take --prompt-ids");
  const std::filesystem::path dir = f.model;

  // The tokenizer: needed for --prompt, used for output text when present.
  std::unique_ptr<Tokenizer> tokenizer;
  if (has_prompt || HasTokenizer(dir)) {
    auto loaded = Tokenizer::FromFile(dir);
    if (!loaded.ok()) return Failure(loaded.status());
    tokenizer = std::move(*loaded);
  }
  if (!f.stop.empty() && !tokenizer) {
    return UsageError("generate: --stop needs the model's tokenizer.json to read the generated text; " +
                      dir.string() + " has none");
  }

  std::vector<std::int32_t> prompt;
  if (has_ids) {
    auto ids = ParseIdList(f.prompt_ids);
    if (!ids.ok()) return UsageError(ids.status().message());
    prompt = std::move(*ids);
  } else if (f.chat) {
    auto chat = ChatTemplate::FromModelDir(dir);
    if (!chat.ok()) return Failure(chat.status());
    auto text = chat->Render({ChatMessage{"user", f.prompt, std::nullopt}}, /*add_generation_prompt=*/true);
    if (!text.ok()) return Failure(text.status());
    prompt = tokenizer->Encode(*text, /*add_special_tokens=*/false);
  } else {
    prompt = tokenizer->Encode(f.prompt, /*add_special_tokens=*/true);
  }
  if (prompt.empty()) return UsageError("generate: the prompt is empty");

  auto config = LoadModelConfig(dir);
  if (!config.ok()) return Failure(config.status());
  for (std::int32_t id : prompt) {
    if (id >= config->vocab_size) {
      return UsageError("generate: prompt token id " + std::to_string(id) + " is outside the vocabulary of " +
                        std::to_string(config->vocab_size));
    }
  }
  auto generation = LoadGenerationConfig(dir);
  if (!generation.ok()) return Failure(generation.status());
  const SamplingParams params = BuildParams(f, *generation);
  if (Status s = ValidateSamplingParams(params); !s.ok()) return UsageError("generate: " + s.message());

  // One sequence: steps of up to kPrefillChunk tokens, a KV cache of exactly its positions.
  EngineOptions engine_options = f.engine;
  const std::int64_t positions = std::min<std::int64_t>(config->max_position_embeddings,
                                                        static_cast<std::int64_t>(prompt.size()) + params.max_tokens);
  engine_options.max_batch_tokens = std::min(kPrefillChunk, static_cast<std::int64_t>(prompt.size()));
  engine_options.max_running_sequences = 1;
  if (engine_options.kv_cache_blocks == 0) {
    engine_options.kv_cache_blocks = (positions + engine_options.block_size - 1) / std::max<std::int64_t>(1, engine_options.block_size);
  }
  std::unique_ptr<Engine> engine;
  if (int code = StartEngine(dir, engine_options, engine); code != kExitOk) return code;
  LanguageModel& model = *engine->loaded.model;
  KvCache* cache = &*engine->cache;

  std::unique_ptr<TokenizerTextDecoder> decoder;
  if (tokenizer) decoder = std::make_unique<TokenizerTextDecoder>(*tokenizer);
  GenerateOptions options;
  options.eos_token_ids = engine->loaded.eos_token_ids;
  options.prefill_chunk = engine_options.max_batch_tokens;
  options.decoder = decoder.get();
  if (!f.json) {
    options.on_text = [](std::string_view text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
  }
  auto result = Generate(model, *cache, prompt, params, options);
  if (!result.ok()) {
    if (!f.json) std::fputc('\n', stdout);
    return result.status().code() == cluster::StatusCode::kInvalidArgument ? UsageError(result.status().message())
                                                                           : Failure(result.status());
  }

  if (f.json) {
    nlohmann::json out = {{"prompt_ids", result->prompt_ids},
                          {"generated_ids", result->generated_ids},
                          {"text", result->text},
                          {"finish_reason", std::string(FinishReasonName(result->finish_reason))},
                          {"logprobs", LogprobsJson(result->logprobs)}};
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (!tokenizer) {
    // No tokenizer: the ids are the output.
    std::string ids;
    for (std::int32_t id : result->generated_ids) ids += (ids.empty() ? "" : " ") + std::to_string(id);
    std::printf("%s\n", ids.c_str());
  } else {
    std::fputc('\n', stdout);
  }
  return kExitOk;
}

}  // namespace

Subcommand AddGenerateCommand(CLI::App& parent) {
  auto flags = std::make_shared<GenerateFlags>();
  CLI::App* app = parent.add_subcommand("generate", "Generate a continuation of one prompt");
  GenerateFlags& f = *flags;
  app->add_option("--model", f.model, "Model folder (config.json, safetensors, tokenizer.json)")->required();
  f.prompt_opt = app->add_option("--prompt", f.prompt, "Prompt text");
  f.ids_opt = app->add_option("--prompt-ids", f.prompt_ids, "Prompt as token ids, e.g. 1,2,3 (no tokenizer needed)");
  app->add_flag("--chat", f.chat, "Render --prompt through the chat template as one user message");
  app->add_option("--max-tokens", f.max_tokens, "Most tokens to generate")->capture_default_str();
  f.temperature_opt = app->add_option("--temperature", f.temperature, "0 is greedy");
  f.top_p_opt = app->add_option("--top-p", f.top_p, "Nucleus sampling mass");
  f.top_k_opt = app->add_option("--top-k", f.top_k, "Keep the k most likely tokens (0: all)");
  app->add_option("--min-p", f.min_p, "Drop tokens less likely than min-p times the most likely");
  f.seed_opt = app->add_option("--seed", f.seed, "Seed for reproducible sampling");
  app->add_option("--stop", f.stop, "Stop when the text contains this string (repeatable)");
  f.repetition_opt = app->add_option("--repetition-penalty", f.repetition_penalty, "HF repetition penalty (1: off)");
  app->add_option("--presence-penalty", f.presence_penalty, "OpenAI presence penalty");
  app->add_option("--frequency-penalty", f.frequency_penalty, "OpenAI frequency penalty");
  f.logprobs_opt = app->add_option("--logprobs", f.logprobs, "Report log-probabilities of the top N tokens");
  app->add_flag("--ignore-eos", f.ignore_eos, "Keep generating through end-of-sequence tokens");
  app->add_flag("--json", f.json, "Print a JSON report instead of streaming text");
  AddEngineFlags(app, f.engine, "Device");
  return {app, [flags] { return RunGenerate(*flags); }};
}

}  // namespace engine::tools
