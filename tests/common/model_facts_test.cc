#include "common/inventory/model_facts.h"
#include "runtimes/engine/inventory.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace cluster;
using namespace cluster::inventory;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test, removed at the end of the test.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("model_facts_test_" + std::to_string(::getpid()) + "_" + name)) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

void WriteText(const fs::path& file, const std::string& text) {
  fs::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

// A Llama-like config with 48 heads, in the newer HF convention: "dtype"
// instead of "torch_dtype" and an explicit head_dim.
constexpr const char* kConfig48Heads = R"({
  "architectures": ["LlamaForCausalLM"],
  "hidden_size": 6144, "num_hidden_layers": 40, "num_attention_heads": 48,
  "num_key_value_heads": 8, "head_dim": 128, "intermediate_size": 16384,
  "vocab_size": 32000, "max_position_embeddings": 4096, "dtype": "float16"
})";

Inventory InventoryServing(const Model& model, int tensor_parallel) {
  Inventory inv;
  inv.models.push_back(model);
  inv.runtime.model = model.name;
  inv.runtime.tensor_parallel = tensor_parallel;
  inv.runtime.location = {"cluster.yaml", 20, 3};
  return inv;
}

}  // namespace

TEST_CASE("The four reference models are bundled, named after their files") {
  CHECK(BundledModelNames() == std::vector<std::string>{
                                   "deepseek-r1-distill-llama-70b", "deepseek-r1-distill-llama-8b",
                                   "deepseek-r1-distill-qwen-32b", "deepseek-r1-distill-qwen-7b"});
}

TEST_CASE("The bundled 70B description gives the shapes of DeepSeek-R1-Distill-Llama-70B") {
  Model model;
  model.name = "r1-70b";
  model.source = "/nonexistent/DeepSeek-R1-Distill-Llama-70B";  // no config.json there
  model.config = "deepseek-r1-distill-llama-70b";
  StatusOr<std::optional<ModelFacts>> found = FindModelFacts(model);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  const ModelFacts& f = **found;
  CHECK(f.origin == "bundled:deepseek-r1-distill-llama-70b");
  CHECK(f.architecture == "LlamaForCausalLM");
  CHECK(f.hidden_size == 8192);
  CHECK(f.num_layers == 80);
  CHECK(f.num_attention_heads == 64);
  CHECK(f.num_key_value_heads == 8);
  CHECK(f.head_dim == 128);  // no head_dim in the file: 8192 / 64
  CHECK(f.intermediate_size == 28672);
  CHECK(f.vocab_size == 128256);
  CHECK(f.max_position_embeddings == 131072);
  CHECK_FALSE(f.tie_word_embeddings);
  CHECK_FALSE(f.attention_bias);
  CHECK(f.torch_dtype == "bfloat16");

  // Per layer: q 8192*8192 + k 8192*1024 + v 8192*1024 + o 8192*8192
  //            + gate/up/down 3*8192*28672 + two RMSNorms 2*8192
  const std::uint64_t per_layer = 8192ull * 8192 + 8192ull * 1024 + 8192ull * 1024 + 8192ull * 8192 +
                                  3ull * 8192 * 28672 + 2ull * 8192;
  CHECK(per_layer == 855'654'400);
  // 80 layers + embedding 128256*8192 + untied lm_head 128256*8192 + final norm 8192
  const std::uint64_t total = 80 * per_layer + 2ull * 128256 * 8192 + 8192;
  CHECK(total == 70'553'706'496);
  CHECK(f.ParameterCount() == total);
}

TEST_CASE("Qwen2 models have q/k/v biases although their config.json has no attention_bias") {
  Model model;
  model.name = "r1-7b";
  model.config = "deepseek-r1-distill-qwen-7b";
  StatusOr<std::optional<ModelFacts>> found = FindModelFacts(model);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  const ModelFacts& f = **found;
  CHECK(f.architecture == "Qwen2ForCausalLM");
  CHECK(f.attention_bias);
  CHECK(f.head_dim == 128);  // 3584 / 28
  CHECK(f.num_key_value_heads == 4);
  // Per layer: q 3584*3584 + k,v 2*3584*512 + o 3584*3584 + mlp 3*3584*18944
  //            + norms 2*3584 + biases (3584 + 2*512)
  const std::uint64_t per_layer = 3584ull * 3584 + 2ull * 3584 * 512 + 3584ull * 3584 +
                                  3ull * 3584 * 18944 + 2ull * 3584 + (3584 + 2 * 512);
  CHECK(per_layer == 233'057'792);
  // 28 layers + embedding and lm_head 2*152064*3584 + final norm 3584: the 7.6 B of Qwen2.5-7B.
  CHECK(f.ParameterCount() == 28 * per_layer + 2ull * 152064 * 3584 + 3584);
  CHECK(f.ParameterCount() == 7'615'616'512);
}

TEST_CASE("Both HF conventions are read: dtype or torch_dtype, head_dim given or derived") {
  StatusOr<ModelFacts> newer = ParseModelConfig(kConfig48Heads, "new/config.json");
  REQUIRE(newer.ok());
  CHECK(newer->torch_dtype == "float16");
  CHECK(newer->head_dim == 128);

  // head_dim differs from hidden_size / heads (as in Qwen3 or Gemma): the file wins.
  StatusOr<ModelFacts> wide = ParseModelConfig(
      R"({"hidden_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 16, "head_dim": 128,
          "intermediate_size": 3072, "vocab_size": 1000, "max_position_embeddings": 2048,
          "torch_dtype": "bfloat16", "tie_word_embeddings": true})",
      "wide/config.json");
  REQUIRE(wide.ok());
  CHECK(wide->head_dim == 128);
  CHECK(wide->num_key_value_heads == 16);  // absent: as many as attention heads
  CHECK(wide->torch_dtype == "bfloat16");
  CHECK(wide->tie_word_embeddings);
  // q and o are 1024 x (16*128 = 2048); k and v the same (16 KV heads).
  // Per layer 4*1024*2048 + 3*1024*3072 + 2*1024; tied: one 1000*1024 matrix; final norm 1024.
  CHECK(wide->ParameterCount() ==
        2 * (4ull * 1024 * 2048 + 3ull * 1024 * 3072 + 2 * 1024) + 1000ull * 1024 + 1024);

  // head_dim: null (as some configs write it) means derived.
  StatusOr<ModelFacts> null_head_dim = ParseModelConfig(
      R"({"hidden_size": 1024, "num_hidden_layers": 2, "num_attention_heads": 16, "head_dim": null,
          "intermediate_size": 3072, "vocab_size": 1000, "max_position_embeddings": 2048})",
      "x/config.json");
  REQUIRE(null_head_dim.ok());
  CHECK(null_head_dim->head_dim == 64);
  CHECK(null_head_dim->torch_dtype.empty());
}

TEST_CASE("A config.json that is not JSON is reported with its origin and position") {
  StatusOr<ModelFacts> bad = ParseModelConfig("{\"hidden_size\": 8192,\n  oops }", "/srv/m/config.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  // The rest of the message is nlohmann_json's own wording.
  CHECK_THAT(bad.status().message(),
             Catch::StartsWith("/srv/m/config.json: not valid JSON: parse error at line 2, column 3: "
                               "syntax error while parsing object key"));
}

TEST_CASE("Missing or mistyped fields name the field, the origin and what was found") {
  StatusOr<ModelFacts> missing = ParseModelConfig(R"({"hidden_size": 8192})", "m/config.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() == "m/config.json: missing \"num_hidden_layers\" (a positive integer)");

  StatusOr<ModelFacts> mistyped =
      ParseModelConfig(R"({"hidden_size": 8192, "num_hidden_layers": "80"})", "m/config.json");
  REQUIRE_FALSE(mistyped.ok());
  CHECK(mistyped.status().message() ==
        "m/config.json: \"num_hidden_layers\" must be a positive integer, found \"80\"");

  StatusOr<ModelFacts> indivisible = ParseModelConfig(
      R"({"hidden_size": 1000, "num_hidden_layers": 2, "num_attention_heads": 3,
          "intermediate_size": 3072, "vocab_size": 1000, "max_position_embeddings": 2048})",
      "m/config.json");
  REQUIRE_FALSE(indivisible.ok());
  CHECK(indivisible.status().message() ==
        "m/config.json: hidden_size 1000 is not divisible by num_attention_heads 3 and there is no head_dim");

  StatusOr<ModelFacts> array = ParseModelConfig("[1, 2]", "m/config.json");
  REQUIRE_FALSE(array.ok());
  CHECK(array.status().message() == "m/config.json: expected a JSON object, found array");
}

TEST_CASE("A model folder's own config.json wins over the bundled description") {
  TempDir dir("own_config");
  WriteText(dir.path / "config.json", kConfig48Heads);
  Model model;
  model.name = "custom";
  model.source = dir.path;
  model.config = "deepseek-r1-distill-llama-70b";
  StatusOr<std::optional<ModelFacts>> found = FindModelFacts(model);
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->num_attention_heads == 48);
  CHECK((*found)->origin == (dir.path / "config.json").string());
}

TEST_CASE("Without config.json and without `config` there are no facts, an unknown name is an error") {
  TempDir dir("no_config");
  Model model;
  model.name = "demo";
  model.source = dir.path;
  StatusOr<std::optional<ModelFacts>> none = FindModelFacts(model);
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());

  model.config = "llama-9000";
  StatusOr<std::optional<ModelFacts>> unknown = FindModelFacts(model);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == StatusCode::kInvalidArgument);
  CHECK(unknown.status().message() ==
        "model \"demo\": config \"llama-9000\" is not a bundled model description (bundled: "
        "deepseek-r1-distill-llama-70b, deepseek-r1-distill-llama-8b, deepseek-r1-distill-qwen-32b, "
        "deepseek-r1-distill-qwen-7b)");

  // A broken config.json in the folder is an error, not a silent fall-back.
  WriteText(dir.path / "config.json", "not json");
  model.config = "deepseek-r1-distill-llama-70b";
  StatusOr<std::optional<ModelFacts>> broken = FindModelFacts(model);
  REQUIRE_FALSE(broken.ok());
  CHECK_THAT(broken.status().message(),
             Catch::StartsWith((dir.path / "config.json").string() + ": not valid JSON: "));
}

TEST_CASE("Heads, KV heads and the MLP width must divide by tensor_parallel") {
  TempDir dir("tp5");
  WriteText(dir.path / "config.json", kConfig48Heads);
  Model model;
  model.name = "m48";
  model.source = dir.path;
  std::vector<Diagnostic> diagnostics;
  CheckModelAgainstRuntime(InventoryServing(model, 5), &diagnostics);
  // 48 % 5 = 3, 8 % 5 = 3, 16384 % 5 = 4: three errors, all at the runtime block.
  REQUIRE(diagnostics.size() == 3);
  const std::string hint = "use a tensor_parallel that divides 48, 8 and 16384: 1, 2, 4, 8";
  CHECK(diagnostics[0].severity == Diagnostic::Severity::kError);
  CHECK(diagnostics[0].key_path == "runtime.tensor_parallel");
  CHECK(diagnostics[0].message == "48 attention heads are not divisible by tensor_parallel 5");
  CHECK(diagnostics[0].hint == hint);
  CHECK(diagnostics[0].location.line == 20);
  CHECK(diagnostics[1].message == "8 key/value heads are not divisible by tensor_parallel 5");
  CHECK(diagnostics[2].message == "the MLP intermediate size 16384 is not divisible by tensor_parallel 5");

  // 48 % 6 = 0, but 8 % 6 = 2 and 16384 % 6 = 4: the heads are not reported.
  diagnostics.clear();
  CheckModelAgainstRuntime(InventoryServing(model, 6), &diagnostics);
  REQUIRE(diagnostics.size() == 2);
  CHECK(diagnostics[0].message == "8 key/value heads are not divisible by tensor_parallel 6");
  CHECK(diagnostics[1].message == "the MLP intermediate size 16384 is not divisible by tensor_parallel 6");

  diagnostics.clear();
  CheckModelAgainstRuntime(InventoryServing(model, 8), &diagnostics);
  CHECK(diagnostics.empty());
}

TEST_CASE("Pipeline stages and max_context are checked against the model") {
  Model model;
  model.name = "r1-70b";
  model.config = "deepseek-r1-distill-llama-70b";
  Inventory inv = InventoryServing(model, 4);
  inv.runtime.pipeline_parallel = 81;
  EngineOptionsOf(inv.runtime).max_context = 200000;
  std::vector<Diagnostic> diagnostics;
  CheckModelAgainstRuntime(inv, &diagnostics);
  REQUIRE(diagnostics.size() == 2);
  CHECK(diagnostics[0].key_path == "runtime.pipeline_parallel");
  CHECK(diagnostics[0].message == "81 pipeline stages for 80 layers: each stage needs at least one layer");
  CHECK(diagnostics[0].hint == "use a pipeline_parallel of at most 80");
  CHECK(diagnostics[1].key_path == "runtime.engine.max_context");
  CHECK(diagnostics[1].message ==
        "max_context 200000 is longer than the model's max_position_embeddings 131072");
}

TEST_CASE("An unknown bundled name is reported at the model, no facts means nothing to check") {
  Model model;
  model.name = "r1-70b";
  model.config = "deepseek-r1-70b";
  model.location = {"cluster.yaml", 12, 7};
  Inventory inv = InventoryServing(model, 5);
  std::vector<Diagnostic> diagnostics;
  CheckModelAgainstRuntime(inv, &diagnostics);
  REQUIRE(diagnostics.size() == 1);
  CHECK(diagnostics[0].key_path == "artifacts.models[0].config");
  CHECK(diagnostics[0].location.line == 12);
  CHECK(diagnostics[0].message == "\"deepseek-r1-70b\" is not a bundled model description");
  CHECK(diagnostics[0].hint ==
        "use one of: deepseek-r1-distill-llama-70b, deepseek-r1-distill-llama-8b, "
        "deepseek-r1-distill-qwen-32b, deepseek-r1-distill-qwen-7b; or put the model's config.json in "
        "its source folder");

  inv.models[0].config.reset();
  diagnostics.clear();
  CheckModelAgainstRuntime(inv, &diagnostics);  // TP 5, but no facts to check it against
  CHECK(diagnostics.empty());
}
