// A token-id field of an HF JSON file: an integer, a list of integers, or
// null ("eos_token_id": 128001 or [151643, 151645]). Internal to engine/model.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/model/model_json.h"

namespace engine {

// null -> {}, 5 -> {5}, [5, 6] -> {5, 6}; anything else (or a negative id)
// -> InvalidArgument "<file>: field <key>: ...".
StatusOr<std::vector<std::int32_t>> ParseTokenIds(const model_json::Json& value, std::string_view key,
                                                   std::string_view file);

}  // namespace engine
