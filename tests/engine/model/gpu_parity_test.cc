// The whole model on a GPU in float16 and bfloat16 against HF transformers,
// on the committed fixtures (docs/fixtures.md). Tagged [gpu]: without a GPU,
// or in a build without CUDA, every case reports "skipped" with the reason.
//
// The rule, per fixture case, for dtype D (float16, and bfloat16 where the
// GPU has it):
//   - teacher-forced logits at every prompt position: our worst error over
//     the case's positions against HF's float32 logits
//     (max_v |ours - hf32| / max_v |hf32|) is at most 1.5x HF's own worst
//     error in D on the same case (recorded by
//     scripts/fixtures/make_hf_fixtures.py --add-half-precision), with a
//     floor of D's own resolution. (On one H100, 2026-12-05: at most 1.04x
//     per case, while single positions reached 3.05x HF's error there.)
//   - the greedy continuation equals HF's float32 one, except that at the
//     first position where they differ, HF's float32 top-2 margin there must
//     be smaller than the logit error D allows (a near-tie that either
//     precision may break either way); such positions are printed.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/backends/factory/backend_factory.h"
#include "engine/comm/local_comm.h"
#include "engine/generate/generator.h"
#include "engine/model/load_model.h"
#include "skip.h"

using namespace engine;

namespace {

std::filesystem::path FixtureDir(const std::string& name) {
  return std::filesystem::path(CLUSTER_SOURCE_DIR) / "tests" / "fixtures" / "models" / name;
}

void CheckGpuParity(const std::string& name, const char* dtype) {
  auto backend = CreateBackend("cuda:0", dtype, "", /*batch_invariant=*/false);
  if (!backend.ok()) cluster::testing::SkipTest(std::string("cuda ") + dtype + ": " + backend.status().message());
  const std::filesystem::path dir = FixtureDir(name);
  std::ifstream in(dir / "reference.json");
  if (!in) cluster::testing::SkipTest("fixture " + dir.string() + " is absent");
  const nlohmann::json reference = nlohmann::json::parse(in);
  const std::string errors_key = std::string(dtype) + "_errors";
  if (!reference["cases"][0].contains(errors_key)) {
    cluster::testing::SkipTest("fixture " + name + " has no HF " + dtype +
                               " errors; add them on a GPU machine with scripts/fixtures/make_hf_fixtures.py "
                               "--out tests/fixtures/models --add-half-precision");
  }
  const double resolution = std::string(dtype) == "float16" ? 1e-3 : 8e-3;  // 2^-10, 2^-7

  LocalComm comm;
  auto loaded = LoadModel(dir, **backend, comm);
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  LanguageModel& model = *loaded->model;
  const std::int64_t vocab = model.config().vocab_size;
  auto cache = KvCache::Allocate(**backend, model.CacheShape(64, 16));
  REQUIRE(cache.ok());

  int case_index = 0;
  for (const auto& c : reference["cases"]) {
    INFO(name << " " << dtype << " case " << case_index);
    const auto prompt = c["prompt_ids"].get<std::vector<std::int32_t>>();
    const auto hf32 = c["logits"].get<std::vector<std::vector<double>>>();
    const auto hf_errors = c[errors_key].get<std::vector<double>>();
    KvBlockTable table;
    REQUIRE(cache->Reserve(table, static_cast<std::int64_t>(prompt.size())).ok());
    ForwardBatch batch = OneSequenceStep(prompt, 0, table.blocks, cache->block_size());
    batch.logit_rows = AllRows(prompt.size());
    auto ours = model.Forward(batch, *cache);
    cache->Release(table);
    REQUIRE(ours.ok());
    double worst_ratio = 0, worst_error = 0, largest_logit = 0;
    for (std::size_t p = 0; p < prompt.size(); ++p) {
      double max_diff = 0, max_ref = 0;
      for (std::int64_t v = 0; v < vocab; ++v) {
        const double got = ours->row(static_cast<std::int64_t>(p))[static_cast<std::size_t>(v)];
        REQUIRE(std::isfinite(got));
        max_diff = std::max(max_diff, std::abs(got - hf32[p][static_cast<std::size_t>(v)]));
        max_ref = std::max(max_ref, std::abs(hf32[p][static_cast<std::size_t>(v)]));
      }
      const double error = max_diff / max_ref;
      worst_error = std::max(worst_error, error);
      worst_ratio = std::max(worst_ratio, error / std::max(hf_errors[p], resolution));
      largest_logit = std::max(largest_logit, max_ref);
    }
    // The bound is on the case as a whole, as HF's own error is: position by
    // position the two half-precision paths round differently, and at a
    // position where HF's rounding happens to cancel, its error is no
    // yardstick (the per-position ratio is reported, not bounded).
    const double hf_worst = *std::max_element(hf_errors.begin(), hf_errors.end());
    std::printf("%s %s case %d: worst relative logit error %.3g, HF's %s worst %.3g (%.2fx; per position up to "
                "%.2fx)\n",
                name.c_str(), dtype, case_index, worst_error, dtype, hf_worst, worst_error / hf_worst, worst_ratio);
    CHECK(worst_error <= 1.5 * std::max(hf_worst, resolution));

    SamplingParams greedy;
    greedy.temperature = 0;
    greedy.max_tokens = c["max_new_tokens"].get<std::int64_t>();
    GenerateOptions options;
    options.eos_token_ids = loaded->eos_token_ids;
    auto generated = Generate(model, *cache, prompt, greedy, options);
    REQUIRE(generated.ok());
    const auto want = c["greedy_ids"].get<std::vector<std::int32_t>>();
    const auto margins = c["greedy_margins"].get<std::vector<double>>();
    const auto& got = generated->generated_ids;
    std::size_t k = 0;
    while (k < want.size() && k < got.size() && got[k] == want[k]) ++k;
    if (k < want.size() || got.size() != want.size()) {
      // Differ at step k: allowed only at a near-tie of HF's float32 logits.
      const double tolerance = 2 * worst_error * largest_logit;
      INFO("greedy tokens differ from HF float32 at step " << k << ": HF's top-2 margin there "
                                                           << (k < margins.size() ? margins[k] : -1.0)
                                                           << ", our logit error up to " << tolerance);
      REQUIRE(k < margins.size());
      CHECK(margins[k] < tolerance);
      std::printf("%s %s case %d: greedy differs at step %zu, a near-tie (HF margin %.3g < %.3g)\n", name.c_str(),
                  dtype, case_index, k, margins[k], tolerance);
    }
    ++case_index;
  }
}

}  // namespace

TEST_CASE("On the GPU in float16, Llama with GQA and llama3 rope stays within 1.5x HF's float16 error", "[gpu]") {
  CheckGpuParity("llama-gqa-llama3rope", "float16");
}
TEST_CASE("On the GPU in bfloat16, Llama with GQA and llama3 rope stays within 1.5x HF's bfloat16 error", "[gpu]") {
  CheckGpuParity("llama-gqa-llama3rope", "bfloat16");
}
TEST_CASE("On the GPU in float16, Qwen2 with biases stays within 1.5x HF's float16 error", "[gpu]") {
  CheckGpuParity("qwen2-bias", "float16");
}
TEST_CASE("On the GPU in bfloat16, Qwen2 with biases stays within 1.5x HF's bfloat16 error", "[gpu]") {
  CheckGpuParity("qwen2-bias", "bfloat16");
}
TEST_CASE("On the GPU in float16, tied embeddings stay within 1.5x HF's float16 error", "[gpu]") {
  CheckGpuParity("llama-tied", "float16");
}
TEST_CASE("On the GPU in float16, a sharded checkpoint stays within 1.5x HF's float16 error", "[gpu]") {
  CheckGpuParity("llama-sharded", "float16");
}
