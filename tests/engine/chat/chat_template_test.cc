// engine::ChatTemplate: loading a model folder's chat template as
// transformers does, and rendering conversations with it.
#include "engine/chat/chat_template.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "common/files.h"
#include "engine/chat/json.h"

using engine::ChatMessage;
using engine::ChatTemplate;
using cluster::StatusCode;
namespace fs = std::filesystem;

namespace {

const char* const kBos = "<｜begin▁of▁sentence｜>";
const char* const kEos = "<｜end▁of▁sentence｜>";

std::string R1Source() {
  auto source = cluster::ReadFile(fs::path(CLUSTER_SOURCE_DIR) / "tests/engine/chat/templates/deepseek-r1-distill.jinja");
  REQUIRE(source.ok());
  return *source;
}

// A temporary model folder, removed at the end of the test.
class ModelDir {
 public:
  ModelDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() / ("chat_template_test_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~ModelDir() { fs::remove_all(path_); }
  void Write(const std::string& name, const std::string& contents) const {
    REQUIRE(cluster::WriteFileAtomically(path_ / name, contents).ok());
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// tokenizer_config.json text with the given chat_template JSON value.
std::string Config(const std::string& chat_template_json, const std::string& bos_json = R"("<s>")") {
  return R"({"add_bos_token": false, "bos_token": )" + bos_json + R"(, "eos_token": {"__type": "AddedToken", )" +
         R"("content": "</s>", "lstrip": false}, "chat_template": )" + chat_template_json + "}";
}

}  // namespace

TEST_CASE("The R1 distill template drops past reasoning and opens a think block for the answer") {
  auto t = ChatTemplate::FromSource(R1Source(), kBos, kEos);
  REQUIRE(t.ok());
  const std::vector<ChatMessage> conversation = {
      {"system", "You are helpful.", std::nullopt},
      {"user", "What is 2+2?", std::nullopt},
      {"assistant", "<think>\nAdd.\n</think>\n\nThe answer is 4.", std::nullopt},
      {"user", "And 3+3?", std::nullopt},
  };
  auto prompt = t->Render(conversation, /*add_generation_prompt=*/true);
  REQUIRE(prompt.ok());
  CHECK(*prompt ==
        "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>What is 2+2?<｜Assistant｜>\n\nThe answer is 4."
        "<｜end▁of▁sentence｜><｜User｜>And 3+3?<｜Assistant｜><think>\n");
  auto history = t->Render({conversation.begin(), conversation.end() - 1}, /*add_generation_prompt=*/false);
  REQUIRE(history.ok());
  CHECK(*history ==
        "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>What is 2+2?<｜Assistant｜>\n\nThe answer is 4."
        "<｜end▁of▁sentence｜>");
  CHECK(t->OpensThinkBlock());
}

TEST_CASE("OpensThinkBlock is false for templates whose prompt does not end inside <think>") {
  auto plain = ChatTemplate::FromSource("{% for m in messages %}{{ m.content }}{% endfor %}<|assistant|>", "", "");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->OpensThinkBlock());
  auto closed = ChatTemplate::FromSource("{{ messages[0].content }}<think>\n\n</think>\n\n", "", "");
  REQUIRE(closed.ok());
  CHECK_FALSE(closed->OpensThinkBlock());
  auto failing = ChatTemplate::FromSource("{{ raise_exception('no') }}", "", "");
  REQUIRE(failing.ok());
  CHECK_FALSE(failing->OpensThinkBlock());
}

TEST_CASE("A model folder's tokenizer_config.json gives the template and the special tokens") {
  ModelDir dir;
  dir.Write("tokenizer_config.json", Config(R"("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}")"));
  auto t = ChatTemplate::FromModelDir(dir.path());
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  CHECK(t->bos_token() == "<s>");
  CHECK(t->eos_token() == "</s>");  // from an AddedToken object
  CHECK(*t->Render({{"user", "hi", std::nullopt}}, false) == "<s>hi</s>");
}

TEST_CASE("chat_template.jinja in the folder takes precedence over tokenizer_config.json") {
  ModelDir dir;
  dir.Write("tokenizer_config.json", Config(R"("from config")"));
  dir.Write("chat_template.jinja", "from file {{ bos_token }}\n");
  auto t = ChatTemplate::FromModelDir(dir.path());
  REQUIRE(t.ok());
  CHECK(*t->Render({}, false) == "from file <s>");
}

TEST_CASE("A list of named templates uses the one named 'default'") {
  ModelDir dir;
  dir.Write("tokenizer_config.json",
            Config(R"([{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "plain"}])"));
  auto t = ChatTemplate::FromModelDir(dir.path());
  REQUIRE(t.ok());
  CHECK(t->source() == "plain");

  ModelDir no_default;
  no_default.Write("tokenizer_config.json", Config(R"([{"name": "tool_use", "template": "tools"}])"));
  auto missing = ChatTemplate::FromModelDir(no_default.path());
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK(missing.status().message() == (no_default.path() / "tokenizer_config.json").string() +
                                          ": \"chat_template\" lists no template named 'default' (it has 'tool_use')");
}

TEST_CASE("A null bos_token stays undefined in the template, as in transformers") {
  ModelDir dir;
  dir.Write("tokenizer_config.json", Config(R"("{{ bos_token is defined }} [{{ bos_token }}]")", "null"));
  auto t = ChatTemplate::FromModelDir(dir.path());
  REQUIRE(t.ok());
  CHECK_FALSE(t->bos_token().has_value());
  CHECK(*t->Render({}, false) == "False []");
}

TEST_CASE("Missing files and templates are reported with their paths") {
  ModelDir empty;
  auto no_config = ChatTemplate::FromModelDir(empty.path());
  REQUIRE_FALSE(no_config.ok());
  CHECK(no_config.status().code() == StatusCode::kNotFound);
  CHECK(no_config.status().message() == (empty.path() / "tokenizer_config.json").string() + ": no such file");

  ModelDir base_model;
  base_model.Write("tokenizer_config.json", R"({"bos_token": "<s>"})");
  auto no_template = ChatTemplate::FromModelDir(base_model.path());
  REQUIRE_FALSE(no_template.ok());
  CHECK(no_template.status().code() == StatusCode::kNotFound);
  CHECK(no_template.status().message() ==
        (base_model.path() / "tokenizer_config.json").string() +
            " has no \"chat_template\" and the folder has no chat_template.jinja; this model has no chat template "
            "(a base model?)");
}

TEST_CASE("A template error names the file and the position") {
  ModelDir dir;
  dir.Write("tokenizer_config.json", Config(R"("Hi\n{{ messages | sum }}")"));
  auto t = ChatTemplate::FromModelDir(dir.path());
  REQUIRE_FALSE(t.ok());
  CHECK(t.status().code() == StatusCode::kUnimplemented);
  CHECK(t.status().message() ==
        (dir.path() / "tokenizer_config.json").string() + " chat_template: 2:15: unsupported filter 'sum'");

  auto raising = ChatTemplate::FromSource("{{ raise_exception('Only user and assistant roles') }}", "", "");
  REQUIRE(raising.ok());
  auto rendered = raising->Render({{"system", "x", std::nullopt}}, false);
  REQUIRE_FALSE(rendered.ok());
  CHECK(rendered.status().message() == "chat template: 1:4: template raised an error: Only user and assistant roles");
}

TEST_CASE("The plain render passes what transformers passes: tools and documents are None") {
  auto t = ChatTemplate::FromSource(
      "{{ tools is none }} {{ documents is none }} {{ add_generation_prompt }} {{ messages | tojson }}", "<s>", "</s>");
  REQUIRE(t.ok());
  auto out = t->Render({{"assistant", "a", "why"}, {"user", "b", std::nullopt}}, true);
  REQUIRE(out.ok());
  CHECK(*out == "True True True [{\"role\": \"assistant\", \"content\": \"a\", \"reasoning_content\": \"why\"}, "
                "{\"role\": \"user\", \"content\": \"b\"}]");
}

TEST_CASE("The general render takes any context and adds the special tokens unless it sets them") {
  auto t = ChatTemplate::FromSource("{{ bos_token }}|{{ eos_token }}|{{ enable_thinking }}|{{ tools[0].name }}",
                                    "<s>", "</s>");
  REQUIRE(t.ok());
  auto context = engine::jinja::ValueFromJson(R"({"eos_token": "<eot>", "enable_thinking": false,
                                                  "tools": [{"name": "search"}]})");
  REQUIRE(context.ok());
  CHECK(*t->Render(*context) == "<s>|<eot>|False|search");
  auto not_a_dict = t->Render(engine::jinja::Value::MakeList({}));
  REQUIRE_FALSE(not_a_dict.ok());
  CHECK(not_a_dict.status().message() == "chat template: the render context must be a dict, not list");
}
