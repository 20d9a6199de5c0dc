// generation_config.json and tokenizer_config.json: the defaults and the
// prompt-building facts a model folder carries besides its weights.
#include <catch2/catch.hpp>

#include "engine/model/generation_config.h"
#include "engine/model/tokenizer_config.h"
#include "tiny_model.h"

using namespace engine;

TEST_CASE("generation_config.json gives EOS ids as an int or a list, and the default sampling settings") {
  auto g = ParseGenerationConfig(R"({"bos_token_id": 151646, "eos_token_id": [151643, 151645], "do_sample": true,
                                     "temperature": 0.6, "top_p": 0.95, "top_k": 20})",
                                 "generation_config.json");
  REQUIRE(g.ok());
  CHECK(g->eos_token_ids == std::vector<std::int32_t>{151643, 151645});
  CHECK(g->bos_token_id == 151646);
  CHECK(g->do_sample == true);
  CHECK(g->temperature == 0.6);
  CHECK(g->top_p == 0.95);
  CHECK(g->top_k == 20);
  CHECK_FALSE(g->repetition_penalty.has_value());

  auto single = ParseGenerationConfig(R"({"eos_token_id": 2})", "generation_config.json");
  REQUIRE(single.ok());
  CHECK(single->eos_token_ids == std::vector<std::int32_t>{2});

  auto bad = ParseGenerationConfig(R"({"eos_token_id": "</s>"})", "g.json");
  CHECK(bad.status().message() == "g.json: field eos_token_id: expected a token id or a list of token ids, found a string");
}

TEST_CASE("Without generation_config.json, EOS ids come from config.json") {
  testing::TempDir dir;
  auto g = LoadGenerationConfig(dir.path());
  REQUIRE(g.ok());
  CHECK(g->eos_token_ids.empty());
  ModelConfig model;
  model.eos_token_ids = {9};
  CHECK(EosTokenIds(model, *g) == std::vector<std::int32_t>{9});
  g->eos_token_ids = {3, 4};
  CHECK(EosTokenIds(model, *g) == std::vector<std::int32_t>{3, 4});
}

TEST_CASE("tokenizer_config.json's special tokens may be strings or AddedToken objects") {
  auto t = ParseTokenizerConfig(R"({"add_bos_token": true, "add_eos_token": false,
      "bos_token": {"__type": "AddedToken", "content": "<｜begin▁of▁sentence｜>", "lstrip": false},
      "eos_token": "<｜end▁of▁sentence｜>"})",
                                "tokenizer_config.json");
  REQUIRE(t.ok());
  CHECK(t->bos_token == "<｜begin▁of▁sentence｜>");
  CHECK(t->eos_token == "<｜end▁of▁sentence｜>");
  CHECK(t->add_bos_token == true);
  CHECK(t->add_eos_token == false);

  auto bad = ParseTokenizerConfig(R"({"bos_token": 5})", "tokenizer_config.json");
  CHECK(bad.status().message() ==
        "tokenizer_config.json: field bos_token: expected a string or an object with \"content\", found an integer");
}
