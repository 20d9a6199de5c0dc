// The tokenizer.json "post_processor": what Encode(text, add_special_tokens=
// true) puts around the ids, e.g. Llama 3.1's TemplateProcessing adds
// <|begin_of_text|> in front. With add_special_tokens=false nothing is added.
//
// Supported: null, "ByteLevel" (only adjusts offsets in HF; ids unchanged),
// "TemplateProcessing" (its "single" template) and "Sequence" of those.
// Other types (BertProcessing, RobertaProcessing, ...) are refused at load
// time with a message naming the type.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace engine::tokenizer {

class PostProcessor {
 public:
  // `config` is tokenizer.json's "post_processor" (null: none).
  static cluster::StatusOr<PostProcessor> FromJson(const nlohmann::json& config, std::string_view where);

  // Ids added before / after the text's ids when special tokens are asked for.
  const std::vector<int32_t>& prefix() const { return prefix_; }
  const std::vector<int32_t>& suffix() const { return suffix_; }

 private:
  cluster::Status Add(const nlohmann::json& config, std::string_view where);
  cluster::Status AddTemplate(const nlohmann::json& config, std::string_view where);

  std::vector<int32_t> prefix_;
  std::vector<int32_t> suffix_;
};

}  // namespace engine::tokenizer
