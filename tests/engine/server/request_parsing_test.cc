// Request bodies become C++ structs at once; anything malformed, of the wrong
// type or out of range is a 400 whose message and param name the field.
#include <catch2/catch.hpp>

#include "engine/server/chat_request.h"
#include "engine/server/completion_request.h"

using namespace engine;
using namespace engine::server;
using Catch::Matchers::Contains;

namespace {

const RequestLimits kLimits;

ApiError CompletionError(const std::string& body) {
  auto r = ParseCompletionRequest(body, kLimits);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

ApiError ChatError(const std::string& body) {
  auto r = ParseChatRequest(body, kLimits);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("A completions request with every supported field is parsed into its struct") {
  auto r = ParseCompletionRequest(R"({"model": "demo", "prompt": "Once", "max_tokens": 5, "temperature": 0.5,
    "top_p": 0.9, "top_k": 40, "min_p": 0.05, "seed": 7, "stop": ["\n", "END"], "n": 2,
    "presence_penalty": 0.5, "frequency_penalty": -0.5, "repetition_penalty": 1.1, "logprobs": 3,
    "stream": true, "stream_options": {"include_usage": true}, "user": "u1", "unknown_field": [1],
    "ignore_eos": true, "return_tokens_as_token_ids": true})",
                                  kLimits);
  REQUIRE(r.ok());
  CHECK(r->model == "demo");
  REQUIRE(r->prompts.size() == 1);
  CHECK(std::get<std::string>(r->prompts[0]) == "Once");
  CHECK(*r->sampling.max_tokens == 5);
  CHECK(*r->sampling.temperature == 0.5);
  CHECK(*r->sampling.top_p == 0.9);
  CHECK(*r->sampling.top_k == 40);
  CHECK(*r->sampling.min_p == 0.05);
  CHECK(*r->sampling.seed == 7);
  CHECK(r->sampling.stop == std::vector<std::string>{"\n", "END"});
  CHECK(r->n == 2);
  CHECK(*r->sampling.presence_penalty == 0.5);
  CHECK(*r->sampling.frequency_penalty == -0.5);
  CHECK(*r->sampling.repetition_penalty == 1.1);
  CHECK(*r->logprobs == 3);
  CHECK(r->stream.stream);
  CHECK(r->stream.include_usage);
  CHECK(r->user == "u1");
  CHECK(r->sampling.ignore_eos);
  CHECK(r->tokens_as_ids);
}

TEST_CASE("A completions prompt may be text, token ids, or a list of either") {
  auto text_list = ParseCompletionRequest(R"({"model": "m", "prompt": ["a", "b"]})", kLimits);
  REQUIRE(text_list.ok());
  CHECK(text_list->prompts.size() == 2);

  auto ids = ParseCompletionRequest(R"({"model": "m", "prompt": [1, 2, 3]})", kLimits);
  REQUIRE(ids.ok());
  REQUIRE(ids->prompts.size() == 1);
  CHECK(std::get<std::vector<std::int32_t>>(ids->prompts[0]) == std::vector<std::int32_t>{1, 2, 3});

  auto id_lists = ParseCompletionRequest(R"({"model": "m", "prompt": [[1, 2], "x", [3]]})", kLimits);
  REQUIRE(id_lists.ok());
  CHECK(id_lists->prompts.size() == 3);
  CHECK(std::get<std::string>(id_lists->prompts[1]) == "x");
}

TEST_CASE("Absent optional fields stay unset so the model's defaults can apply") {
  auto r = ParseCompletionRequest(R"({"model": "m", "prompt": "x", "temperature": null})", kLimits);
  REQUIRE(r.ok());
  CHECK_FALSE(r->sampling.temperature);
  CHECK_FALSE(r->sampling.max_tokens);
  CHECK_FALSE(r->logprobs);
  CHECK(r->n == 1);
  CHECK_FALSE(r->stream.stream);
}

TEST_CASE("Malformed JSON is a 400 that says where the parser stopped") {
  ApiError e = CompletionError(R"({"model": "m", "prompt": )");
  CHECK(e.http_status == 400);
  CHECK(e.type == "invalid_request_error");
  CHECK_THAT(e.message, Contains("We could not parse the JSON body of your request"));
  CHECK_THAT(e.message, Contains("line 1"));
  CHECK(e.code == "invalid_json");
}

TEST_CASE("A body that is JSON but not an object is a 400") {
  ApiError e = CompletionError("[1, 2]");
  CHECK(e.http_status == 400);
  CHECK(e.message == "The request body must be a JSON object, but got an array.");
}

TEST_CASE("Missing model or prompt is a 400 naming the parameter") {
  ApiError model = CompletionError(R"({"prompt": "x"})");
  CHECK(model.message == "Missing required parameter: 'model'.");
  CHECK(model.param == "model");
  CHECK(model.code == "missing_required_parameter");
  ApiError prompt = CompletionError(R"({"model": "m"})");
  CHECK(prompt.message == "Missing required parameter: 'prompt'.");
  CHECK(prompt.param == "prompt");
}

TEST_CASE("Wrong types are 400s that name the field, the expected and the actual type") {
  struct Case {
    const char* body;
    const char* message;
    const char* param;
  };
  const Case cases[] = {
      {R"({"model": 3, "prompt": "x"})", "Invalid type for 'model': expected a string, but got an integer instead.",
       "model"},
      {R"({"model": "m", "prompt": "x", "temperature": "hot"})",
       "Invalid type for 'temperature': expected a number, but got a string instead.", "temperature"},
      {R"({"model": "m", "prompt": "x", "max_tokens": 1.5})",
       "Invalid type for 'max_tokens': expected an integer, but got a decimal number instead.", "max_tokens"},
      {R"({"model": "m", "prompt": "x", "stream": "yes"})",
       "Invalid type for 'stream': expected a boolean, but got a string instead.", "stream"},
      {R"({"model": "m", "prompt": "x", "stop": 5})",
       "Invalid type for 'stop': expected a string or an array of strings, but got an integer instead.", "stop"},
      {R"({"model": "m", "prompt": "x", "stop": ["a", 1]})",
       "Invalid type for 'stop[1]': expected a string, but got an integer instead.", "stop[1]"},
      {R"({"model": "m", "prompt": {"text": "x"}})",
       "Invalid type for 'prompt': expected a string, an array of strings, an array of token ids or an array of "
       "token id arrays, but got an object instead.",
       "prompt"},
      {R"({"model": "m", "prompt": [1, "x"]})",
       "Invalid type for 'prompt[1]': expected an integer token id, but got a string instead.", "prompt"},
      {R"({"model": "m", "prompt": "x", "stream_options": {"include_usage": 1}})",
       "Invalid type for 'stream_options.include_usage': expected a boolean, but got an integer instead.",
       "stream_options.include_usage"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    ApiError e = CompletionError(c.body);
    CHECK(e.http_status == 400);
    CHECK(e.message == c.message);
    CHECK(e.param == c.param);
  }
}

TEST_CASE("Out-of-range values are 400s that name the field, the range and the value") {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {R"({"model": "m", "prompt": "x", "temperature": 2.5})", "Invalid 'temperature': must be between 0 and 2, got 2.5."},
      {R"({"model": "m", "prompt": "x", "top_p": 0})",
       "Invalid 'top_p': must be between 0 (exclusive) and 1, got 0."},
      {R"({"model": "m", "prompt": "x", "top_k": -2})", "Invalid 'top_k': must be at least -1, got -2."},
      {R"({"model": "m", "prompt": "x", "min_p": 1.5})", "Invalid 'min_p': must be between 0 and 1, got 1.5."},
      {R"({"model": "m", "prompt": "x", "max_tokens": 0})", "Invalid 'max_tokens': must be at least 1, got 0."},
      {R"({"model": "m", "prompt": "x", "n": 17})", "Invalid 'n': must be between 1 and 16, got 17."},
      {R"({"model": "m", "prompt": "x", "logprobs": 21})", "Invalid 'logprobs': must be between 0 and 20, got 21."},
      {R"({"model": "m", "prompt": "x", "presence_penalty": -3})",
       "Invalid 'presence_penalty': must be between -2 and 2, got -3."},
      {R"({"model": "m", "prompt": "x", "frequency_penalty": 2.01})",
       "Invalid 'frequency_penalty': must be between -2 and 2, got 2.01."},
      {R"({"model": "m", "prompt": "x", "repetition_penalty": 0})",
       "Invalid 'repetition_penalty': must be between 0 (exclusive) and 2, got 0."},
      {R"({"model": "m", "prompt": "x", "stop": ""})", "Invalid 'stop': empty strings are not allowed."},
      {R"({"model": "m", "prompt": []})", "Invalid 'prompt': the list is empty."},
      {R"({"model": "m", "prompt": [-1]})",
       "Invalid 'prompt[0]': token ids must be non-negative 32-bit integers, got -1."},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    ApiError e = CompletionError(c.body);
    CHECK(e.http_status == 400);
    CHECK(e.message == c.message);
  }
}

TEST_CASE("Too many stop strings or sequences are refused") {
  CHECK(CompletionError(R"({"model": "m", "prompt": "x", "stop": ["1","2","3","4","5","6","7","8","9","10","11","12",
                                                                  "13","14","15","16","17"]})")
            .message == "Invalid 'stop': at most 16 strings are allowed, got 17.");
  std::string prompts = "[";
  for (int i = 0; i < 10; ++i) prompts += std::string(i ? "," : "") + "\"p\"";
  prompts += "]";
  CHECK(CompletionError(R"({"model": "m", "n": 16, "prompt": )" + prompts + "}").message ==
        "Invalid 'n': 10 prompts x n = 16 asks for 160 sequences; at most 128 per request.");
}

TEST_CASE("Fields that would change the output in unimplemented ways are refused, harmless values are accepted") {
  CHECK(CompletionError(R"({"model": "m", "prompt": "x", "echo": true})").message ==
        "'echo' is not supported by this server: the prompt is never echoed back.");
  CHECK(CompletionError(R"({"model": "m", "prompt": "x", "logit_bias": {"1": 5}})").param == "logit_bias");
  CHECK(CompletionError(R"({"model": "m", "prompt": "x", "best_of": 3})").param == "best_of");
  CHECK(ParseCompletionRequest(R"({"model": "m", "prompt": "x", "echo": false, "best_of": 1, "logit_bias": {}})",
                               kLimits)
            .ok());
}

TEST_CASE("A chat request is parsed into messages and settings") {
  auto r = ParseChatRequest(R"({"model": "demo", "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
      {"role": "assistant", "content": null, "reasoning_content": "thought"}],
    "max_completion_tokens": 8, "max_tokens": 99, "logprobs": true, "top_logprobs": 2, "n": 3})",
                            kLimits);
  REQUIRE(r.ok());
  REQUIRE(r->messages.size() == 3);
  CHECK(r->messages[0].role == "system");
  CHECK(r->messages[1].content == "Hi there");
  CHECK(r->messages[2].content == "");
  CHECK(r->messages[2].reasoning_content == "thought");
  CHECK(*r->sampling.max_tokens == 8);  // max_completion_tokens wins over max_tokens
  CHECK(r->logprobs);
  CHECK(r->top_logprobs == 2);
  CHECK(r->n == 3);
}

TEST_CASE("Bad chat messages are 400s naming the message and field") {
  struct Case {
    const char* body;
    const char* message;
    const char* param;
  };
  const Case cases[] = {
      {R"({"model": "m"})", "Missing required parameter: 'messages'.", "messages"},
      {R"({"model": "m", "messages": []})", "Invalid 'messages': the list is empty; send at least one message.",
       "messages"},
      {R"({"model": "m", "messages": "hi"})",
       "Invalid type for 'messages': expected an array of messages, but got a string instead.", "messages"},
      {R"({"model": "m", "messages": [{"content": "hi"}]})", "Missing required parameter: 'messages[0].role'.",
       "messages[0].role"},
      {R"({"model": "m", "messages": [{"role": "user", "content": 5}]})",
       "Invalid type for 'messages[0].content': expected a string or an array of content parts, but got an integer "
       "instead.",
       "messages[0].content"},
      {R"({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
       "Invalid 'messages[0].content[0].type': only text content parts are supported, got 'image_url'.",
       "messages[0].content[0].type"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})",
       "Invalid 'top_logprobs': it requires 'logprobs' to be true.", "top_logprobs"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": 1})",
       "Invalid type for 'logprobs': expected a boolean, but got an integer instead.", "logprobs"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})",
       "'tools' is not supported by this server: tool calling is not implemented.", "tools"},
      {R"({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object"}})",
       "'response_format' is not supported by this server: only {\"type\": \"text\"} is implemented (no JSON mode "
       "or schemas).",
       "response_format"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    ApiError e = ChatError(c.body);
    CHECK(e.http_status == 400);
    CHECK(e.message == c.message);
    CHECK(e.param == c.param);
  }
}
