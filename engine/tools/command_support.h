// What the infer-engine subcommands share: exit codes, error reporting, the
// tokenizer adapter for streaming text, and small parsers for flag values.
//
// Exit codes (the project's convention): 0 ok, 1 failure (a file that cannot
// be read, a model that cannot run), 2 usage error (flags or input the user
// must fix). Errors go to stderr as "infer-engine: <message>"; messages from
// the library already name the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/generate/generator.h"
#include "engine/status.h"
#include "engine/tokenizer/tokenizer.h"

namespace engine::tools {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints "infer-engine: <message>" to stderr and returns kExitUsage.
int UsageError(std::string_view message);
// Prints the status's message and returns kExitFailure.
int Failure(const Status& status);

// "1,2, 3" -> {1, 2, 3}. InvalidArgument naming the bad item otherwise.
StatusOr<std::vector<std::int32_t>> ParseIdList(std::string_view text);

// True if `model_dir` holds a tokenizer.json.
bool HasTokenizer(const std::filesystem::path& model_dir);

// Streams generated ids as text through the tokenizer's IncrementalDecoder.
class TokenizerTextDecoder final : public TokenTextDecoder {
 public:
  explicit TokenizerTextDecoder(const Tokenizer& tokenizer) : decoder_(tokenizer, /*skip_special_tokens=*/true) {}
  std::string Push(std::int32_t id) override { return decoder_.Push(id); }
  std::string Flush() override { return decoder_.Flush(); }

 private:
  IncrementalDecoder decoder_;
};

}  // namespace engine::tools
