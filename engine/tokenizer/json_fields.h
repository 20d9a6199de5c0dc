// Reading tokenizer.json fields without exceptions.
//
// nlohmann::json throws on a wrong type; the tokenizer library must not throw
// across its API, and a user with a broken file wants to know which field is
// wrong. These helpers check types first and return a Status whose message
// names the field by its JSON path, e.g.
//   model.merges[12]: expected a string or an array of two strings
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "common/status.h"

namespace engine::tokenizer::json_fields {

using Json = nlohmann::json;

// "a string", "null", "an object", ... for error messages.
std::string_view Describe(const Json& value);

// `where` + "." + `key` ("model" + "type" -> "model.type"); a bare key if `where` is empty.
std::string Path(std::string_view where, std::string_view key);

// `where` + "[index]".
std::string Path(std::string_view where, size_t index);

// The member `key` of `object`, or nullptr when `object` is not an object, or
// the member is absent or null (HF writes optional fields as null).
const Json* Find(const Json& object, std::string_view key);

// A required string member.
cluster::StatusOr<std::string> GetString(const Json& object, std::string_view key, std::string_view where);

// An optional boolean member; `fallback` when absent or null.
cluster::StatusOr<bool> GetBool(const Json& object, std::string_view key, bool fallback,
                                std::string_view where);

// An optional string member; `fallback` when absent or null.
cluster::StatusOr<std::string> GetOptionalString(const Json& object, std::string_view key,
                                                 std::string_view fallback, std::string_view where);

// An error "WHERE: expected WHAT, got a number".
cluster::Status TypeError(std::string_view where, std::string_view what, const Json& got);

}  // namespace engine::tokenizer::json_fields
