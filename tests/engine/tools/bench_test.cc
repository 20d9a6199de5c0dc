// infer-engine bench: the ratios' denominators (bench_math.h) for a real
// model's shape, and the command's report on a tiny model on the CPU.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/tools/bench_math.h"
#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;

namespace {

ModelConfig Llama3_8B() {
  ModelConfig c;
  c.vocab_size = 128256;
  c.hidden_size = 4096;
  c.num_hidden_layers = 32;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.intermediate_size = 14336;
  return c;
}

// infer-engine with `args`; its exit code and stdout.
std::pair<int, std::string> Bench(const std::string& args) {
  testing::TempDir io;
  const std::string command =
      std::string(INFER_ENGINE_BIN) + " bench " + args + " > " + (io.path() / "out").string() + " 2>&1";
  const int status = std::system(command.c_str());
  std::stringstream out;
  out << std::ifstream(io.path() / "out").rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out.str()};
}

}  // namespace

TEST_CASE("A decode step of Llama-3-8B reads its 7.5 billion matmul weights (all but the embedding) and the KV cache") {
  const ModelConfig c = Llama3_8B();
  CHECK(tools::MatmulWeights(c) == 7504924672.0);
  // FP16 weights, batch 32 at 512 tokens of 128 KiB of keys and values each.
  CHECK(tools::DecodeBytesPerStep(c, 2, 32, 512, 131072) == 2 * 7504924672.0 + 32.0 * 512 * 131072);
  // Prefill of 2,048 tokens: 2 FLOPs per weight per token for the layers, one
  // row of the LM head, and causal attention's 2 * N^2 * head_dim per head.
  const double layers = 7504924672.0 - 4096 - 128256.0 * 4096;
  CHECK(tools::PrefillFlops(c, 2048) ==
        Approx(2 * 2048 * layers + 2 * 128256.0 * 4096 + 32 * 32 * 2 * 2048.0 * 2048 * 128).epsilon(1e-12));
}

TEST_CASE("bench measures the roofs, then each decode and prefill case, listing what it cannot run with the reason") {
  testing::TempDir dir;
  testing::TinyModelOptions o;
  o.vocab_size = 260;
  REQUIRE(testing::WriteTinyModel(dir.path(), o).ok());
  const std::string model = dir.path().string();

  auto [code, out] = Bench("--model " + model + " --batch 1,2 --context 8,1000000 --prefill 4 --steps 2 --json");
  REQUIRE(code == 0);
  const auto report = nlohmann::json::parse(out);
  CHECK(report["device"] == "cpu (float32)");
  CHECK(report["memory_bandwidth_bytes_per_s"].get<double>() > 0);
  CHECK(report["gemm_flops_per_s"].get<double>() > 0);
  REQUIRE(report["decode"].size() == 4);
  for (const auto& row : report["decode"]) {
    INFO(row.dump());
    if (row["context"] == 1000000) {
      CHECK(row["skipped"] == "longer than the model's context");
    } else {
      CHECK(row["tokens_per_s"].get<double>() > 0);
      CHECK(row["fraction_of_bandwidth"].get<double>() > 0);
    }
  }
  REQUIRE(report["prefill"].size() == 1);
  CHECK(report["prefill"][0]["tokens"] == 4);
  CHECK(report["prefill"][0]["fraction_of_gemm"].get<double>() > 0);

  auto [text_code, text] = Bench("--model " + model + " --batch 1 --context 1000000 --prefill 4 --steps 1");
  CHECK(text_code == 0);
  CHECK_THAT(text, Contains("device    cpu (float32)\n"));
  CHECK_THAT(text, Contains("decode  batch  context   ms/step   tokens/s      GB/s  of memory roof\n"));
  CHECK_THAT(text, Contains("      1  1000000   skipped: longer than the model's context\n"));

  auto [bad_code, bad] = Bench("--model " + model + " --batch 0");
  CHECK(bad_code == 2);
  CHECK_THAT(bad, Contains("--batch"));
}
