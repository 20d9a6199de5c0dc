// Parity with HF transformers on the committed fixtures
// (tests/fixtures/models/<name>/, format in docs/fixtures.md): tiny
// random-weight models whose logits and greedy continuations were produced
// by transformers on a GPU machine in float32.
//
// The rule, per case:
//   - logits at every prompt position: max_v |ours[v] - hf[v]| / max_v |hf[v]|
//     <= 1e-4 (a relative tolerance on the row's scale, so near-zero logits
//     do not make it meaningless);
//   - the greedy continuation (temperature 0, up to max_new_tokens, stopping
//     after an EOS id) is identical, token for token.
// A fixture that is absent skips its test (exit code 4, see tests/CMakeLists.txt).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/generate/generator.h"
#include "engine/model/load_model.h"

using namespace engine;

namespace {

constexpr double kRelativeTolerance = 1e-4;

std::filesystem::path FixtureDir(const std::string& name) {
  return std::filesystem::path(CLUSTER_SOURCE_DIR) / "tests" / "fixtures" / "models" / name;
}

void SkipUnlessPresent(const std::filesystem::path& dir) {
  if (!std::filesystem::exists(dir / "reference.json")) {
    std::printf("SKIPPED: fixture %s is absent\n", dir.string().c_str());
    std::fflush(stdout);
    std::_Exit(4);
  }
}

void CheckParity(const std::string& name) {
  const std::filesystem::path dir = FixtureDir(name);
  SkipUnlessPresent(dir);
  std::ifstream in(dir / "reference.json");
  const nlohmann::json reference = nlohmann::json::parse(in);
  REQUIRE(reference["model"] == name);

  CpuBackend backend;
  LocalComm comm;
  auto loaded = LoadModel(dir, backend, comm);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  if (reference.contains("eos_token_ids")) {
    CHECK(loaded->eos_token_ids == reference["eos_token_ids"].get<std::vector<std::int32_t>>());
  }
  LanguageModel& model = *loaded->model;
  const std::int64_t vocab = model.config().vocab_size;
  auto cache = KvCache::Allocate(backend, model.CacheShape(/*num_blocks=*/64, /*block_size=*/16));
  REQUIRE(cache.ok());

  int case_index = 0;
  for (const auto& c : reference["cases"]) {
    INFO("model " << name << ", case " << case_index++);
    const auto prompt = c["prompt_ids"].get<std::vector<std::int32_t>>();
    const auto hf_logits = c["logits"].get<std::vector<std::vector<double>>>();
    REQUIRE(hf_logits.size() == prompt.size());

    // Logits at every prompt position, in one prefill step.
    KvBlockTable table;
    REQUIRE(cache->Reserve(table, static_cast<std::int64_t>(prompt.size())).ok());
    ForwardBatch batch = OneSequenceStep(prompt, 0, table.blocks, cache->block_size());
    batch.logit_rows = AllRows(prompt.size());
    auto ours = model.Forward(batch, *cache);
    cache->Release(table);
    REQUIRE(ours.ok());
    double worst = 0;
    for (std::size_t p = 0; p < prompt.size(); ++p) {
      REQUIRE(static_cast<std::int64_t>(hf_logits[p].size()) == vocab);
      double max_diff = 0, max_ref = 0;
      for (std::int64_t v = 0; v < vocab; ++v) {
        const double hf = hf_logits[p][static_cast<std::size_t>(v)];
        max_diff = std::max(max_diff, std::abs(ours->row(static_cast<std::int64_t>(p))[static_cast<std::size_t>(v)] - hf));
        max_ref = std::max(max_ref, std::abs(hf));
      }
      INFO("position " << p << ": max |ours - hf| = " << max_diff << ", max |hf| = " << max_ref);
      CHECK(max_diff / max_ref <= kRelativeTolerance);
      worst = std::max(worst, max_diff / max_ref);
    }
    std::printf("%s case %d: worst relative logit error %.3g\n", name.c_str(), case_index - 1, worst);

    // Greedy continuation through the generation loop (prefill + paged decode).
    SamplingParams greedy;
    greedy.temperature = 0;
    greedy.max_tokens = c["max_new_tokens"].get<std::int64_t>();
    GenerateOptions options;
    options.eos_token_ids = loaded->eos_token_ids;
    auto generated = Generate(model, *cache, prompt, greedy, options);
    REQUIRE(generated.ok());
    CHECK(generated->generated_ids == c["greedy_ids"].get<std::vector<std::int32_t>>());
  }
}

}  // namespace

TEST_CASE("Llama with GQA and llama3 rope scaling (F32) matches HF transformers") {
  CheckParity("llama-gqa-llama3rope");
}

TEST_CASE("Qwen2 with q/k/v biases (BF16 on disk) matches HF transformers") { CheckParity("qwen2-bias"); }

TEST_CASE("Llama with tied embeddings (F16 on disk) matches HF transformers") { CheckParity("llama-tied"); }

TEST_CASE("Llama from a sharded checkpoint matches HF transformers") { CheckParity("llama-sharded"); }
