#include "engine/model/generation_config.h"

#include <system_error>

#include "common/files.h"
#include "engine/model/model_json.h"
#include "engine/model/token_ids.h"

namespace engine {

StatusOr<GenerationConfig> ParseGenerationConfig(std::string_view json_text, std::string_view file) {
  using namespace model_json;
  CLUSTER_ASSIGN_OR_RETURN(Json j, Parse(json_text, file));
  if (!j.is_object()) return cluster::InvalidArgumentError(std::string(file) + ": expected a JSON object");
  GenerationConfig g;
  if (auto it = j.find("eos_token_id"); it != j.end()) {
    CLUSTER_ASSIGN_OR_RETURN(g.eos_token_ids, ParseTokenIds(*it, "eos_token_id", file));
  }
  if (auto it = j.find("bos_token_id"); it != j.end()) {
    CLUSTER_ASSIGN_OR_RETURN(std::vector<std::int32_t> bos, ParseTokenIds(*it, "bos_token_id", file));
    if (!bos.empty()) g.bos_token_id = bos[0];
  }
  CLUSTER_ASSIGN_OR_RETURN(g.do_sample, OptionalBool(j, "do_sample", file));
  CLUSTER_ASSIGN_OR_RETURN(g.temperature, OptionalNumber(j, "temperature", file));
  CLUSTER_ASSIGN_OR_RETURN(g.top_p, OptionalNumber(j, "top_p", file));
  CLUSTER_ASSIGN_OR_RETURN(g.top_k, OptionalInt(j, "top_k", file));
  CLUSTER_ASSIGN_OR_RETURN(g.repetition_penalty, OptionalNumber(j, "repetition_penalty", file));
  return g;
}

StatusOr<GenerationConfig> LoadGenerationConfig(const std::filesystem::path& model_dir) {
  const std::filesystem::path file = model_dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return GenerationConfig{};
  CLUSTER_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(file));
  return ParseGenerationConfig(text, file.string());
}

std::vector<std::int32_t> EosTokenIds(const ModelConfig& model, const GenerationConfig& generation) {
  return generation.eos_token_ids.empty() ? model.eos_token_ids : generation.eos_token_ids;
}

}  // namespace engine
