// The chat templates of real models, and one template per construct, render
// byte for byte as @huggingface/jinja renders them.
//
// The expected outputs come live from tests/reference/render_chat_reference.mjs,
// run by the CTest fixture engine_chat_reference_setup into the build folder
// (see tests/engine/chat/CMakeLists.txt). Without node or the npm packages,
// each test here exits with code 4, which CTest reports as "skipped", and
// prints why.
//
// This executable has its own main: Catch2 v2 exits with the number of failed
// assertions, and exactly 4 failures would read as "skipped" to CTest.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "engine/chat/chat_template.h"
#include "engine/chat/json.h"

namespace {

using Json = nlohmann::ordered_json;

[[noreturn]] void Skip(const std::string& reason) {
  std::printf("skipped: %s\n", reason.c_str());
  std::fflush(stdout);
  std::exit(4);  // SKIP_RETURN_CODE
}

const Json& Reference() {
  static const Json reference = [] {
    std::ifstream in(CHAT_REFERENCE_JSON);
    if (!in) {
      Skip(std::string(CHAT_REFERENCE_JSON) +
           " is missing: run this test through ctest, whose fixture engine_chat_reference_setup writes it");
    }
    std::stringstream text;
    text << in.rdbuf();
    Json j = Json::parse(text.str());
    if (j.contains("skipped")) Skip(j["skipped"].get<std::string>());
    return j;
  }();
  return reference;
}

const Json& TemplateEntry(const std::string& name) {
  for (const Json& t : Reference()["templates"]) {
    if (t["name"] == name) return t;
  }
  FAIL("the reference has no template " << name);
  std::abort();
}

std::string TokenOr(const Json& token, const std::string& fallback) {
  return token.is_null() ? fallback : token.get<std::string>();
}
std::string TokenOrEmpty(const Json& token) { return TokenOr(token, ""); }

engine::ChatTemplate Load(const Json& entry) {
  auto t = engine::ChatTemplate::FromSource(entry["source"].get<std::string>(), TokenOrEmpty(entry["bos_token"]),
                                            TokenOrEmpty(entry["eos_token"]));
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  return *t;
}

// The conversation as ChatMessages, when it is plain role/content text.
std::optional<std::vector<engine::ChatMessage>> PlainMessages(const Json& messages) {
  std::vector<engine::ChatMessage> out;
  for (const Json& m : messages) {
    for (const auto& [key, value] : m.items()) {
      if (key != "role" && key != "content" && key != "reasoning_content") return std::nullopt;
      if (!value.is_string()) return std::nullopt;
    }
    engine::ChatMessage message{m["role"].get<std::string>(), m["content"].get<std::string>(), std::nullopt};
    if (m.contains("reasoning_content")) message.reasoning_content = m["reasoning_content"].get<std::string>();
    out.push_back(std::move(message));
  }
  return out;
}

// Renders every reference case of the named templates and compares. Returns
// the number of cases checked.
int CheckCases(const std::set<std::string>& names, bool all_but_names = false) {
  int checked = 0;
  for (const Json& c : Reference()["cases"]) {
    const std::string name = c["template"].get<std::string>();
    if ((names.count(name) > 0) == all_but_names) continue;
    const engine::ChatTemplate t = Load(TemplateEntry(name));
    const Json& context = c["context"];
    INFO("template " << name << ", conversation " << c["conversation"].get<std::string>()
                     << ", add_generation_prompt " << context["add_generation_prompt"].get<bool>());
    auto value = engine::jinja::ValueFromJson(context.dump());
    REQUIRE(value.ok());
    auto rendered = t.Render(*value);
    if (c.contains("error")) {
      // raise_exception("message"): the error carries the template's message.
      REQUIRE_FALSE(rendered.ok());
      const std::string expected = c["error"].get<std::string>();
      const std::string& actual = rendered.status().message();
      CHECK(actual.size() >= expected.size());
      CHECK(actual.substr(actual.size() - std::min(actual.size(), expected.size())) == expected);
    } else {
      INFO(rendered.status().ToString());
      REQUIRE(rendered.ok());
      CHECK(*rendered == c["expected"].get<std::string>());
      // The plain API renders what transformers renders for the same messages.
      bool plain_context = context["tools"].is_null();
      for (const auto& [key, unused] : context.items()) {
        static const std::set<std::string> kPlainKeys = {"messages", "tools", "documents", "add_generation_prompt",
                                                         "bos_token", "eos_token"};
        plain_context = plain_context && kPlainKeys.count(key) > 0;
      }
      if (auto messages = PlainMessages(context["messages"]); messages && plain_context) {
        auto simple = t.Render(*messages, context["add_generation_prompt"].get<bool>());
        REQUIRE(simple.ok());
        CHECK(*simple == c["expected"].get<std::string>());
      }
    }
    ++checked;
  }
  return checked;
}

}  // namespace

TEST_CASE("The four packaged models' templates load from their folders as the reference read them") {
  for (const Json& entry : Reference()["templates"]) {
    if (!entry.contains("model_dir")) continue;
    INFO(entry["name"].get<std::string>());
    auto t = engine::ChatTemplate::FromModelDir(entry["model_dir"].get<std::string>());
    INFO(t.status().ToString());
    REQUIRE(t.ok());
    CHECK(t->source() == entry["source"].get<std::string>());
    CHECK(t->bos_token().value_or("<none>") == TokenOr(entry["bos_token"], "<none>"));
    CHECK(t->eos_token().value_or("<none>") == TokenOr(entry["eos_token"], "<none>"));
    CHECK_FALSE(t->OpensThinkBlock());
  }
}

TEST_CASE("Llama 3 renders every conversation like the reference") { CHECK(CheckCases({"llama3"}) > 0); }

TEST_CASE("Llama 3.1 renders every conversation like the reference") { CHECK(CheckCases({"llama3_1"}) > 0); }

TEST_CASE("Qwen3 renders every conversation like the reference (tools and reasoning included)") {
  CHECK(CheckCases({"qwen3"}) > 0);
}

TEST_CASE("DeepSeek-V3 renders every conversation like the reference (tool calls included)") {
  CHECK(CheckCases({"deepseek_v3"}) > 0);
}

TEST_CASE("The DeepSeek-R1 distill template renders every conversation like the reference") {
  CHECK(CheckCases({"deepseek_r1_distill"}) > 0);
}

TEST_CASE("Every construct template renders like the reference") {
  // All templates but the model ones: a construct template added to the
  // reference script is compared here without a change to this file.
  CHECK(CheckCases({"llama3", "llama3_1", "qwen3", "deepseek_v3", "deepseek_r1_distill"}, true) > 0);
}

int main(int argc, char** argv) {
  const int failed = Catch::Session().run(argc, argv);
  return failed == 4 ? 5 : failed;  // 4 is reserved for "skipped"
}
