// engine-bench: CPU decode speed of a model folder, measured in one run.
//
//   engine-bench MODEL_DIR [PROMPT_TOKENS=32] [DECODE_TOKENS=128] [REPEATS=3]
//
// Runs greedy generation (EOS ignored) from a fixed synthetic prompt and
// reports prefill and decode tokens/s (best of REPEATS). Decode on a CPU is
// bound by reading the FP32 weights once per token, so it also prints the
// weight bytes streamed per second next to a memcpy bandwidth measured in the
// same run: the ratio is how close decode gets to the memory roofline (a model
// that fits in cache can exceed 1). A benchmark, never a test: nothing here
// passes or fails on speed.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "engine/generate/generator.h"
#include "engine/tools/command_support.h"
#include "engine/tools/engine_setup.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Parameters read per decode token (FP32 weights; the LM head and, untied, the embedding row).
double WeightBytesPerToken(const engine::ModelConfig& c) {
  const double d = static_cast<double>(c.hidden_size), h = static_cast<double>(c.head_dim);
  const double H = static_cast<double>(c.num_attention_heads), K = static_cast<double>(c.num_key_value_heads);
  const double F = static_cast<double>(c.intermediate_size), V = static_cast<double>(c.vocab_size);
  const double per_layer = d * H * h * 2 + d * K * h * 2 + 3 * d * F + 2 * d;
  return 4.0 * (per_layer * static_cast<double>(c.num_hidden_layers) + V * d + d);
}

// Bytes per second of a large memcpy (read + write counted once each).
double MemcpyBandwidth() {
  const std::size_t bytes = 256u << 20;
  std::vector<char> a(bytes, 1), b(bytes, 2);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    const auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    const auto t1 = Clock::now();
    best = std::max(best, 2.0 * static_cast<double>(bytes) / Seconds(t0, t1));
    a[static_cast<std::size_t>(i)] = b[static_cast<std::size_t>(i) + 1];  // keep the copies observable
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace engine;
  if (argc < 2) {
    std::fprintf(stderr, "usage: engine-bench MODEL_DIR [PROMPT_TOKENS=32] [DECODE_TOKENS=128] [REPEATS=3]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int prompt_tokens = argc > 2 ? std::atoi(argv[2]) : 32;
  const int decode_tokens = argc > 3 ? std::atoi(argv[3]) : 128;
  const int repeats = argc > 4 ? std::atoi(argv[4]) : 3;
  if (prompt_tokens < 1 || decode_tokens < 1 || repeats < 1) {
    std::fprintf(stderr, "engine-bench: token counts and repeats must be positive\n");
    return 2;
  }

  tools::EngineOptions options;  // the CPU, float32
  options.max_batch_tokens = prompt_tokens;
  options.max_running_sequences = 1;
  options.kv_cache_blocks = (prompt_tokens + decode_tokens + 1 + 15) / 16;
  std::unique_ptr<tools::Engine> engine;
  if (int code = tools::StartEngine(dir, options, engine); code != tools::kExitOk) return code;
  LanguageModel& model = *engine->loaded.model;
  const ModelConfig& config = model.config();
  if (prompt_tokens + decode_tokens > config.max_position_embeddings) {
    std::fprintf(stderr, "engine-bench: %d + %d tokens exceed max_position_embeddings %lld\n", prompt_tokens,
                 decode_tokens, static_cast<long long>(config.max_position_embeddings));
    return 2;
  }
  KvCache* cache = &*engine->cache;

  std::vector<std::int32_t> prompt;
  for (int i = 0; i < prompt_tokens; ++i) prompt.push_back(static_cast<std::int32_t>((i * 7919 + 13) % config.vocab_size));

  double best_prefill = 0, best_decode = 0;
  for (int r = 0; r < repeats; ++r) {
    // Prefill alone: one generated token.
    SamplingParams one;
    one.temperature = 0;
    one.max_tokens = 1;
    one.ignore_eos = true;
    auto t0 = Clock::now();
    if (!Generate(model, *cache, prompt, one, {}).ok()) return 1;
    const double prefill_s = Seconds(t0, Clock::now());
    // Prefill + decode; decode time is the difference.
    SamplingParams many = one;
    many.max_tokens = decode_tokens + 1;
    t0 = Clock::now();
    auto result = Generate(model, *cache, prompt, many, {});
    if (!result.ok()) return 1;
    const double total_s = Seconds(t0, Clock::now());
    best_prefill = std::max(best_prefill, prompt_tokens / prefill_s);
    best_decode = std::max(best_decode, decode_tokens / std::max(total_s - prefill_s, 1e-9));
  }
  const double weight_bytes = WeightBytesPerToken(config);
  const double memcpy_bw = MemcpyBandwidth();
  std::printf("model            %s (%s, %lld layers, hidden %lld, vocab %lld)\n", dir.c_str(),
              config.architecture_name.c_str(), static_cast<long long>(config.num_hidden_layers),
              static_cast<long long>(config.hidden_size), static_cast<long long>(config.vocab_size));
  std::printf("prompt / decode  %d / %d tokens, best of %d\n", prompt_tokens, decode_tokens, repeats);
  std::printf("prefill          %.1f tokens/s\n", best_prefill);
  std::printf("decode           %.1f tokens/s (%.3f ms/token)\n", best_decode, 1000.0 / best_decode);
  std::printf("weights/token    %.2f MB FP32\n", weight_bytes / 1e6);
  std::printf("weight stream    %.2f GB/s vs memcpy %.2f GB/s: ratio %.2f\n", weight_bytes * best_decode / 1e9,
              memcpy_bw / 1e9, weight_bytes * best_decode / memcpy_bw);
  return 0;
}
