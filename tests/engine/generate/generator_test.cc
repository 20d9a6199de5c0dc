// The generation loop on a tiny synthesised model: greedy equals the dense
// reference's greedy, seeds reproduce, and each finish (EOS, stop string,
// max tokens, full context) ends the run as documented.
#include "engine/generate/generator.h"

#include <catch2/catch.hpp>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/model/load_model.h"
#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;

namespace {

// Token t reads as "<t>"; the stream is what an incremental detokenizer gives.
class FakeDecoder final : public TokenTextDecoder {
 public:
  std::string Push(std::int32_t id) override { return "<" + std::to_string(id) + ">"; }
  std::string Flush() override { return ""; }
};

struct Fixture {
  testing::TempDir dir;
  testing::TinyModel tiny;
  CpuBackend backend;
  LocalComm comm;
  LoadedModel loaded;
  std::unique_ptr<KvCache> cache;

  explicit Fixture(std::vector<std::int32_t> eos = {1}, std::int64_t num_blocks = 16) {
    testing::TinyModelOptions o;
    o.eos_token_ids = std::move(eos);
    tiny = *testing::WriteTinyModel(dir.path(), o);
    loaded = std::move(*LoadModel(dir.path(), backend, comm));
    cache = std::make_unique<KvCache>(*KvCache::Allocate(backend, loaded.model->CacheShape(num_blocks, 4)));
  }

  StatusOr<GenerationResult> Run(const std::vector<std::int32_t>& prompt, const SamplingParams& p,
                                 TokenTextDecoder* decoder = nullptr, std::int64_t prefill_chunk = 512) {
    GenerateOptions options;
    options.eos_token_ids = loaded.eos_token_ids;
    options.decoder = decoder;
    options.prefill_chunk = prefill_chunk;
    return Generate(*loaded.model, *cache, prompt, p, options);
  }
};

SamplingParams Greedy(std::int64_t max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  return p;
}

}  // namespace

TEST_CASE("Greedy generation equals the dense reference's greedy continuation, however the prompt is chunked") {
  Fixture f(std::vector<std::int32_t>{});
  const std::vector<std::int32_t> prompt = {0, 5, 17, 3, 9};
  const auto want = testing::ReferenceGreedy(f.tiny, prompt, 10);
  for (std::int64_t chunk : {512, 2, 1}) {
    auto got = f.Run(prompt, Greedy(10), nullptr, chunk);
    REQUIRE(got.ok());
    CHECK(got->generated_ids == want);
    CHECK(got->finish_reason == FinishReason::kLength);
    CHECK(got->prompt_ids == prompt);
  }
  CHECK(f.cache->num_free_blocks() == 16);  // every block given back
}

TEST_CASE("Generation stops after an EOS id, which is kept in the ids but not in the text") {
  Fixture probe(std::vector<std::int32_t>{});
  const std::vector<std::int32_t> prompt = {0, 5, 17};
  const auto free_run = *probe.Run(prompt, Greedy(8));
  // Declare the third generated token an EOS id: the run must stop right there.
  Fixture f(/*eos=*/{free_run.generated_ids[2]});
  FakeDecoder decoder;
  auto got = f.Run(prompt, Greedy(8), &decoder);
  REQUIRE(got.ok());
  CHECK(got->finish_reason == FinishReason::kStop);
  // Unless an earlier token is the same id, the run is exactly 3 tokens.
  std::size_t first = 0;
  while (free_run.generated_ids[first] != free_run.generated_ids[2]) ++first;
  CHECK(got->generated_ids ==
        std::vector<std::int32_t>(free_run.generated_ids.begin(), free_run.generated_ids.begin() + first + 1));
  CHECK_THAT(got->text, !Contains("<" + std::to_string(free_run.generated_ids[2]) + ">"));

  SamplingParams ignore = Greedy(8);
  ignore.ignore_eos = true;
  CHECK(f.Run(prompt, ignore)->generated_ids == free_run.generated_ids);
}

TEST_CASE("A stop string ends generation and cuts the text before it, and text streams as it is produced") {
  Fixture f(std::vector<std::int32_t>{});
  const std::vector<std::int32_t> prompt = {0, 5, 17};
  FakeDecoder decoder;
  const auto free_run = *f.Run(prompt, Greedy(6), &decoder);
  const std::string stop = "<" + std::to_string(free_run.generated_ids[3]) + ">";
  const std::size_t cut = free_run.text.find(stop);

  SamplingParams p = Greedy(6);
  p.stop = {stop};
  FakeDecoder decoder2;
  std::string streamed;
  GenerateOptions options;
  options.eos_token_ids = {};
  options.decoder = &decoder2;
  options.on_text = [&](std::string_view t) { streamed += t; };
  auto got = Generate(*f.loaded.model, *f.cache, prompt, p, options);
  REQUIRE(got.ok());
  CHECK(got->finish_reason == FinishReason::kStop);
  CHECK(got->text == free_run.text.substr(0, cut));
  CHECK(streamed == got->text);
}

TEST_CASE("Sampling with a seed is reproducible, and log-probabilities come with each token") {
  Fixture f(std::vector<std::int32_t>{});
  SamplingParams p;
  p.temperature = 1.5;
  p.top_p = 0.9;
  p.seed = 1234;
  p.max_tokens = 12;
  p.logprobs = 2;
  const std::vector<std::int32_t> prompt = {0, 3};
  auto a = f.Run(prompt, p);
  auto b = f.Run(prompt, p);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->generated_ids == b->generated_ids);
  REQUIRE(a->logprobs.size() == a->generated_ids.size());
  for (std::size_t i = 0; i < a->logprobs.size(); ++i) {
    CHECK(a->logprobs[i].chosen.token == a->generated_ids[i]);
    CHECK(a->logprobs[i].chosen.logprob <= 0);
    REQUIRE(a->logprobs[i].top.size() == 2);
    CHECK(a->logprobs[i].top[0].logprob >= a->logprobs[i].top[1].logprob);
  }
}

TEST_CASE("Generation ends with finish reason length when the context is full") {
  Fixture f(/*eos=*/{}, /*num_blocks=*/2);  // 2 blocks of 4: 8 positions
  auto got = f.Run({0, 1, 2, 3, 4}, Greedy(100));
  REQUIRE(got.ok());
  CHECK(got->generated_ids.size() == 3);
  CHECK(got->finish_reason == FinishReason::kLength);

  auto full = f.Run({0, 1, 2, 3, 4, 5, 6, 7}, Greedy(1));
  CHECK(full.status().message() == "generate: the prompt has 8 tokens but the context holds 8; no room to generate");
}

TEST_CASE("Invalid sampling settings are refused before anything runs") {
  Fixture f;
  SamplingParams p;
  p.top_p = 0;
  CHECK(f.Run({0}, p).status().message() == "top_p must be in (0, 1], got 0.000000");
  p = SamplingParams{};
  p.stop = {"x"};
  CHECK(f.Run({0}, p).status().message() == "generate: stop strings need a tokenizer to turn tokens into text");
  CHECK(f.Run({}, SamplingParams{}).status().message() == "generate: the prompt has no tokens");
}
