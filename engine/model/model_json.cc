#include "engine/model/model_json.h"

namespace engine::model_json {
namespace {

using cluster::InvalidArgumentError;

Status WrongType(std::string_view file, std::string_view key, std::string_view expected, const Json& found) {
  return InvalidArgumentError(std::string(file) + ": field " + std::string(key) + ": expected " +
                              std::string(expected) + ", found " + Describe(found));
}

// The field, or nullptr if absent or null.
const Json* Find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

StatusOr<Json> Parse(std::string_view text, std::string_view file) {
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return InvalidArgumentError(std::string(file) + ": invalid JSON (check that the file is complete)");
  }
  return value;
}

std::string Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::object: return "an object";
    case Json::value_t::array: return "a list";
    case Json::value_t::string: return "a string";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned: return "an integer";
    case Json::value_t::number_float: return "a number";
    default: return "a value of another type";
  }
}

StatusOr<std::optional<std::int64_t>> OptionalInt(const Json& object, std::string_view key, std::string_view file) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (!v->is_number_integer()) return WrongType(file, key, "an integer", *v);
  return std::optional<std::int64_t>(v->get<std::int64_t>());
}

StatusOr<std::optional<double>> OptionalNumber(const Json& object, std::string_view key, std::string_view file) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) return WrongType(file, key, "a number", *v);
  return std::optional<double>(v->get<double>());
}

StatusOr<std::optional<bool>> OptionalBool(const Json& object, std::string_view key, std::string_view file) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(file, key, "true or false", *v);
  return std::optional<bool>(v->get<bool>());
}

StatusOr<std::optional<std::string>> OptionalString(const Json& object, std::string_view key,
                                                    std::string_view file) {
  const Json* v = Find(object, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(file, key, "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

StatusOr<std::int64_t> RequiredInt(const Json& object, std::string_view key, std::string_view file) {
  CLUSTER_ASSIGN_OR_RETURN(std::optional<std::int64_t> v, OptionalInt(object, key, file));
  if (!v) return InvalidArgumentError(std::string(file) + ": missing field " + std::string(key));
  return *v;
}

}  // namespace engine::model_json
