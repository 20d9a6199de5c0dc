// `clusterctl plan`, run as a user runs it: the built binary on inventory files.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const std::string kReference = std::string(CLUSTER_SOURCE_DIR) + "/configs/examples/t4-4x4.yaml";

struct Run {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

std::string ReadAll(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs clusterctl with `args` (already shell-quoted where needed).
Run Clusterctl(const std::string& args) {
  const fs::path err_file = fs::temp_directory_path() / ("plan_test_stderr_" + std::to_string(::getpid()));
  const std::string command = std::string(CLUSTERCTL_BIN) + " " + args + " 2>" + err_file.string();
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.err = ReadAll(err_file);
  fs::remove(err_file);
  return run;
}

// A folder with one inventory file in it, removed at the end of the test.
struct TempInventory {
  fs::path dir;
  fs::path file;
  TempInventory(const std::string& name, const std::string& yaml)
      : dir(fs::temp_directory_path() / ("plan_test_" + std::to_string(::getpid()) + "_" + name)),
        file(dir / "cluster.yaml") {
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::ofstream(file) << yaml;
  }
  ~TempInventory() { fs::remove_all(dir); }
};

// Two hosts x 4 T4 serving the 70B model as TP4 x PP2: 40 layers per GPU.
constexpr const char* kTwoHosts = R"(cluster:
  name: t4-2x4
hosts:
  - {name: gpu1, address: 10.0.0.11, role: head, gpus: 4, gpu_model: T4}
  - {name: gpu2, address: 10.0.0.12, gpus: 4, gpu_model: T4}
artifacts:
  models:
    - name: r1-70b
      source: /nonexistent/DeepSeek-R1-Distill-Llama-70B
      config: deepseek-r1-distill-llama-70b
runtime:
  kind: engine
  model: r1-70b
  tensor_parallel: 4
  pipeline_parallel: 2
  dtype: float16
)";

// `text` with its first `from` replaced by `to`.
std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("plan on the reference inventory prints placement, memory per stage and a fits verdict") {
  Run run = Clusterctl("plan -f " + kReference);
  CHECK(run.exit_code == 0);
  // Neither the image tarball nor the model is on this machine: warnings only.
  CHECK_THAT(run.err, Catch::Contains("warning: artifacts.models[0].source: folder "
                                      "/srv/models/DeepSeek-R1-Distill-Llama-70B does not exist"));
  CHECK(run.out ==
        "cluster t4-4x4: engine runtime, TP 4 x PP 4 = 16 ranks on 4 of 4 hosts\n"
        "model r1-70b: LlamaForCausalLM, 80 layers, 70.55 B parameters (facts from "
        "bundled:deepseek-r1-distill-llama-70b)\n"
        "dtype float16 (set in runtime.dtype)\n"
        "\n"
        "HOST  RANK  STAGE  TP  GPU  LAYERS\n"
        "gpu1     0      0   0    0  0-19\n"
        "gpu1     1      0   1    1  0-19\n"
        "gpu1     2      0   2    2  0-19\n"
        "gpu1     3      0   3    3  0-19\n"
        "gpu2     4      1   0    0  20-39\n"
        "gpu2     5      1   1    1  20-39\n"
        "gpu2     6      1   2    2  20-39\n"
        "gpu2     7      1   3    3  20-39\n"
        "gpu3     8      2   0    0  40-59\n"
        "gpu3     9      2   1    1  40-59\n"
        "gpu3    10      2   2    2  40-59\n"
        "gpu3    11      2   3    3  40-59\n"
        "gpu4    12      3   0    0  60-79\n"
        "gpu4    13      3   1    1  60-79\n"
        "gpu4    14      3   2    2  60-79\n"
        "gpu4    15      3   3    3  60-79\n"
        "\n"
        "STAGE  HOST  GPU    USABLE  WEIGHTS  KV/TOKEN  RESERVE  FREE FOR KV  KV TOKENS  SEQS@131072\n"
        "    0  gpu1  T4   14.50 GB  9.08 GB  20,480 B  1.07 GB      4.34 GB    211,884            1\n"
        "    1  gpu2  T4   14.50 GB  8.56 GB  20,480 B  1.07 GB      4.86 GB    237,536            1\n"
        "    2  gpu3  T4   14.50 GB  8.56 GB  20,480 B  1.07 GB      4.86 GB    237,536            1\n"
        "    3  gpu4  T4   14.50 GB  9.08 GB  20,480 B  1.07 GB      4.34 GB    211,884            1\n"
        "\n"
        "model weights 141.11 GB in all (70,553,706,496 parameters x 2 bytes); runtime reserve 1.07 GB "
        "per GPU (CUDA context, activations and workspace, NCCL buffers)\n"
        "max_context 131,072 (the model's max_position_embeddings), gpu_memory_fraction 0.90\n"
        "decode at batch 1: about 6.9 tokens/s (estimate of a memory-bound decode: the weights read once per token "
        "at 75% of each GPU's datasheet memory bandwidth; communication not counted)\n"
        "fits: at most 9.08 GB of weights per GPU; KV cache room for 211,884 tokens, 1 sequence of "
        "max_context 131,072 tokens\n");
}

TEST_CASE("plan estimates the batch-1 decode rate of the reference cluster from the T4s' bandwidth") {
  // Each token reads, per GPU, stages 0-2: 20 layers x 213,925,888 parameters x 2 bytes =
  // 8,557,035,520 bytes (stage 0's embedding shard is not read in full: one row a token);
  // stage 3: the same plus the lm_head shard and final norm, (4,278,517,760 + 262,676,480) x 2 =
  // 9,082,388,480 bytes. Stages run one after another: 34,753,495,040 bytes at 0.75 x 320 GB/s
  // (a T4's datasheet bandwidth) = 240 GB/s take 0.1448 s: 6.906 tokens/s, shown as 6.9.
  const json plan = json::parse(Clusterctl("plan -f " + kReference + " --json").out);
  CHECK(plan["batch1_decode_tokens_per_s_estimate"] == 6.9);
  CHECK(plan["batch1_decode_estimate"] ==
        "decode at batch 1: about 6.9 tokens/s (estimate of a memory-bound decode: the weights read once per token "
        "at 75% of each GPU's datasheet memory bandwidth; communication not counted)");
  CHECK(plan["memory"][0]["decode_bytes_per_token"] == 8557035520);
  CHECK(plan["memory"][3]["decode_bytes_per_token"] == 9082388480);
  CHECK(plan["memory"][3]["memory_bandwidth_gb_per_s"] == 320);
}

TEST_CASE("plan shows batch invariance and that it slows decoding below the estimate") {
  TempInventory inv("batch_invariant", std::string(kTwoHosts) + "  engine: {batch_invariant: true}\n");
  Run run = Clusterctl("plan -f " + inv.file.string());
  CHECK_THAT(run.out, Catch::Contains("; communication not counted)\n"
                                      "batch invariant (runtime.engine.batch_invariant): a token's result never "
                                      "depends on the other requests in its step; on GPUs the engine decodes slower "
                                      "than in the default mode the decode estimate assumes (docs/engine-cuda.md)\n"
                                      "does not fit: "));
  const json plan = json::parse(Clusterctl("plan -f " + inv.file.string() + " --json").out);
  CHECK(plan["runtime"]["batch_invariant"] == true);
}

TEST_CASE("plan says why it cannot estimate the decode rate of a GPU it does not know") {
  // Both hosts name a GPU plan does not know and give its memory: memory is sized, bandwidth is not known.
  const std::string unknown = "gpus: 4, gpu_model: GTX 9000, gpu_memory: 48GiB}";
  TempInventory inv("unknown_gpu", Replaced(Replaced(kTwoHosts, "gpus: 4, gpu_model: T4}", unknown),
                                            "gpus: 4, gpu_model: T4}", unknown));
  Run run = Clusterctl("plan -f " + inv.file.string());
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("\ndecode at batch 1: cannot estimate: host gpu1: gpu_model \"GTX 9000\" is "
                                      "not a known GPU, so its memory bandwidth is not known; known GPUs: V100-16GB, "
                                      "V100-32GB, T4, A100-40GB, A100-80GB, A10, A10G, RTX 3090, L4, L40S, RTX 4090, "
                                      "H100-80GB, H200\nfits: "));
  const json plan = json::parse(Clusterctl("plan -f " + inv.file.string() + " --json").out);
  CHECK(plan["fits"] == true);  // memory is known from gpu_memory
  CHECK(plan["batch1_decode_tokens_per_s_estimate"] == nullptr);
  CHECK(plan["memory"][0]["memory_bandwidth_gb_per_s"] == nullptr);
  CHECK_THAT(plan["batch1_decode_estimate"].get<std::string>(),
             Catch::StartsWith("decode at batch 1: cannot estimate: host gpu1: gpu_model \"GTX 9000\""));
}

TEST_CASE("plan --json gives the same plan as a documented object") {
  Run run = Clusterctl("plan -f " + kReference + " --json");
  CHECK(run.exit_code == 0);
  CHECK(run.err.empty());  // diagnostics go into the object, not to stderr
  const json plan = json::parse(run.out);
  CHECK(plan["ok"] == true);
  CHECK(plan["fits"] == true);
  CHECK(plan["cluster"] == "t4-4x4");
  CHECK(plan["runtime"]["kind"] == "engine");
  CHECK(plan["runtime"]["tensor_parallel"] == 4);
  CHECK(plan["runtime"]["pipeline_parallel"] == 4);
  CHECK(plan["runtime"]["world_size"] == 16);
  CHECK(plan["runtime"]["max_context"] == 131072);
  CHECK(plan["runtime"]["device"] == "cuda");
  CHECK(plan["runtime"]["batch_invariant"] == false);
  CHECK(plan["model"]["name"] == "r1-70b");
  CHECK(plan["model"]["origin"] == "bundled:deepseek-r1-distill-llama-70b");
  CHECK(plan["model"]["num_layers"] == 80);
  CHECK(plan["model"]["parameter_count"] == 70553706496);
  CHECK(plan["dtype"] == "float16");
  CHECK(plan["dtype_reason"] == "set in runtime.dtype");

  // 16 ranks in rank order; rank 9 is stage 2 (gpu3), TP rank 1 on GPU 1, layers 40-59.
  REQUIRE(plan["placement"].size() == 16);
  CHECK(plan["placement"][9] == json{{"host", "gpu3"}, {"rank", 9}, {"stage", 2}, {"tp_rank", 1},
                                     {"gpu", 1}, {"first_layer", 40}, {"last_layer", 59}});
  CHECK(plan["placement"][15]["last_layer"] == 79);
  CHECK(plan["unused_hosts"].empty());

  // Stage 0: (20 layers * 213,925,888 + embedding shard 262,668,288) * 2 bytes; KV per token
  // 2 * 20 layers * 2 KV heads * 128 * 2 bytes; room 14,495,514,624 - weights - 1 GiB.
  REQUIRE(plan["memory"].size() == 4);
  const json& s0 = plan["memory"][0];
  CHECK(s0["stage"] == 0);
  CHECK(s0["host"] == "gpu1");
  CHECK(s0["gpu"] == "T4");
  CHECK(s0["gpu_memory_bytes"] == 15360ull * 1024 * 1024);
  CHECK(s0["usable_bytes"] == 14495514624);
  CHECK(s0["weights_bytes"] == (20ull * 213925888 + 262668288) * 2);
  CHECK(s0["kv_bytes_per_token"] == 2 * 20 * 2 * 128 * 2);
  CHECK(s0["reserve_bytes"] == 1073741824);
  CHECK(s0["kv_budget_bytes"] == 14495514624 - 9082372096 - 1073741824);
  CHECK(s0["kv_tokens"] == 211884);
  CHECK(s0["sequences_at_max_context"] == 1);
  CHECK(plan["memory"][1]["weights_bytes"] == 20ull * 213925888 * 2);
  CHECK(plan["total_weight_bytes"] == 70553706496ull * 2);
  CHECK(plan["kv_tokens"] == 211884);
  CHECK(plan["sequences_at_max_context"] == 1);
  CHECK(plan["verdict"] ==
        "fits: at most 9.08 GB of weights per GPU; KV cache room for 211,884 tokens, 1 sequence of "
        "max_context 131,072 tokens");
  // Warnings have the shape `validate --json` gives them.
  REQUIRE(plan["warnings"].size() == 2);
  CHECK(plan["warnings"][0]["key"] == "artifacts.images[0].file");
  CHECK(plan["warnings"][0]["message"] == "file /srv/images/vllm-openai-v0.8.5.tar does not exist");
  CHECK(plan["warnings"][0]["line"] == 47);
}

TEST_CASE("plan exits 1 with the numbers when the weights do not fit") {
  // 40 layers per T4: (40 * 213,925,888 + 262,668,288) * 2 = 17,639,407,616 bytes > 14.50 GB.
  TempInventory inv("two_hosts", kTwoHosts);
  Run run = Clusterctl("plan -f " + inv.file.string());
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.out,
             Catch::EndsWith("does not fit: stage 0 (host gpu1) needs 17.64 GB of weights + 1.07 GB runtime "
                             "reserve per GPU, but a T4 (16.11 GB) at gpu_memory_fraction 0.90 gives 14.50 GB; "
                             "the model's 141.11 GB of weights need at least 11 T4s (13.42 GB each after the "
                             "runtime reserve), this plan uses 8; spread the model over more GPUs "
                             "(tensor_parallel, pipeline_parallel) or use a smaller model\n"));
  // The memory table shows the overrun in its own units: 14.50 - 17.64 - 1.07 GB.
  CHECK_THAT(run.out, Catch::Contains("    0  gpu1  T4   14.50 GB  17.64 GB  40,960 B  1.07 GB     -4.22 GB          "
                                      "0            0\n"));

  Run as_json = Clusterctl("plan -f " + inv.file.string() + " --json");
  CHECK(as_json.exit_code == 1);
  const json plan = json::parse(as_json.out);
  CHECK(plan["ok"] == true);
  CHECK(plan["fits"] == false);
  CHECK(plan["memory"][0]["weights_bytes"] == 17639407616);
  CHECK(plan["memory"][0]["kv_budget_bytes"] == 14495514624 - 17639407616 - 1073741824);
  CHECK(plan["memory"][0]["kv_tokens"] == 0);
}

TEST_CASE("dtype auto on T4s is float16, an explicit bfloat16 there is an error") {
  TempInventory auto_dtype("auto", Replaced(kTwoHosts, "dtype: float16", "dtype: auto"));
  const json plan = json::parse(Clusterctl("plan -f " + auto_dtype.file.string() + " --json").out);
  CHECK(plan["runtime"]["dtype"] == "auto");
  CHECK(plan["dtype"] == "float16");
  CHECK(plan["dtype_reason"] ==
        "auto: the model is bfloat16 but T4 (compute capability 7.5) has no bfloat16, so float16");

  TempInventory bf16("bf16", Replaced(kTwoHosts, "dtype: float16", "dtype: bfloat16"));
  Run run = Clusterctl("plan -f " + bf16.file.string());
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.err, Catch::Contains("error: runtime.dtype: bfloat16 cannot run on host gpu1: its T4 "
                                      "(compute capability 7.5) has no bfloat16 support (set runtime.dtype: "
                                      "float16, or auto, which picks float16 on these GPUs)"));
}

TEST_CASE("plan exits 2 and prints the errors of an inventory that does not validate") {
  // 64 heads split 5 ways: the model's check, at the value of tensor_parallel (line 14, column 20).
  TempInventory inv("tp5", Replaced(kTwoHosts, "tensor_parallel: 4", "tensor_parallel: 5"));
  Run run = Clusterctl("plan -f " + inv.file.string());
  CHECK(run.exit_code == 2);
  CHECK(run.out.empty());
  CHECK_THAT(run.err, Catch::Contains(inv.file.string() +
                                      ":14:20: error: runtime.tensor_parallel: 64 attention heads are not "
                                      "divisible by tensor_parallel 5"));

  Run as_json = Clusterctl("plan -f " + inv.file.string() + " --json");
  CHECK(as_json.exit_code == 2);
  const json result = json::parse(as_json.out);
  CHECK(result["ok"] == false);
  // Among the errors (TP 5 also exceeds the hosts' GPUs), the model's, as validate --json gives it.
  const json heads = {{"file", inv.file.string()},
                      {"line", 14},
                      {"column", 20},
                      {"key", "runtime.tensor_parallel"},
                      {"message", "64 attention heads are not divisible by tensor_parallel 5"},
                      {"hint", "use a tensor_parallel that divides 64, 8 and 28672: 1, 2, 4, 8"}};
  CHECK(std::find(result["errors"].begin(), result["errors"].end(), heads) != result["errors"].end());
}

TEST_CASE("Without model facts plan still places the ranks and says how to get the facts") {
  TempInventory inv("no_facts", Replaced(kTwoHosts, "      config: deepseek-r1-distill-llama-70b\n", ""));
  Run run = Clusterctl("plan -f " + inv.file.string());
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("gpu2     7      1   3    3  ?\n"));
  CHECK_THAT(run.out,
             Catch::EndsWith(
                 "\ndecode at batch 1: cannot estimate: no facts for model \"r1-70b\" (below: how to give them)\n"
                 "cannot estimate memory: no facts for model \"r1-70b\" "
                 "(/nonexistent/DeepSeek-R1-Distill-Llama-70B/config.json is not on this machine and "
                 "artifacts.models[0].config is not set); set artifacts.models[0].config to a bundled "
                 "description (deepseek-r1-distill-llama-70b, deepseek-r1-distill-llama-8b, "
                 "deepseek-r1-distill-qwen-32b, deepseek-r1-distill-qwen-7b) or put the model's "
                 "config.json in its source folder\n"));

  const json plan = json::parse(Clusterctl("plan -f " + inv.file.string() + " --json").out);
  CHECK(plan["fits"] == nullptr);
  CHECK(plan["model"]["origin"] == nullptr);
  CHECK(plan["memory"].empty());
  CHECK(plan["placement"][7]["first_layer"] == nullptr);
  CHECK(plan["batch1_decode_tokens_per_s_estimate"] == nullptr);
  CHECK(plan["batch1_decode_estimate"] ==
        "decode at batch 1: cannot estimate: no facts for model \"r1-70b\" (below: how to give them)");
}

TEST_CASE("plan on the local example runs one CPU rank and cannot size host memory") {
  Run run = Clusterctl("plan -f " + std::string(CLUSTER_SOURCE_DIR) + "/configs/examples/local.yaml --json");
  CHECK(run.exit_code == 0);
  const json plan = json::parse(run.out);
  CHECK(plan["cluster"] == "local");
  REQUIRE(plan["placement"].size() == 1);
  CHECK(plan["placement"][0]["host"] == "local");
  CHECK(plan["placement"][0]["gpu"] == "cpu");
  CHECK(plan["dtype"] == "float32");
  CHECK(plan["fits"] == nullptr);
  CHECK_THAT(plan["verdict"].get<std::string>(), Catch::StartsWith("cannot estimate memory: "));
  CHECK(plan["batch1_decode_tokens_per_s_estimate"] == nullptr);
  // The demo model may not be shipped yet; when it is, its memory row has no GPU reserve and
  // no decode rate (the estimate is of GPUs' memory bandwidth).
  if (!plan["memory"].empty()) {
    CHECK(plan["memory"][0]["reserve_bytes"] == 0);
    CHECK(plan["batch1_decode_estimate"] ==
          "decode at batch 1: cannot estimate: the ranks run on the CPU (runtime.engine.device: cpu) and the "
          "estimate is of GPUs' memory bandwidth");
  }
}

TEST_CASE("plan --help shows examples") {
  Run run = Clusterctl("plan --help");
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("clusterctl plan -f configs/examples/t4-4x4.yaml"));
}

TEST_CASE("plan on the vLLM reference inventory sizes memory with its vllm serve arguments") {
  const std::string file = std::string(CLUSTER_SOURCE_DIR) + "/configs/examples/t4-4x4-vllm.yaml";
  CHECK(Clusterctl("validate --skip-artifacts -f " + file).exit_code == 0);
  Run run = Clusterctl("plan -f " + file);
  CHECK(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("cluster t4-4x4-vllm: vllm-docker runtime, TP 4 x PP 4 = 16 ranks on 4 of 4 "
                                      "hosts\n"));
  // 0.92 of a T4: floor(16,106,127,360 * 0.92) = 14,817,637,171 bytes.
  CHECK_THAT(run.out, Catch::Contains("    0  gpu1  T4   14.82 GB  9.08 GB  20,480 B  1.07 GB      4.66 GB    "
                                      "227,613           6\n"));
  CHECK_THAT(run.out, Catch::Contains("max_context 32,768 (--max-model-len), gpu_memory_fraction 0.92 "
                                      "(--gpu-memory-utilization), at most 64 sequences at once (--max-num-seqs)\n"));
  // The decode estimate is of the GPUs' bandwidth, whichever runtime serves.
  CHECK_THAT(run.out, Catch::EndsWith("decode at batch 1: about 6.9 tokens/s (estimate of a memory-bound decode: the "
                                      "weights read once per token at 75% of each GPU's datasheet memory bandwidth; "
                                      "communication not counted)\n"
                                      "fits: at most 9.08 GB of weights per GPU; KV cache room for 227,612 tokens, 6 "
                                      "sequences of max_context 32,768 tokens\n"));

  const json plan = json::parse(Clusterctl("plan --json -f " + file).out);
  CHECK(plan["runtime"]["max_context"] == 32768);
  CHECK(plan["runtime"]["gpu_memory_fraction"] == 0.92);
  CHECK(plan["memory_settings"]["max_context_origin"] == "--max-model-len");
  CHECK(plan["memory_settings"]["max_sequences"] == 64);
  CHECK(plan["memory_settings"]["not_modeled"] == json::array());
}

TEST_CASE("plan says which vllm serve arguments it cannot model") {
  const std::string with_image = Replaced(kTwoHosts, "artifacts:\n",
                                          "artifacts:\n  images: [{name: vllm/vllm-openai:v0.8.5, file: /i.tar}]\n");
  TempInventory inv("vllm", Replaced(with_image, "  kind: engine\n",
                                     "  kind: vllm-docker\n"
                                     "  vllm_docker: {image: vllm/vllm-openai:v0.8.5, args: [--cpu-offload-gb, \"4\"]}\n"));
  Run run = Clusterctl("plan -f " + inv.file.string());
  CHECK_THAT(run.out, Catch::Contains("\nnot modeled: --cpu-offload-gb (vLLM's memory differs from these figures)\n"));
}
