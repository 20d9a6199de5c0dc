#include "engine/model/tokenizer_config.h"

#include <system_error>

#include "common/files.h"
#include "engine/model/model_json.h"

namespace engine {
namespace {

using model_json::Json;

// A special token written as a string or as {"content": "..."}.
StatusOr<std::optional<std::string>> TokenText(const Json& j, std::string_view key, std::string_view file) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::optional<std::string>();
  if (it->is_string()) return std::optional<std::string>(it->get<std::string>());
  if (it->is_object()) {
    if (auto content = it->find("content"); content != it->end() && content->is_string()) {
      return std::optional<std::string>(content->get<std::string>());
    }
  }
  return cluster::InvalidArgumentError(std::string(file) + ": field " + std::string(key) +
                                       ": expected a string or an object with \"content\", found " +
                                       model_json::Describe(*it));
}

}  // namespace

StatusOr<TokenizerConfig> ParseTokenizerConfig(std::string_view json_text, std::string_view file) {
  CLUSTER_ASSIGN_OR_RETURN(Json j, model_json::Parse(json_text, file));
  if (!j.is_object()) return cluster::InvalidArgumentError(std::string(file) + ": expected a JSON object");
  TokenizerConfig t;
  CLUSTER_ASSIGN_OR_RETURN(t.bos_token, TokenText(j, "bos_token", file));
  CLUSTER_ASSIGN_OR_RETURN(t.eos_token, TokenText(j, "eos_token", file));
  CLUSTER_ASSIGN_OR_RETURN(t.add_bos_token, model_json::OptionalBool(j, "add_bos_token", file));
  CLUSTER_ASSIGN_OR_RETURN(t.add_eos_token, model_json::OptionalBool(j, "add_eos_token", file));
  return t;
}

StatusOr<TokenizerConfig> LoadTokenizerConfig(const std::filesystem::path& model_dir) {
  const std::filesystem::path file = model_dir / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return TokenizerConfig{};
  CLUSTER_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(file));
  return ParseTokenizerConfig(text, file.string());
}

}  // namespace engine
