// Typed, error-reporting access to JSON object fields, for the model-folder
// files (config.json, generation_config.json, tokenizer_config.json, the
// safetensors header and index). Internal to engine/model: nlohmann never
// appears in a public header, and no nlohmann exception leaves these calls.
//
// Every error names the file and the field: "<file>: field hidden_size: expected
// an integer, found a string".
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine::model_json {

using Json = nlohmann::json;

// Parses `text` as JSON; InvalidArgument "<file>: invalid JSON: ..." on failure.
StatusOr<Json> Parse(std::string_view text, std::string_view file);

// A JSON type name for messages: "a string", "an integer", "null", ...
std::string Describe(const Json& value);

// The field as a value; nullopt if absent or null. Wrong type -> InvalidArgument.
StatusOr<std::optional<std::int64_t>> OptionalInt(const Json& object, std::string_view key, std::string_view file);
StatusOr<std::optional<double>> OptionalNumber(const Json& object, std::string_view key, std::string_view file);
StatusOr<std::optional<bool>> OptionalBool(const Json& object, std::string_view key, std::string_view file);
StatusOr<std::optional<std::string>> OptionalString(const Json& object, std::string_view key, std::string_view file);

// The same, absent or null -> InvalidArgument "<file>: missing field <key>".
StatusOr<std::int64_t> RequiredInt(const Json& object, std::string_view key, std::string_view file);

}  // namespace engine::model_json
