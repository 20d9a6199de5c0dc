// Loading tokenizer.json: where it is found, and what a broken or
// unsupported file says.
#include <catch2/catch.hpp>

#include "tests/engine/tokenizer/tiny_tokenizer.h"

using tiny::json;

TEST_CASE("Given a folder holding tokenizer.json, FromFile should load it from there", "[tokenizer][load]") {
  tiny::TempDir dir;
  dir.Write("tokenizer.json", tiny::TinyTokenizerJson({{"h", "i"}}).dump());
  auto from_folder = engine::Tokenizer::FromFile(dir.path());
  REQUIRE(from_folder.ok());
  auto from_file = engine::Tokenizer::FromFile(dir.path() / "tokenizer.json");
  REQUIRE(from_file.ok());
  CHECK((*from_folder)->Encode("hi") == std::vector<int32_t>{256});
  CHECK((*from_file)->Encode("hi") == std::vector<int32_t>{256});
}

TEST_CASE("Given a path with no tokenizer.json, FromFile should fail with NotFound naming the file",
          "[tokenizer][load]") {
  tiny::TempDir dir;
  auto missing_in_folder = engine::Tokenizer::FromFile(dir.path());
  REQUIRE_FALSE(missing_in_folder.ok());
  CHECK(missing_in_folder.status().code() == cluster::StatusCode::kNotFound);
  CHECK(missing_in_folder.status().message() ==
        (dir.path() / "tokenizer.json").string() +
            ": no such file; pass a tokenizer.json or the model folder that holds it");

  auto missing_file = engine::Tokenizer::FromFile(dir.path() / "nope.json");
  REQUIRE_FALSE(missing_file.ok());
  CHECK(missing_file.status().message() ==
        (dir.path() / "nope.json").string() + ": no such file; pass a tokenizer.json or the model folder that holds it");
}

TEST_CASE("Given a file that is not JSON, FromFile should say where the JSON breaks", "[tokenizer][load]") {
  tiny::TempDir dir;
  const auto file = dir.Write("tokenizer.json", "{\n  \"model\": {,\n}");
  auto tokenizer = engine::Tokenizer::FromFile(file);
  REQUIRE_FALSE(tokenizer.ok());
  CHECK(tokenizer.status().code() == cluster::StatusCode::kInvalidArgument);
  CHECK(tokenizer.status().message() ==
        file.string() +
            ": not valid JSON: parse error at line 2, column 13: syntax error while parsing object key - "
            "unexpected ','; expected string literal");
}

TEST_CASE("Given JSON that is not an object, loading should say a tokenizer.json was expected", "[tokenizer][load]") {
  auto tokenizer = engine::Tokenizer::FromJsonText("[1, 2]", "tiny.json");
  REQUIRE_FALSE(tokenizer.ok());
  CHECK(tokenizer.status().message() == "tiny.json: expected a JSON object (a tokenizer.json), got an array");
}

TEST_CASE("Given an unsupported model type, loading should fail naming the type", "[tokenizer][load]") {
  json config = tiny::TinyTokenizerJson();
  config["model"]["type"] = "WordPiece";
  const cluster::Status status = tiny::LoadError(config);
  CHECK(status.code() == cluster::StatusCode::kUnimplemented);
  CHECK(status.message() == "tiny.json: model.type \"WordPiece\" is not supported (supported models: BPE)");
}

TEST_CASE("Given an unsupported normalizer, pre-tokenizer, post-processor or decoder, loading should fail naming it",
          "[tokenizer][load]") {
  SECTION("a normalizer inside a Sequence") {
    json config = tiny::TinyTokenizerJson();
    config["normalizer"] = {{"type", "Sequence"},
                            {"normalizers", json::array({{{"type", "NFC"}}, {{"type", "Lowercase"}}})}};
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: normalizer.normalizers[1].type \"Lowercase\" is not supported "
          "(supported normalizers: NFC, NFD, NFKC, NFKD, Sequence)");
  }
  SECTION("a pre-tokenizer") {
    json config = tiny::TinyTokenizerJson();
    config["pre_tokenizer"] = {{"type", "Whitespace"}};
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: pre_tokenizer.type \"Whitespace\" is not supported "
          "(supported pre-tokenizers: Split, ByteLevel, Sequence)");
  }
  SECTION("a pre-tokenizer after ByteLevel") {
    json config = tiny::TinyTokenizerJson();
    config["pre_tokenizer"]["pretokenizers"].push_back(config["pre_tokenizer"]["pretokenizers"][0]);
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: pre_tokenizer.pretokenizers[2]: a pre-tokenizer after ByteLevel is not supported "
          "(ByteLevel must come last)");
  }
  SECTION("a post-processor") {
    json config = tiny::TinyTokenizerJson();
    config["post_processor"] = {{"type", "BertProcessing"}};
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: post_processor.type \"BertProcessing\" is not supported "
          "(supported post-processors: TemplateProcessing, ByteLevel, Sequence)");
  }
  SECTION("a decoder") {
    json config = tiny::TinyTokenizerJson();
    config["decoder"] = {{"type", "Metaspace"}};
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: decoder.type \"Metaspace\" is not supported (supported decoders: ByteLevel)");
  }
  SECTION("no decoder") {
    json config = tiny::TinyTokenizerJson();
    config["decoder"] = nullptr;
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: decoder: missing (null); a byte-level BPE tokenizer needs the ByteLevel decoder");
  }
}

TEST_CASE("Given BPE options this engine does not implement, loading should refuse them by name",
          "[tokenizer][load]") {
  json config = tiny::TinyTokenizerJson();
  SECTION("dropout") {
    config["model"]["dropout"] = 0.1;
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: model.dropout: 0.1 is not supported (BPE dropout is for training; set it to null)");
  }
  SECTION("byte_fallback") {
    config["model"]["byte_fallback"] = true;
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: model.byte_fallback: true is not supported (byte-fallback BPE is not implemented)");
  }
  SECTION("a continuing_subword_prefix (an empty one, as Qwen writes, is fine)") {
    config["model"]["continuing_subword_prefix"] = "";
    tiny::Load(config);
    config["model"]["continuing_subword_prefix"] = "##";
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: model.continuing_subword_prefix: \"##\" is not supported (not used by byte-level BPE)");
  }
}

TEST_CASE("Given malformed merges or vocabulary, loading should name the entry and the problem",
          "[tokenizer][load]") {
  json config = tiny::TinyTokenizerJson({{"h", "i"}});
  SECTION("a merge with three parts") {
    config["model"]["merges"].push_back("a b c");
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: model.merges[1]: expected two tokens separated by one space, got \"a b c\"");
  }
  SECTION("a merge of the wrong type") {
    config["model"]["merges"].push_back(json::array({"a"}));
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: model.merges[1]: expected \"left right\" or [\"left\", \"right\"], got an array");
  }
  SECTION("a merge whose result is not in the vocabulary") {
    config["model"]["merges"].push_back("a b");
    CHECK(tiny::LoadError(config).message() == "tiny.json: model.merges[1]: token \"ab\" is not in the vocabulary");
  }
  SECTION("a merge of an unknown token") {
    config["model"]["merges"].push_back(json::array({"zz", "a"}));
    CHECK(tiny::LoadError(config).message() == "tiny.json: model.merges[1]: token \"zz\" is not in the vocabulary");
  }
  SECTION("a negative id") {
    config["model"]["vocab"]["hi"] = -5;
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: model.vocab: the id of \"hi\" must be an integer from 0 to 16777215, got -5");
  }
  SECTION("no model") {
    config.erase("model");
    CHECK(tiny::LoadError(config).message() == "tiny.json: model: missing");
  }
  SECTION("a Split without a pattern") {
    config["pre_tokenizer"]["pretokenizers"][0].erase("pattern");
    CHECK(tiny::LoadError(config).message() == "tiny.json: pre_tokenizer.pretokenizers[0].pattern: missing");
  }
  SECTION("a regex that does not compile") {
    config["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
    CHECK(tiny::LoadError(config).message() ==
          "tiny.json: pre_tokenizer.pretokenizers[0].pattern.Regex: the regex does not compile: "
          "missing closing parenthesis at offset 9");
  }
  SECTION("an added token without content") {
    tiny::AddToken(&config, 300, "", true);
    CHECK(tiny::LoadError(config).message() == "tiny.json: added_tokens[0].content: empty");
  }
}
