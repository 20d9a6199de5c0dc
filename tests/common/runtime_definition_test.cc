// A runtime's part in the inventory (common/inventory/runtime_definition.h):
// a third runtime plugs in as one RuntimeDefinition given to the loader, with
// no change elsewhere. FakeRuntime, a test double of such a runtime (SGLang
// in a container, say), reads its own block the way runtimes/NAME/inventory.cc
// do: with the loader's schema readers.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/inventory/loader.h"
#include "common/inventory/memory_plan.h"
#include "common/inventory/placement.h"
#include "common/inventory/runtime_definition.h"
#include "load_context.h"
#include "runtimes/engine/inventory.h"
#include "yaml_fields.h"

using namespace cluster::inventory;

namespace {

using Lines = std::vector<std::string>;

struct FakeOptions final : RuntimeOptions {
  static constexpr std::string_view kBlock = "fake";
  std::string image;
  std::unique_ptr<RuntimeOptions> Clone() const override { return std::make_unique<FakeOptions>(*this); }
};

class FakeRuntime final : public RuntimeDefinition {
 public:
  std::string_view name() const override { return "fake"; }
  std::vector<std::string_view> aliases() const override { return {"pretend"}; }
  std::string_view block() const override { return FakeOptions::kBlock; }
  std::unique_ptr<RuntimeOptions> ReadBlock(const Field& field, LoadContext* ctx) const override {
    auto options = std::make_unique<FakeOptions>();
    auto block = ReadMapping(field, ctx, {"image"}, "a mapping of fake options");
    if (!block) return options;
    if (auto f = block->Require("image", "add image: NAME")) {
      if (auto image = ReadString(*f, ctx, "an image name")) options->image = *image;
    }
    return options;
  }
  void CheckBlock(const Inventory& inventory, LoadContext* ctx) const override {
    if (!ctx->locations().Has("runtime.fake")) {
      ctx->Error(ctx->locations().Value("runtime"), "runtime.fake", "required key is missing for kind fake",
                 "add fake: {image: NAME}");
    }
    (void)inventory;
  }
  void ApplyMemorySettings(const Runtime&, MemorySettings& m) const override {
    m.max_context_key = "--context in runtime.fake";
    m.fraction_key = "--memory in runtime.fake";
    m.fraction_origin = "fake's default";
  }
};

// The built-in runtimes and the fake one.
const RuntimeDefinitions& WithFake() {
  static const RuntimeDefinitions kRuntimes = [] {
    RuntimeDefinitions runtimes = BuiltinRuntimeDefinitions();
    runtimes.Add(std::make_shared<FakeRuntime>());
    return runtimes;
  }();
  return kRuntimes;
}

LoadResult Load(const std::string& runtime, const RuntimeDefinitions* runtimes = &WithFake()) {
  LoadOptions options;
  options.require_artifacts = false;
  options.runtimes = runtimes;
  return LoadInventoryFromString("cluster: {name: lab}\n"
                                 "hosts: [{name: gpu1, address: 10.0.0.11, gpus: 2}]\n"
                                 "artifacts: {models: [{name: m, source: /m}]}\n"
                                 "runtime:\n"
                                 "  model: m\n"
                                 "  tensor_parallel: 2\n" +
                                     runtime,
                                 "cluster.yaml", options);
}

Lines Rendered(const LoadResult& r, Diagnostic::Severity severity) {
  Lines out;
  for (const Diagnostic& d : r.diagnostics) {
    if (d.severity == severity && d.message.find(" does not exist") == std::string::npos) {
      out.push_back(d.ToString());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("A third runtime's kind and block load when the loader is given its definition") {
  const LoadResult r = Load("  kind: fake\n  fake: {image: sglang:v0.4}\n");
  INFO(Rendered(r, Diagnostic::Severity::kError).size());
  REQUIRE(r.ok());
  const Runtime& runtime = r.inventory->runtime;
  CHECK(runtime.kind == "fake");
  CHECK(runtime.Block<FakeOptions>().image == "sglang:v0.4");
  CHECK(runtime.Definition().name() == "fake");
  CHECK(Rendered(r, Diagnostic::Severity::kWarning).empty());
  // Placement and plan ask the definition: GPUs, and its own memory keys.
  CHECK_FALSE(runtime.RanksOnCpu());
  const auto placement = PlaceRanks(*r.inventory, std::nullopt);
  REQUIRE(placement.ok());
  CHECK(placement->world_size() == 2);
  ModelFacts facts;
  facts.max_position_embeddings = 4096;
  const MemorySettings settings = RuntimeMemorySettings(*r.inventory, facts, Dtype::kFloat16);
  CHECK(settings.max_context == 4096);
  CHECK(settings.max_context_key == "--context in runtime.fake");
  CHECK(settings.fraction_origin == "fake's default");
}

TEST_CASE("A third runtime's aliases and block checks and schema errors are its own") {
  CHECK(Rendered(Load("  kind: pretend\n"), Diagnostic::Severity::kError) ==
        Lines{"cluster.yaml:7:9: error: runtime.kind: expected one of engine, vllm-docker or fake, found \"pretend\" "
              "(did you mean fake?)"});
  CHECK(Rendered(Load("  kind: fake\n"), Diagnostic::Severity::kError) ==
        Lines{"cluster.yaml:5:3: error: runtime.fake: required key is missing for kind fake (add fake: {image: "
              "NAME})"});
  CHECK(Rendered(Load("  kind: fake\n  fake: {image: x, imag: y}\n"), Diagnostic::Severity::kError) ==
        Lines{"cluster.yaml:8:20: error: runtime.fake.imag: unknown key (did you mean image?)"});
}

TEST_CASE("Another runtime's block is read and warned about as the built-in ones are") {
  const LoadResult r = Load("  fake: {image: x}\n");
  REQUIRE(r.ok());
  CHECK(r.inventory->runtime.kind == "engine");
  CHECK(Rendered(r, Diagnostic::Severity::kWarning) ==
        Lines{"cluster.yaml:7:3: warning: runtime.fake: ignored: only kind fake uses it (remove it, or set kind: "
              "fake)"});
  CHECK(Rendered(Load("  kind: fake\n  fake: {image: x}\n  engine: {device: cpu}\n"),
                 Diagnostic::Severity::kWarning) ==
        Lines{"cluster.yaml:9:3: warning: runtime.engine: ignored: only kind engine uses it (remove it, or set "
              "kind: engine)"});
}

TEST_CASE("Without its definition a third runtime is an unknown kind that lists the known ones") {
  CHECK(Rendered(Load("  kind: fake\n  fake: {image: x}\n", nullptr), Diagnostic::Severity::kError) ==
        Lines{"cluster.yaml:7:9: error: runtime.kind: expected one of engine or vllm-docker, found \"fake\"",
              "cluster.yaml:8:3: error: runtime.fake: unknown key (valid keys here: kind, model, tensor_parallel, "
              "pipeline_parallel, dtype, port, bind, api_key_file, engine, vllm_docker, restart)"});
}

TEST_CASE("An inventory copied keeps its own copy of every runtime block") {
  const LoadResult r = Load("  engine: {max_context: 512}\n");
  REQUIRE(r.ok());
  Inventory copy = *r.inventory;
  EngineOptionsOf(copy.runtime).max_context = 1024;
  CHECK(EngineOptionsOf(r.inventory->runtime).max_context == 512);
  CHECK(EngineOptionsOf(copy.runtime).max_context == 1024);
}
