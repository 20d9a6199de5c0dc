// infer-engine bench: the ratios' denominators (bench_math.h) for a real
// model's shape, and the command's report on a tiny model on the CPU, in a
// world of one and of four ranks.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "comm_test_support.h"
#include "common/subprocess.h"
#include "engine/tools/bench_math.h"
#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;

namespace {

ModelConfig Llama(std::int64_t vocab, std::int64_t hidden, std::int64_t layers, std::int64_t heads,
                  std::int64_t kv_heads, std::int64_t head_dim, std::int64_t intermediate) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = head_dim;
  c.intermediate_size = intermediate;
  return c;
}

ModelConfig Llama3_8B() { return Llama(128256, 4096, 32, 32, 8, 128, 14336); }

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
  CHECK(tools::KvBytesPerToken(c, 2) == 131072);  // K and V, 32 layers, 8 kv heads of 128, 2 bytes
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
  // The check: on the CPU the unoptimised engine runs the same code, so every token agrees.
  CHECK(report["check"] == nlohmann::json({{"sequences", 4},
                                           {"positions", 4 * 33},
                                           {"same", 4 * 33},
                                           {"largest_margin_where_different", 0.0}}));

  auto [text_code, text] = Bench("--model " + model + " --batch 1 --context 1000000 --prefill 4 --steps 1");
  CHECK(text_code == 0);
  CHECK_THAT(text, Contains("device    cpu (float32)\n"));
  CHECK_THAT(text, Contains("decode  batch  context   ms/step   tokens/s      GB/s  of memory roof\n"));
  CHECK_THAT(text, Contains("      1  1000000   skipped: longer than the model's context\n"));
  CHECK_THAT(text, Contains("\ncheck    greedy tokens of 4 sequences, 132 positions: 132 the same as an unoptimised "
                            "engine's (--eager --batch-invariant) fed the same tokens\n"));

  auto [unchecked_code, unchecked] = Bench("--model " + model + " --batch 1 --context 8 --prefill 4 --steps 1 --no-check");
  CHECK(unchecked_code == 0);
  CHECK_THAT(unchecked, Contains("\ncheck    skipped: --no-check\n"));

  auto [bad_code, bad] = Bench("--model " + model + " --batch 0");
  CHECK(bad_code == 2);
  CHECK_THAT(bad, Contains("--batch"));
}

TEST_CASE("bench in a TP2 x PP2 world of four CPU ranks: rank 0 reports the world's steps, the others follow silently") {
  testing::TempDir dir;
  REQUIRE(testing::WriteTinyModel(dir.path(), testing::TinyModelOptions{}).ok());  // 2 layers, 4/2 heads
  // The ranks as clusterd starts them: the job's token in the environment.
  ::setenv("INFER_ENGINE_RENDEZVOUS_TOKEN", "bench-world-test-token", 1);
  ::unsetenv("GLOO_SOCKET_IFNAME");
  const std::string address = testing::FreeAddress();
  auto ranks = testing::RunRanksWithin(
      4,
      [&](int rank) {
        return std::vector<std::string>{
            INFER_ENGINE_BIN, "bench", "--model", dir.path().string(), "--batch", "1,3", "--context", "8",
            "--prefill", "6", "--steps", "2", "--json", "--world-size", "4", "--rank", std::to_string(rank),
            "--tensor-parallel", "2", "--pipeline-parallel", "2", "--rendezvous", address, "--join-timeout", "30"};
      },
      60'000);
  REQUIRE(ranks.ok());
  const std::vector<cluster::ProcessResult>& runs = *ranks;
  for (std::size_t rank = 0; rank < runs.size(); ++rank) {
    INFO("rank " << rank << " stderr: " << runs[rank].err);
    CHECK(runs[rank].exit_code == 0);
    if (rank > 0) {
      CHECK(runs[rank].out.empty());
      CHECK_THAT(runs[rank].err, Contains("infer-engine: rank " + std::to_string(rank) + " (stage " +
                                          std::to_string(rank / 2) + " of 2, tensor-parallel rank " +
                                          std::to_string(rank % 2) + " of 2"));
    }
  }
  const auto report = nlohmann::json::parse(runs[0].out);
  CHECK(report["world"] == nlohmann::json({{"ranks", 4}, {"tensor_parallel", 2}, {"pipeline_parallel", 2}}));
  REQUIRE(report["decode"].size() == 2);
  for (const auto& row : report["decode"]) {
    INFO(row.dump());
    CHECK(row["tokens_per_s"].get<double>() > 0);
    CHECK(row["bytes_per_s"].get<double>() > 0);
  }
  // A step's bytes and FLOPs count halved: a stage's two ranks share them.
  const ModelConfig c = Llama(40, 16, 2, 4, 2, 4, 24);  // the tiny model's shape
  CHECK(report["decode"][0]["bytes_per_step"].get<double>() ==
        Approx(tools::DecodeBytesPerStep(c, 4, 1, 9, tools::KvBytesPerToken(c, 4)) / 2));  // float32, mid-run context 9
  CHECK(report["check"]["skipped"] == "in a world of several ranks (scripts/gpu/scaling compares the layouts' tokens)");
  REQUIRE(report["prefill"].size() == 1);
  const auto& prefill = report["prefill"][0];
  CHECK(prefill["flops_per_s"].get<double>() * prefill["ms"].get<double>() / 1e3 ==
        Approx(tools::PrefillFlops(c, 6) / 2));
}

TEST_CASE("bench refuses a world whose sizes do not add up, naming the flags") {
  testing::TempDir dir;
  REQUIRE(testing::WriteTinyModel(dir.path(), testing::TinyModelOptions{}).ok());
  auto [code, out] = Bench("--model " + dir.path().string() +
                           " --world-size 2 --rank 0 --tensor-parallel 3 --rendezvous 127.0.0.1:1");
  CHECK(code == 2);
  CHECK_THAT(out, Contains("--world-size must equal --tensor-parallel x --pipeline-parallel"));
}
