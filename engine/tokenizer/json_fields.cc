#include "engine/tokenizer/json_fields.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace engine::tokenizer::json_fields {

std::string_view Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "an array";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "a number";
    default: return "an unexpected value";
  }
}

std::string Path(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  return fmt::format("{}.{}", where, key);
}

std::string Path(std::string_view where, size_t index) { return fmt::format("{}[{}]", where, index); }

const Json* Find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

cluster::Status TypeError(std::string_view where, std::string_view what, const Json& got) {
  return cluster::InvalidArgumentError(fmt::format("{}: expected {}, got {}", where, what, Describe(got)));
}

cluster::StatusOr<std::string> GetString(const Json& object, std::string_view key, std::string_view where) {
  const Json* value = Find(object, key);
  if (value == nullptr) {
    return cluster::InvalidArgumentError(fmt::format("{}: missing", Path(where, key)));
  }
  if (!value->is_string()) return TypeError(Path(where, key), "a string", *value);
  return value->get_ref<const std::string&>();
}

cluster::StatusOr<bool> GetBool(const Json& object, std::string_view key, bool fallback,
                                std::string_view where) {
  const Json* value = Find(object, key);
  if (value == nullptr) return fallback;
  if (!value->is_boolean()) return TypeError(Path(where, key), "true or false", *value);
  return value->get<bool>();
}

cluster::StatusOr<std::string> GetOptionalString(const Json& object, std::string_view key,
                                                 std::string_view fallback, std::string_view where) {
  const Json* value = Find(object, key);
  if (value == nullptr) return std::string(fallback);
  if (!value->is_string()) return TypeError(Path(where, key), "a string", *value);
  return value->get_ref<const std::string&>();
}

}  // namespace engine::tokenizer::json_fields
