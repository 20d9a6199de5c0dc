#include "engine/model/checkpoint.h"

#include <catch2/catch.hpp>

#include <fstream>

#include "engine/model/safetensors_writer.h"
#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;

TEST_CASE("A single-file checkpoint reads tensors by name, checking their shape") {
  testing::TempDir dir;
  REQUIRE(WriteSafetensors(dir.path() / "model.safetensors",
                           {{"model.layers.3.mlp.up_proj.weight", DType::kF32, {2, 3}, {1, 2, 3, 4, 5, 6}}})
              .ok());
  auto ckpt = Checkpoint::Open(dir.path());
  REQUIRE(ckpt.ok());
  CHECK(ckpt->Has("model.layers.3.mlp.up_proj.weight"));
  CHECK(*ckpt->Read("model.layers.3.mlp.up_proj.weight", {2, 3}) == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(*ckpt->ReadRows("model.layers.3.mlp.up_proj.weight", {2, 3}, 1, 2) == std::vector<float>{4, 5, 6});
  CHECK(*ckpt->ReadColumns("model.layers.3.mlp.up_proj.weight", {2, 3}, 0, 1) == std::vector<float>{1, 4});

  const std::string file = (dir.path() / "model.safetensors").string();
  auto wrong = ckpt->Read("model.layers.3.mlp.up_proj.weight", {3, 2});
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().message() ==
        file + ": tensor model.layers.3.mlp.up_proj.weight: expected shape [3, 2], found [2, 3]");

  auto missing = ckpt->Read("model.norm.weight", {3});
  CHECK(missing.status().code() == cluster::StatusCode::kNotFound);
  CHECK(missing.status().message() == file + ": tensor model.norm.weight: not found");
}

TEST_CASE("A sharded checkpoint follows model.safetensors.index.json to each tensor's shard") {
  testing::TempDir dir;
  testing::TinyModelOptions options;
  options.shards = 3;
  REQUIRE(testing::WriteTinyModel(dir.path(), options).ok());
  auto ckpt = Checkpoint::Open(dir.path());
  REQUIRE(ckpt.ok());
  CHECK(ckpt->Has("model.embed_tokens.weight"));
  CHECK(ckpt->Has("lm_head.weight"));
  CHECK(ckpt->Read("model.norm.weight", {16}).ok());
  CHECK(ckpt->Read("model.layers.1.mlp.down_proj.weight", {16, 24}).ok());

  auto missing = ckpt->Read("model.layers.9.mlp.up_proj.weight", {24, 16});
  CHECK(missing.status().message() ==
        (dir.path() / "model.safetensors.index.json").string() + ": tensor model.layers.9.mlp.up_proj.weight: not found");
}

TEST_CASE("An index naming a shard that is missing, or a folder with no weights, is refused with the path") {
  testing::TempDir dir;
  std::ofstream(dir.path() / "model.safetensors.index.json")
      << R"({"weight_map": {"a": "model-00001-of-00002.safetensors"}})";
  auto ckpt = Checkpoint::Open(dir.path());
  REQUIRE_FALSE(ckpt.ok());
  CHECK(ckpt.status().code() == cluster::StatusCode::kNotFound);
  CHECK_THAT(ckpt.status().message(), Contains("model.safetensors.index.json lists model-00001-of-00002.safetensors"));
  CHECK_THAT(ckpt.status().message(), Contains("no such file"));

  testing::TempDir empty;
  CHECK(Checkpoint::Open(empty.path()).status().message() ==
        empty.path().string() + ": no model.safetensors or model.safetensors.index.json in the model folder");
}
