// The batch-1 decode estimate (decode_estimate.h): each token reads every
// weight once, stage after stage, at 75% of each GPU's datasheet memory
// bandwidth; the embedding is not read in full, the lm_head is.
#include "common/inventory/decode_estimate.h"
#include "reference_cluster.h"
#include "runtimes/engine/inventory.h"
#include "runtimes/vllm_docker/inventory.h"

#include <catch2/catch.hpp>

using namespace cluster;
using namespace cluster::inventory;

namespace {

using cluster::inventory::testing::Llama70B;
using cluster::inventory::testing::kTiedTinyLlamaLayer;
using cluster::inventory::testing::R1Cluster;
using cluster::inventory::testing::TiedTinyLlama;

DecodeEstimate Estimate(const Inventory& inv, const ModelFacts& facts) {
  StatusOr<Placement> placed = PlaceRanks(inv, facts.num_layers);
  REQUIRE(placed.ok());
  const DtypeDecision dtype = DecideDtype(inv, *placed, &facts);
  StatusOr<MemoryPlan> memory = PlanMemory(inv, *placed, facts, dtype.dtype);
  REQUIRE(memory.ok());
  return EstimateBatch1Decode(inv, *placed, facts, *memory);
}

// Per layer and rank at TP4 (docs/plan.md): 213,925,888 parameters; the
// lm_head shard 32,064 x 8192 = 262,668,288 and the final norm 8,192.
constexpr std::uint64_t kLayer = 213'925'888;
constexpr std::uint64_t kLmHead = 262'668'288 + 8'192;

}  // namespace

TEST_CASE("Every known GPU has its datasheet memory bandwidth") {
  CHECK(FindGpu("T4")->memory_bandwidth_gb_per_s == 320);
  CHECK(FindGpu("A10")->memory_bandwidth_gb_per_s == 600);
  CHECK(FindGpu("L4")->memory_bandwidth_gb_per_s == 300);
  CHECK(FindGpu("A100-40GB")->memory_bandwidth_gb_per_s == 1555);
  CHECK(FindGpu("A100-80GB")->memory_bandwidth_gb_per_s == 2039);  // the SXM4 card
  CHECK(FindGpu("H100")->memory_bandwidth_gb_per_s == 3350);       // the SXM5 card (HBM3)
  CHECK(FindGpu("H200")->memory_bandwidth_gb_per_s == 4800);
  for (const GpuSpec& gpu : KnownGpus()) {
    INFO(gpu.name);
    CHECK(gpu.memory_bandwidth_gb_per_s >= 300);
  }
}

TEST_CASE("Reference case: 70B in float16 as TP4 x PP4 on 16 T4s decodes at about 6.9 tokens/s") {
  const DecodeEstimate e = Estimate(R1Cluster({"T4", "T4", "T4", "T4"}), Llama70B());
  REQUIRE(e.stages.size() == 4);
  // Stages 0-2 read their 20 layers: 20 * 213,925,888 * 2 = 8,557,035,520 bytes per GPU per
  // token. Stage 0 holds the embedding shard too (9.08 GB) but reads one row of it, not counted.
  CHECK(e.stages[0].bytes_per_token == 20 * kLayer * 2);
  CHECK(e.stages[0].bytes_per_token == 8'557'035'520);
  CHECK(e.stages[1].bytes_per_token == 8'557'035'520);
  CHECK(e.stages[2].bytes_per_token == 8'557'035'520);
  // Stage 3 reads the lm_head shard and the final norm as well: 9,082,388,480 bytes.
  CHECK(e.stages[3].bytes_per_token == (20 * kLayer + kLmHead) * 2);
  CHECK(e.stages[3].bytes_per_token == 9'082'388'480);
  CHECK(e.stages[3].host == "gpu4");
  CHECK(e.stages[3].bandwidth_gb_per_s == 320);
  // 34,753,495,040 bytes a token at 0.75 * 320 GB/s = 240 GB/s: 0.1448 s, 6.906 tokens/s.
  REQUIRE(e.tokens_per_s.has_value());
  CHECK(*e.tokens_per_s == 6.9);
  CHECK(e.summary ==
        "decode at batch 1: about 6.9 tokens/s (estimate of a memory-bound decode: the weights read once per "
        "token at 75% of each GPU's datasheet memory bandwidth; communication not counted)");
}

TEST_CASE("Stages on different GPUs each read at their own GPU's bandwidth, one after another") {
  // TP4 x PP2: 40 layers a stage. Stage 0: 40 * 213,925,888 * 2 = 17,114,071,040 bytes;
  // stage 1: (40 * 213,925,888 + 262,676,480) * 2 = 17,639,424,000 bytes.
  const DecodeEstimate h100 = Estimate(R1Cluster({"H100", "H100"}), Llama70B());
  CHECK(h100.stages[0].bytes_per_token == 17'114'071'040);
  CHECK(h100.stages[1].bytes_per_token == 17'639'424'000);
  // 34,753,495,040 bytes at 0.75 * 3,350 GB/s: 72.3 tokens/s.
  CHECK(h100.tokens_per_s == 72.0);
  CHECK_THAT(h100.summary, Catch::StartsWith("decode at batch 1: about 72 tokens/s ("));

  // Stage 1 on A100-80GBs (2,039 GB/s): 17.11 GB / 2,512.5 GB/s + 17.64 GB / 1,529.25 GB/s
  // = 6.81 ms + 11.53 ms: 54.5 tokens/s, to two digits 55 (not the H100's rate, not the A100's).
  const DecodeEstimate mixed = Estimate(R1Cluster({"H100", "A100-80GB"}), Llama70B());
  CHECK(mixed.stages[1].bandwidth_gb_per_s == 2039);
  CHECK(mixed.tokens_per_s == 55.0);
}

TEST_CASE("fp8 weights read 1 byte per linear weight, norms and lm_head in the dtype") {
  Inventory inv = R1Cluster({"T4", "T4", "T4", "T4"});
  inv.runtime.kind = "vllm-docker";
  VllmDockerOptionsOf(inv.runtime).args = {"--quantization", "fp8"};
  const DecodeEstimate e = Estimate(inv, Llama70B());
  // Stage 1: 20 layers of 213,909,504 linear parameters (1 byte) + 16,384 norm parameters (2 bytes).
  CHECK(e.stages[1].bytes_per_token == 20 * (213'909'504ull * 1 + 16'384ull * 2));
  // 3 * 4,278,845,440 + (4,278,845,440 + 262,676,480 * 2) = 17,640,734,720 bytes at 240 GB/s:
  // 13.6 tokens/s. The estimate is of a memory-bound decode on these GPUs, whichever runtime serves it.
  REQUIRE(e.tokens_per_s.has_value());
  CHECK(*e.tokens_per_s == 14.0);
}

TEST_CASE("With tied embeddings the last stage reads the shared matrix as its lm_head") {
  ModelFacts f = TiedTinyLlama();
  f.max_position_embeddings = 512;
  Inventory inv = R1Cluster({"T4", "T4"});
  inv.runtime.tensor_parallel = 1;
  const std::uint64_t layer = kTiedTinyLlamaLayer;
  const DecodeEstimate two_stages = Estimate(inv, f);
  CHECK(two_stages.stages[0].bytes_per_token == 2 * layer * 2);                  // no embedding
  CHECK(two_stages.stages[1].bytes_per_token == (2 * layer + 1000 * 64 + 64) * 2);  // the matrix + final norm

  inv.hosts.pop_back();
  inv.runtime.pipeline_parallel = 1;
  const DecodeEstimate one_stage = Estimate(inv, f);
  CHECK(one_stage.stages[0].bytes_per_token == (4 * layer + 1000 * 64 + 64) * 2);
}

TEST_CASE("Without a GPU's bandwidth there is no estimate, and the line says why and what to set") {
  Inventory no_model = R1Cluster({"T4", "T4", "T4", "T4"});
  no_model.hosts[1].gpu_model.reset();
  no_model.hosts[1].gpu_memory_bytes = 16'000'000'000;  // memory is known, bandwidth is not
  DecodeEstimate e = Estimate(no_model, Llama70B());
  CHECK_FALSE(e.tokens_per_s.has_value());
  CHECK_FALSE(e.stages[1].bandwidth_gb_per_s.has_value());
  CHECK(e.stages[0].bandwidth_gb_per_s == 320);
  CHECK(e.summary ==
        "decode at batch 1: cannot estimate: host gpu2: the memory bandwidth of its GPUs is not known; set "
        "hosts[1].gpu_model (V100-16GB, V100-32GB, T4, A100-40GB, A100-80GB, A10, A10G, RTX 3090, L4, L40S, "
        "RTX 4090, H100-80GB, H200)");

  Inventory unknown = R1Cluster({"T4", "GTX 1080", "T4", "T4"});
  unknown.hosts[1].gpu_memory_bytes = 8'000'000'000;
  e = Estimate(unknown, Llama70B());
  CHECK_FALSE(e.tokens_per_s.has_value());
  CHECK(e.summary == "decode at batch 1: cannot estimate: host gpu2: gpu_model \"GTX 1080\" is not a known GPU, so "
                     "its memory bandwidth is not known; known GPUs: " +
                         KnownGpuNames());

  Inventory cpu = R1Cluster({"T4"});
  cpu.runtime.tensor_parallel = 1;
  cpu.runtime.dtype = Dtype::kFloat32;
  EngineOptionsOf(cpu.runtime).device = EngineDevice::kCpu;
  e = Estimate(cpu, Llama70B());
  CHECK_FALSE(e.tokens_per_s.has_value());
  // One rank reads every parameter but the embedding's 128,256 x 8192, in 4 bytes.
  CHECK(e.stages[0].bytes_per_token == (70'553'706'496ull - 128'256ull * 8192) * 4);
  CHECK(e.summary ==
        "decode at batch 1: cannot estimate: the ranks run on the CPU (runtime.engine.device: cpu) and the estimate "
        "is of GPUs' memory bandwidth");
}

TEST_CASE("Rates are shown to 2 significant digits, grouped by thousands") {
  CHECK(FormatTwoSignificant(6.905780) == "6.9");
  CHECK(FormatTwoSignificant(72.29) == "72");
  CHECK(FormatTwoSignificant(54.507) == "55");
  CHECK(FormatTwoSignificant(160.3) == "160");
  CHECK(FormatTwoSignificant(1234.5) == "1,200");
  CHECK(FormatTwoSignificant(0.5234) == "0.52");
  CHECK(FormatTwoSignificant(9.96) == "10");  // rounding up carries into the next digit
  CHECK(FormatTwoSignificant(0.0) == "0");
}
