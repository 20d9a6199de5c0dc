#include "common/inventory/memory_plan.h"
#include "reference_cluster.h"
#include "runtimes/engine/inventory.h"
#include "runtimes/vllm_docker/inventory.h"

#include <catch2/catch.hpp>

using namespace cluster;
using namespace cluster::inventory;

namespace {

using cluster::inventory::testing::kTiedTinyLlamaLayer;
using cluster::inventory::testing::Llama70B;
using cluster::inventory::testing::TiedTinyLlama;

// `count` hosts of 4 GPUs of `gpu_model` serving r1-70b as TP4 x PP`count` in `dtype`.
Inventory Cluster(int count, const std::string& gpu_model, Dtype dtype = Dtype::kFloat16) {
  return cluster::inventory::testing::R1Cluster(std::vector<std::string>(static_cast<std::size_t>(count), gpu_model), dtype);
}

MemoryPlan Plan(const Inventory& inv, const ModelFacts& facts) {
  StatusOr<Placement> placed = PlaceRanks(inv, facts.num_layers);
  REQUIRE(placed.ok());
  DtypeDecision dtype = DecideDtype(inv, *placed, &facts);
  StatusOr<MemoryPlan> plan = PlanMemory(inv, *placed, facts, dtype.dtype);
  REQUIRE(plan.ok());
  return *plan;
}

// T4: 15360 MiB as the driver reports it, of which the engine may use 90%.
constexpr std::uint64_t kT4Bytes = 15360ull * 1024 * 1024;  // 16,106,127,360
constexpr std::uint64_t kT4Usable = 14'495'514'624;          // 16,106,127,360 * 0.90

}  // namespace

TEST_CASE("Known GPUs are found by their usual names, bfloat16 starts at compute capability 8.0") {
  const GpuSpec* t4 = FindGpu("Tesla T4");
  REQUIRE(t4 != nullptr);
  CHECK(t4->name == "T4");
  CHECK(t4->memory_mib == 15360);
  CHECK(t4->memory_bytes() == kT4Bytes);
  CHECK(t4->compute_capability() == "7.5");
  CHECK_FALSE(t4->supports_bfloat16());
  CHECK(FindGpu("t4") == t4);
  CHECK(FindGpu("NVIDIA A100 80GB")->name == "A100-80GB");
  CHECK(FindGpu("a100-80gb")->supports_bfloat16());
  CHECK(FindGpu("NVIDIA GeForce RTX 4090")->name == "RTX 4090");
  CHECK(FindGpu("H100")->name == "H100-80GB");
  CHECK(FindGpu("V100-32GB")->compute_capability() == "7.0");
  CHECK(FindGpu("A100") == nullptr);  // 40 or 80 GB: ambiguous, so unknown
  CHECK(FindGpu("") == nullptr);
  for (const char* name : {"T4", "V100-16GB", "V100-32GB", "A10", "A10G", "L4", "L40S", "A100-40GB",
                           "A100-80GB", "H100-80GB", "H200", "RTX 4090", "RTX 3090"}) {
    INFO(name);
    CHECK(FindGpu(name) != nullptr);
  }
}

TEST_CASE("Reference case: R1-Distill-Llama-70B as TP4 x PP4 on 16 T4s in float16") {
  const ModelFacts facts = Llama70B();
  const MemoryPlan plan = Plan(Cluster(4, "T4"), facts);
  REQUIRE(plan.stages.size() == 4);
  CHECK(plan.dtype == Dtype::kFloat16);
  CHECK(plan.settings.max_context == 131072);  // max_position_embeddings, as max_context is not set

  // One layer's shard on one of 4 TP ranks (hidden 8192, head_dim 128):
  //   q  8192 x (64/4 = 16 heads * 128 = 2048)      16,777,216
  //   k  8192 x ( 8/4 =  2 heads * 128 =  256)       2,097,152
  //   v  the same                                    2,097,152
  //   o  2048 x 8192                                16,777,216
  //   gate, up, down 3 * 8192 x (28672/4 = 7168)   176,160,768
  //   two RMSNorm weights, replicated 2 * 8192          16,384
  const std::uint64_t layer = 8192ull * 2048 + 2 * 8192ull * 256 + 2048ull * 8192 + 3 * 8192ull * 7168 +
                              2 * 8192;
  CHECK(layer == 213'925'888);
  const std::uint64_t vocab_shard = 128256ull / 4 * 8192;  // 32,064 rows of 8192
  CHECK(vocab_shard == 262'668'288);

  // Stages 1 and 2: 20 layers * 2 bytes.
  const std::uint64_t middle = 20 * layer * 2;
  CHECK(middle == 8'557'035'520);  // 8.56 GB
  // Stage 0 adds the embedding shard, stage 3 the lm_head shard and the final norm.
  const std::uint64_t first = (20 * layer + vocab_shard) * 2;
  const std::uint64_t last = (20 * layer + vocab_shard + 8192) * 2;
  CHECK(first == 9'082'372'096);  // 9.08 GB
  CHECK(last == 9'082'388'480);
  CHECK(plan.stages[0].weight_bytes == first);
  CHECK(plan.stages[1].weight_bytes == middle);
  CHECK(plan.stages[2].weight_bytes == middle);
  CHECK(plan.stages[3].weight_bytes == last);
  CHECK(FormatGigabytes(static_cast<std::int64_t>(middle)) == "8.56 GB");
  CHECK(FormatGigabytes(static_cast<std::int64_t>(first)) == "9.08 GB");

  // The whole model: 70,553,706,496 parameters * 2 bytes.
  CHECK(plan.total_weight_bytes == 141'107'412'992);
  CHECK(FormatGigabytes(static_cast<std::int64_t>(plan.total_weight_bytes)) == "141.11 GB");
  // The 16 shards add up to the model plus the norm weights replicated on 3 extra ranks:
  // (80 layers * 2 * 8192 + final 8192) * 3 * 2 bytes = 7,913,472.
  CHECK(4 * (first + 2 * middle + last) == plan.total_weight_bytes + (80ull * 2 * 8192 + 8192) * 3 * 2);

  // KV per token per GPU: 2 (K, V) * 20 layers * (8/4 = 2 KV heads) * 128 * 2 bytes.
  for (const StageMemory& s : plan.stages) CHECK(s.kv_bytes_per_token == 2 * 20 * 2 * 128 * 2);
  CHECK(plan.stages[1].kv_bytes_per_token == 20'480);

  // Room for KV: usable - weights - 1 GiB reserve.
  const StageMemory& s0 = plan.stages[0];
  CHECK(s0.host == "gpu1");
  CHECK(s0.gpu.label == "T4");
  CHECK(*s0.gpu.bytes == kT4Bytes);
  CHECK(*s0.usable_bytes == kT4Usable);
  CHECK(s0.reserve_bytes == 1'073'741'824);
  CHECK(*s0.kv_budget_bytes == 14'495'514'624 - 9'082'372'096 - 1'073'741'824);
  CHECK(*s0.kv_budget_bytes == 4'339'400'704);
  CHECK(*s0.kv_tokens == 211'884);  // 4,339,400,704 / 20,480 = 211,884.8
  CHECK(*s0.sequences_at_max_context == 1);
  CHECK(*plan.stages[1].kv_budget_bytes == 14'495'514'624 - 8'557'035'520 - 1'073'741'824);
  CHECK(*plan.stages[1].kv_tokens == 237'536);  // 4,864,737,280 / 20,480 exactly
  CHECK(*plan.stages[3].kv_tokens == 211'884);  // 4,339,384,320 / 20,480 exactly
  for (const StageMemory& s : plan.stages) CHECK(s.problem.empty());

  // The cluster holds what its tightest stage holds.
  CHECK(*plan.kv_tokens == 211'884);
  CHECK(*plan.sequences_at_max_context == 1);
  CHECK(plan.fit == Fit::kFits);
  CHECK(plan.verdict ==
        "fits: at most 9.08 GB of weights per GPU; KV cache room for 211,884 tokens, 1 sequence of "
        "max_context 131,072 tokens");
}

TEST_CASE("Weights that do not fit a GPU give a does-not-fit verdict with the numbers") {
  // TP4 x PP2 on T4s: 40 layers per stage. Stage 0 holds
  // (40 * 213,925,888 + 262,668,288) * 2 bytes = 17,639,407,616 bytes > 14.50 GB usable.
  const MemoryPlan plan = Plan(Cluster(2, "T4"), Llama70B());
  CHECK(plan.stages[0].weight_bytes == (40ull * 213'925'888 + 262'668'288) * 2);
  CHECK(*plan.stages[0].kv_budget_bytes == 14'495'514'624 - 17'639'407'616 - 1'073'741'824);
  CHECK(*plan.stages[0].kv_tokens == 0);
  CHECK(plan.fit == Fit::kDoesNotFit);
  CHECK(plan.verdict ==
        "does not fit: stage 0 (host gpu1) needs 17.64 GB of weights + 1.07 GB runtime reserve per "
        "GPU, but a T4 (16.11 GB) at gpu_memory_fraction 0.90 gives 14.50 GB; the model's 141.11 GB of "
        "weights need at least 11 T4s (13.42 GB each after the runtime reserve), this plan uses 8; spread "
        "the model over more GPUs (tensor_parallel, pipeline_parallel) or use a smaller model");
  CHECK(*plan.kv_tokens == 0);  // the tightest stage has no room at all
}

TEST_CASE("KV room for less than one max_context sequence does not fit") {
  // At fraction 0.78 a T4 gives floor(16,106,127,360 * 0.78) = 12,562,779,340 bytes;
  // stage 0 keeps 12,562,779,340 - 9,082,372,096 - 1,073,741,824 = 2,406,665,420 for KV,
  // 2,406,665,420 / 20,480 = 117,512 tokens < 131,072.
  Inventory inv = Cluster(4, "T4");
  EngineOptionsOf(inv.runtime).gpu_memory_fraction = 0.78;
  const MemoryPlan plan = Plan(inv, Llama70B());
  CHECK(*plan.stages[0].usable_bytes == 12'562'779'340);
  CHECK(*plan.stages[0].kv_tokens == 117'512);
  CHECK(*plan.stages[0].sequences_at_max_context == 0);
  CHECK(plan.fit == Fit::kDoesNotFit);
  CHECK(plan.verdict ==
        "does not fit: stage 0 (host gpu1) has KV cache room for 117,512 tokens per GPU (2.41 GB), "
        "fewer than one sequence of max_context 131,072 tokens (2.68 GB); set "
        "runtime.engine.max_context to 117,512 or less, or spread the model over more GPUs: the model's "
        "141.11 GB of weights and 42.95 GB of KV cache for one sequence need at least 17 T4s (11.49 GB each "
        "after the runtime reserve), this plan uses 16");
  // 141.11 GB + 2 * 80 layers * 8 KV heads * 128 * 2 bytes * 131,072 tokens = 184.06 GB, over
  // 12,562,779,340 - 1 GiB = 11.49 GB per T4: 16.02, so 17.

  // With max_context 32,768 the same room holds 117,512 / 32,768 = 3 sequences.
  EngineOptionsOf(inv.runtime).max_context = 32768;
  const MemoryPlan shorter = Plan(inv, Llama70B());
  CHECK(shorter.fit == Fit::kFits);
  CHECK(*shorter.sequences_at_max_context == 3);
}

TEST_CASE("auto is the model's torch_dtype, except bfloat16 on a GPU without it is float16") {
  const ModelFacts facts = Llama70B();  // torch_dtype bfloat16
  Inventory t4 = Cluster(4, "T4", Dtype::kAuto);
  Placement placed = *PlaceRanks(t4, 80);
  DtypeDecision d = DecideDtype(t4, placed, &facts);
  CHECK(d.dtype == Dtype::kFloat16);
  CHECK(d.reason == "auto: the model is bfloat16 but T4 (compute capability 7.5) has no bfloat16, so float16");

  Inventory a100 = Cluster(2, "A100-80GB", Dtype::kAuto);
  d = DecideDtype(a100, *PlaceRanks(a100, 80), &facts);
  CHECK(d.dtype == Dtype::kBfloat16);
  CHECK(d.reason == "auto: the model's torch_dtype");

  // Without facts, a T4 still rules out bfloat16; otherwise it stays undecided.
  d = DecideDtype(t4, placed, nullptr);
  CHECK(d.dtype == Dtype::kFloat16);
  CHECK(d.reason == "auto: T4 (compute capability 7.5) has no bfloat16, so float16");
  d = DecideDtype(a100, *PlaceRanks(a100, 80), nullptr);
  CHECK(d.dtype == Dtype::kAuto);

  // An explicit dtype is kept (the loader refuses bfloat16 on a T4).
  Inventory bf16 = Cluster(4, "A100-80GB", Dtype::kBfloat16);
  d = DecideDtype(bf16, placed, &facts);
  CHECK(d.dtype == Dtype::kBfloat16);
  CHECK(d.reason == "set in runtime.dtype");

  // The CPU engine computes in float32; float32 doubles the weights.
  Inventory cpu = Cluster(1, "T4", Dtype::kAuto);
  cpu.runtime.tensor_parallel = 1;
  EngineOptionsOf(cpu.runtime).device = EngineDevice::kCpu;
  d = DecideDtype(cpu, *PlaceRanks(cpu, 80), &facts);
  CHECK(d.dtype == Dtype::kFloat32);
  CHECK(d.reason == "auto: the CPU engine computes in float32");
  CHECK(DtypeBytes(Dtype::kFloat32) == 4);
  CHECK(DtypeBytes(Dtype::kBfloat16) == 2);
}

TEST_CASE("gpu_memory overrides the table, an unknown GPU or the CPU cannot be sized") {
  const ModelFacts facts = Llama70B();
  Inventory inv = Cluster(4, "T4");
  inv.hosts[1].gpu_memory_bytes = 24'000'000'000;  // stage 1
  inv.hosts[2].gpu_model = "X9000";                 // stage 2
  const MemoryPlan plan = Plan(inv, facts);
  CHECK(*plan.stages[1].gpu.bytes == 24'000'000'000);
  CHECK(plan.stages[1].gpu.label == "T4");
  CHECK(*plan.stages[1].usable_bytes == 21'600'000'000);  // 24e9 * 0.90
  CHECK_FALSE(plan.stages[2].gpu.bytes.has_value());
  CHECK_FALSE(plan.kv_tokens.has_value());
  CHECK(plan.fit == Fit::kUnknown);
  CHECK(plan.verdict ==
        "cannot estimate memory: host gpu3: gpu_model \"X9000\" is not a known GPU; set "
        "hosts[2].gpu_memory to its memory (e.g. gpu_memory: 16GiB) or use a known gpu_model (V100-16GB, "
        "V100-32GB, T4, A100-40GB, A100-80GB, A10, A10G, RTX 3090, L4, L40S, RTX 4090, H100-80GB, "
        "H200); each of its ranks needs 8.56 GB of weights");

  // A stage that is sized and fails still decides the verdict.
  inv.hosts[0].gpu_memory_bytes = 8'000'000'000;
  inv.hosts[0].gpu_model = "A10";
  const MemoryPlan small = Plan(inv, facts);
  CHECK(small.fit == Fit::kDoesNotFit);
  // 8e9 * 0.90 = 7.2e9 usable for 9.08 GB of weights.
  CHECK_THAT(small.verdict, Catch::StartsWith("does not fit: stage 0 (host gpu1) needs 9.08 GB of weights + "
                                              "1.07 GB runtime reserve per GPU, but an A10 (8.00 GB) at "
                                              "gpu_memory_fraction 0.90 gives 7.20 GB;"));

  Inventory cpu = Cluster(1, "T4", Dtype::kFloat32);
  cpu.hosts[0].name = "local";
  cpu.runtime.tensor_parallel = 1;
  EngineOptionsOf(cpu.runtime).device = EngineDevice::kCpu;
  const MemoryPlan on_cpu = Plan(cpu, facts);
  // 70,553,706,496 parameters * 4 bytes in one rank.
  CHECK(on_cpu.stages[0].weight_bytes == 70'553'706'496ull * 4);
  CHECK(on_cpu.stages[0].reserve_bytes == 0);
  CHECK(on_cpu.fit == Fit::kUnknown);
  CHECK(on_cpu.verdict ==
        "cannot estimate memory: host local: the engine runs on CPU (runtime.engine.device: cpu) and "
        "plan does not size host memory; each of its ranks needs 282.21 GB of weights");
}

TEST_CASE("Tied embeddings: first and last stage both hold the matrix, a single stage once") {
  const ModelFacts f = TiedTinyLlama();
  const std::uint64_t layer = kTiedTinyLlamaLayer;
  CHECK(RankParameterCount(f, 1, 4, true, true) == 4 * layer + 1000 * 64 + 64);
  CHECK(RankParameterCount(f, 1, 4, true, true) == f.ParameterCount());
  CHECK(RankParameterCount(f, 1, 2, true, false) == 2 * layer + 1000 * 64);
  CHECK(RankParameterCount(f, 1, 2, false, true) == 2 * layer + 1000 * 64 + 64);
  // TP 4 > 2 KV heads: each rank keeps one whole KV head (replicated), so k and v are 64 x 16.
  CHECK(KvBytesPerToken(f, 4, 4, 2) == 2 * 4 * 1 * 16 * 2);
}

TEST_CASE("Sizes below 0.1 GB read in megabytes so a small CPU model is not shown as 0.02 GB") {
  CHECK(FormatGigabytes(20'984'832) == "21.0 MB");
  CHECK(FormatGigabytes(99'999'999) == "100.0 MB");
  CHECK(FormatGigabytes(100'000'000) == "0.10 GB");
  // Negative figures (a budget that weights overrun) by magnitude, in the units of their column.
  CHECK(FormatGigabytes(-4'217'634'816) == "-4.22 GB");
  CHECK(FormatGigabytes(-20'984'832) == "-21.0 MB");
}

TEST_CASE("vLLM is sized with its own serve arguments, else vLLM's defaults") {
  Inventory inv = Cluster(4, "T4");
  inv.runtime.kind = "vllm-docker";
  EngineOptionsOf(inv.runtime).gpu_memory_fraction = 0.5;  // the engine's key: vLLM does not read it
  EngineOptionsOf(inv.runtime).max_context = 1024;
  MemoryPlan plan = Plan(inv, Llama70B());
  CHECK(plan.settings.max_context == 131072);
  CHECK(plan.settings.max_context_origin == "the model's max_position_embeddings");
  CHECK(plan.settings.gpu_memory_fraction == 0.90);
  CHECK(plan.settings.fraction_origin == "vLLM's default");
  CHECK(*plan.stages[0].usable_bytes == kT4Usable);

  // The KV room of stage 0 at 0.78 is short of one 131,072-token sequence (as
  // for the engine); the hint names vLLM's flag.
  VllmDockerOptionsOf(inv.runtime).args = {"--gpu-memory-utilization", "0.78"};
  plan = Plan(inv, Llama70B());
  CHECK(plan.settings.fraction_origin == "--gpu-memory-utilization");
  CHECK(*plan.stages[0].usable_bytes == 12'562'779'340);
  CHECK_THAT(plan.verdict, Catch::Contains("; set --max-model-len in runtime.vllm_docker.args to 117,512 or less"));

  // --max-model-len 32,768; an fp8 KV cache halves KV/TOKEN (20,480 -> 10,240 B)
  // and doubles the tokens; the last flag of a kind wins, as in vLLM.
  VllmDockerOptionsOf(inv.runtime).args = {"--max-model-len=8192", "--max-model-len", "32768", "--kv-cache-dtype=fp8",
                                  "--max-num-seqs", "64"};
  plan = Plan(inv, Llama70B());
  CHECK(plan.settings.max_context == 32768);
  CHECK(plan.settings.max_context_origin == "--max-model-len");
  CHECK(plan.settings.kv_bytes == 1);
  CHECK(plan.settings.max_sequences == 64);
  CHECK(plan.stages[0].kv_bytes_per_token == 10'240);

  // fp8 weights: the linear layers in 1 byte, embedding and lm_head in 2.
  // Stage 1: 20 layers of 213,909,504 linear + 16,384 norm parameters.
  VllmDockerOptionsOf(inv.runtime).args = {"--quantization", "fp8"};
  plan = Plan(inv, Llama70B());
  CHECK(plan.settings.fp8_weights);
  CHECK(plan.stages[1].weight_bytes == 20 * (213'909'504ull * 1 + 16'384ull * 2));
  CHECK(plan.settings.not_modeled.empty());

  VllmDockerOptionsOf(inv.runtime).args = {"--quantization", "awq", "--cpu-offload-gb", "8"};
  plan = Plan(inv, Llama70B());
  CHECK(plan.settings.not_modeled == std::vector<std::string>{"--cpu-offload-gb", "--quantization awq"});
  CHECK_FALSE(plan.settings.fp8_weights);
}
