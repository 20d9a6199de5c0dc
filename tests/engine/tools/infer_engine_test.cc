// infer-engine as a user runs it: a process with flags, stdin and stdout.
// The model folder is synthesised: tiny random weights (tiny_model.h), a
// byte-level BPE tokenizer.json whose ids are the byte values (plus "hi" = 258
// and the specials <s> = 256, </s> = 257), and a chat template
//   <s><|user|>CONTENT ... <|assistant|>
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {

// GPT-2's byte-to-character map: printable bytes stand for themselves, the
// others for code points 256, 257, ... in byte order.
std::string ByteToken(int byte) {
  int code = byte;
  if (!((byte >= 33 && byte <= 126) || (byte >= 161 && byte <= 172) || (byte >= 174 && byte <= 255))) {
    int n = 0;
    for (int b = 0; b < byte; ++b) {
      if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) ++n;
    }
    code = 256 + n;
  }
  std::string utf8;
  if (code < 0x80) {
    utf8 += static_cast<char>(code);
  } else {
    utf8 += static_cast<char>(0xC0 | (code >> 6));
    utf8 += static_cast<char>(0x80 | (code & 0x3F));
  }
  return utf8;
}

void WriteTokenizer(const std::filesystem::path& dir) {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[ByteToken(b)] = b;
  vocab["hi"] = 258;
  auto added = [](int id, const char* content) {
    return json{{"id", id},           {"content", content}, {"special", true}, {"single_word", false},
                {"lstrip", false},    {"rstrip", false},    {"normalized", false}};
  };
  json tokenizer = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", {added(256, "<s>"), added(257, "</s>")}},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"pair",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {256}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", {"h i"}}}}};
  std::ofstream(dir / "tokenizer.json") << tokenizer.dump();
  json config = {{"bos_token", "<s>"},
                 {"eos_token", "</s>"},
                 {"add_bos_token", true},
                 {"chat_template",
                  "{{ bos_token }}{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% endfor %}"
                  "{% if add_generation_prompt %}<|assistant|>{% endif %}"}};
  std::ofstream(dir / "tokenizer_config.json") << config.dump();
}

struct Run {
  int exit_code = -1;
  std::string out, err;
};

// Runs infer-engine with `args` (shell words) and `input` on stdin.
Run InferEngine(const std::string& args, const std::string& input = "") {
  testing::TempDir io;
  std::ofstream(io.path() / "in") << input;
  const std::string command = std::string(INFER_ENGINE_BIN) + " " + args + " < " + (io.path() / "in").string() +
                              " > " + (io.path() / "out").string() + " 2> " + (io.path() / "err").string();
  const int status = std::system(command.c_str());
  Run run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream out, err;
  out << std::ifstream(io.path() / "out").rdbuf();
  err << std::ifstream(io.path() / "err").rdbuf();
  run.out = out.str();
  run.err = err.str();
  return run;
}

struct ModelFolder {
  testing::TempDir dir;
  testing::TinyModel tiny;
  std::string path;
  explicit ModelFolder(bool with_tokenizer = true) {
    testing::TinyModelOptions o;
    o.vocab_size = 260;
    o.eos_token_ids = {257};
    tiny = *testing::WriteTinyModel(dir.path(), o);
    if (with_tokenizer) WriteTokenizer(dir.path());
    path = dir.path().string();
  }
};

}  // namespace

TEST_CASE("generate --prompt-ids --json reports the greedy continuation of the reference model") {
  ModelFolder m(/*with_tokenizer=*/false);
  Run r = InferEngine("generate --model " + m.path + " --prompt-ids 256,104,105 --max-tokens 6 --temperature 0 --json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json out = json::parse(r.out);
  CHECK(out["prompt_ids"] == json({256, 104, 105}));
  const auto want = testing::ReferenceGreedy(m.tiny, {256, 104, 105}, 6);
  CHECK(out["generated_ids"].get<std::vector<std::int32_t>>() == want);
  CHECK(out["finish_reason"] == (want.back() == 257 ? "stop" : "length"));
  CHECK(out["text"] == "");  // no tokenizer in the folder: no text
  CHECK(out["logprobs"] == json::array());
}

TEST_CASE("generate without --json streams the text, --prompt adds the BOS token and --chat renders the template") {
  ModelFolder m;
  Run plain = InferEngine("generate --model " + m.path + " --prompt hi --max-tokens 5 --temperature 0 --json");
  INFO(plain.err);
  REQUIRE(plain.exit_code == 0);
  const json report = json::parse(plain.out);
  CHECK(report["prompt_ids"] == json({256, 258}));

  Run streamed = InferEngine("generate --model " + m.path + " --prompt hi --max-tokens 5 --temperature 0");
  REQUIRE(streamed.exit_code == 0);
  CHECK(streamed.out == report["text"].get<std::string>() + "\n");

  Run chat = InferEngine("generate --model " + m.path + " --prompt hi --chat --max-tokens 2 --temperature 0 --json");
  INFO(chat.err);
  REQUIRE(chat.exit_code == 0);
  // "<s><|user|>hi<|assistant|>": the template writes the BOS, so it is not added twice.
  const auto ids = json::parse(chat.out)["prompt_ids"].get<std::vector<std::int32_t>>();
  CHECK(ids.front() == 256);
  CHECK(std::count(ids.begin(), ids.end(), 256) == 1);
  CHECK(std::count(ids.begin(), ids.end(), 258) == 1);
}

TEST_CASE("generate --stop cuts the text before the stop string, and a seed makes sampling reproducible") {
  ModelFolder m;
  const std::string base = "generate --model " + m.path + " --prompt-ids 256,104 --max-tokens 12 --ignore-eos --json";
  // The random model writes random bytes; the seed fixes them. The stop
  // string is the first ASCII letter or digit after the first byte (shell-safe).
  const std::string sampled = base + " --temperature 1 --top-k 300 --seed 7";
  Run free_run = InferEngine(sampled);
  REQUIRE(free_run.exit_code == 0);
  const std::string text = json::parse(free_run.out)["text"];
  const auto at = std::find_if(text.begin() + 1, text.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
  REQUIRE(at != text.end());
  const std::string stop(1, *at);
  Run stopped = InferEngine(sampled + " --stop " + stop);
  REQUIRE(stopped.exit_code == 0);
  const json out = json::parse(stopped.out);
  CHECK(out["finish_reason"] == "stop");
  CHECK(out["text"] == text.substr(0, text.find(stop)));

  Run a = InferEngine(base + " --temperature 1.2 --top-k 20 --seed 99 --logprobs 3");
  Run b = InferEngine(base + " --temperature 1.2 --top-k 20 --seed 99 --logprobs 3");
  REQUIRE(a.exit_code == 0);
  CHECK(a.out == b.out);
  const json lp = json::parse(a.out)["logprobs"];
  REQUIRE(lp.size() == 12);
  CHECK(lp[0]["top_logprobs"].size() == 3);
}

TEST_CASE("infer-engine --help and --version exit 0, the help with examples and exit codes, and an unknown "
          "command names the closest") {
  Run help = InferEngine("--help");
  CHECK(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK_THAT(help.out, Contains("Examples:\n  infer-engine generate --model models/demo --prompt 'Hello' "));
  CHECK_THAT(help.out,
             Contains("Exit codes: 0 ok, 1 failure (a model that cannot be read or run), 2 usage error.\n"));

  Run version = InferEngine("--version");
  CHECK(version.exit_code == 0);
  // "infer-engine 0.1.0 (commit 4f2a9c1e7b3d, CUDA 13.0.88, NCCL 2.28.9)" or "(..., CPU only: ...)".
  CHECK_THAT(version.out, StartsWith("infer-engine " CLUSTER_VERSION " (commit "));

  Run typo = InferEngine("serv --model x");
  CHECK(typo.exit_code == 2);
  CHECK(typo.out.empty());
  CHECK(typo.err ==
        "infer-engine: unknown command 'serv'; did you mean 'serve'?\n"
        "Run 'infer-engine --help' for the commands.\n");
}

TEST_CASE("generate's usage errors exit 2 and failures exit 1, each naming the problem") {
  ModelFolder m(/*with_tokenizer=*/false);
  Run neither = InferEngine("generate --model " + m.path);
  CHECK(neither.exit_code == 2);
  CHECK(neither.err == "infer-engine: generate: give exactly one of --prompt and --prompt-ids\n");

  Run bad_ids = InferEngine("generate --model " + m.path + " --prompt-ids 1,,2");
  CHECK(bad_ids.exit_code == 2);
  CHECK_THAT(bad_ids.err, Contains("--prompt-ids: \"\" is not a token id"));

  Run bad_flag = InferEngine("generate --model " + m.path + " --prompt-ids 1 --temperature -1");
  CHECK(bad_flag.exit_code == 2);
  CHECK_THAT(bad_flag.err, Contains("temperature must be >= 0"));

  Run stop = InferEngine("generate --model " + m.path + " --prompt-ids 1 --stop x");
  CHECK(stop.exit_code == 2);
  CHECK_THAT(stop.err, Contains("--stop needs the model's tokenizer.json"));

  Run unknown = InferEngine("generate --model " + m.path + " --prompt-ids 1 --no-such-flag");
  CHECK(unknown.exit_code == 2);

  Run missing = InferEngine("generate --model " + m.path + "/absent --prompt-ids 1");
  CHECK(missing.exit_code == 1);
  CHECK(missing.err == "infer-engine: " + m.path + "/absent/config.json: no such file\n");

  Run no_tokenizer = InferEngine("generate --model " + m.path + " --prompt hello");
  CHECK(no_tokenizer.exit_code == 1);
  CHECK_THAT(no_tokenizer.err, Contains("tokenizer.json"));
}

TEST_CASE("tokenize turns lines into ids and, with --decode, ids back into text") {
  ModelFolder m;
  Run ids = InferEngine("tokenize --model " + m.path, "hi\nhi!\n");
  INFO(ids.err);
  REQUIRE(ids.exit_code == 0);
  CHECK(ids.out == "[258]\n[258,33]\n");

  CHECK(InferEngine("tokenize --model " + m.path + " --add-special", "hi\n").out == "[256,258]\n");
  CHECK(InferEngine("tokenize --model " + m.path + " --json-lines", "\"a\\nb\"\n").out == "[97,10,98]\n");

  CHECK(InferEngine("tokenize --model " + m.path + " --decode", "[258,33]\n").out == "hi!\n");
  CHECK(InferEngine("tokenize --model " + m.path + " --decode --json-lines", "[97,10,98]\n").out == "\"a\\nb\"\n");

  Run bad = InferEngine("tokenize --model " + m.path + " --decode", "[1]\nnot ids\n");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "infer-engine: stdin line 2: expected a JSON array of token ids\n");
}

TEST_CASE("render-chat templates a JSON conversation, as a list or with add_generation_prompt") {
  ModelFolder m;
  Run list = InferEngine("render-chat --model " + m.path, R"([{"role": "user", "content": "hi"}])");
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  CHECK(list.out == "<s><|user|>hi<|assistant|>");

  Run object = InferEngine("render-chat --model " + m.path,
                           R"({"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                               "add_generation_prompt": false})");
  CHECK(object.out == "<s><|system|>be brief<|user|>hi");

  Run bad = InferEngine("render-chat --model " + m.path, R"([{"content": "hi"}])");
  CHECK(bad.exit_code == 2);
  CHECK(bad.err == "infer-engine: render-chat: message 0: expected an object with a string \"role\"\n");
}
