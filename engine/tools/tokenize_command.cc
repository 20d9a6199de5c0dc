// infer-engine tokenize: text to token ids (or back with --decode), one
// input per line of stdin, one output per line of stdout.
//
//   encode (default): a line of text in, a JSON array of ids out. With
//     --json-lines each input line is a JSON string, so the text may hold
//     newlines. Special tokens (e.g. BOS) are added only with --add-special.
//   --decode: a JSON array of ids in, the text out: raw, or as a JSON string
//     with --json-lines (text with newlines keeps one line per output).
// A folder holding just tokenizer.json is enough. A bad input line stops
// with exit code 2, naming the line number.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"

namespace engine::tools {
namespace {

struct TokenizeFlags {
  std::string model;
  bool json_lines = false;
  bool add_special = false;
  bool decode = false;
  bool skip_special = false;
};

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int RunTokenize(const TokenizeFlags& f) {
  auto tokenizer = Tokenizer::FromFile(f.model);
  if (!tokenizer.ok()) return Failure(tokenizer.status());
  std::string line;
  for (std::size_t number = 1; std::getline(std::cin, line); ++number) {
    const std::string where = "stdin line " + std::to_string(number) + ": ";
    if (f.decode) {
      const nlohmann::json ids = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      std::vector<std::int32_t> values;
      bool ok = ids.is_array();
      for (const auto& id : ids) {
        ok = ok && id.is_number_integer() && id.get<std::int64_t>() >= 0 && id.get<std::int64_t>() <= INT32_MAX;
        if (ok) values.push_back(static_cast<std::int32_t>(id.get<std::int64_t>()));
      }
      if (!ok) return UsageError(where + "expected a JSON array of token ids");
      const std::string text = (*tokenizer)->Decode(values, f.skip_special);
      std::printf("%s\n", f.json_lines ? Dump(text).c_str() : text.c_str());
    } else {
      std::string text = line;
      if (f.json_lines) {
        const nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (!value.is_string()) return UsageError(where + "expected a JSON string (--json-lines)");
        text = value.get<std::string>();
      }
      std::printf("%s\n", Dump((*tokenizer)->Encode(text, f.add_special)).c_str());
    }
    std::fflush(stdout);
  }
  return kExitOk;
}

}  // namespace

Subcommand AddTokenizeCommand(CLI::App& parent) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* app = parent.add_subcommand("tokenize", "Turn lines of stdin into token ids (or back with --decode)");
  app->add_option("--model", flags->model, "Model folder, or a folder with just tokenizer.json")->required();
  app->add_flag("--json-lines", flags->json_lines, "Each line is a JSON string (text in, or text out with --decode)");
  app->add_flag("--add-special", flags->add_special, "Add the tokenizer's special tokens (e.g. BOS)");
  app->add_flag("--decode", flags->decode, "Each line is a JSON array of ids; print the text");
  app->add_flag("--skip-special", flags->skip_special, "With --decode: leave special tokens out of the text");
  return {app, [flags] { return RunTokenize(*flags); }};
}

}  // namespace engine::tools
